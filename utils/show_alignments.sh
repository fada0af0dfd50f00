#!/usr/bin/env bash
# Prints alignments the way Kaldi's show-alignments does: per utterance, the transition-ids grouped
# by phone, then the phone symbols under their groups.

if [ $# -ne 3 ]; then
  echo "Usage: $0 <phones.txt> <model> <alignments-rspecifier>" >&2
  echo "e.g.: $0 data/lang/phones.txt exp/mono/final.mdl \"ark:gunzip -c exp/mono/ali.1.gz|\"" >&2
  exit 1
fi
[ -f ./path.sh ] && . ./path.sh
exec python -m dgmm.bin.show_alignments "$@"
