#!/usr/bin/env perl
# Converts utt2spk ("<utt> <spk>" lines) to spk2utt ("<spk> <utt1> <utt2> ..."), speakers in order
# of first appearance, utterances in input order.
# Usage: utils/utt2spk_to_spk2utt.pl data/train/utt2spk > data/train/spk2utt
use strict;
use warnings;

my (@spks, %utts);
while (my $line = <>) {
  my @f = split(' ', $line);
  next unless @f;
  die "$0: bad utt2spk line $.: $line" unless @f == 2;
  my ($utt, $spk) = @f;
  push @spks, $spk unless exists $utts{$spk};
  push @{$utts{$spk}}, $utt;
}
print join(" ", $_, @{$utts{$_}}), "\n" for @spks;
