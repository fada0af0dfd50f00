#!/usr/bin/env perl
# Converts spk2utt ("<spk> <utt1> <utt2> ...") to utt2spk ("<utt> <spk>" lines, input order).
# Usage: utils/spk2utt_to_utt2spk.pl data/train/spk2utt > data/train/utt2spk
use strict;
use warnings;

while (my $line = <>) {
  my ($spk, @utts) = split(' ', $line);
  next unless defined $spk;
  die "$0: speaker $spk has no utterances (line $.)\n" unless @utts;
  print "$_ $spk\n" for @utts;
}
