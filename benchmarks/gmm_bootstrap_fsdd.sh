#!/usr/bin/env bash
# FSDD GMM bootstrap without compiled Kaldi, the reference recipe's steps (kaldi_ref/fsdd):
# train_mono -> align_si -> train_deltas 120 1000 -> align_si -> mkgraph -> decode_gmm (test speaker theo).
# Usage (from the repository root): benchmarks/gmm_bootstrap_fsdd.sh <work-dir>
# Results: benchmarks/RESULTS_gmm_bootstrap.md.
set -euo pipefail
work=${1:?usage: $0 <work-dir>}
ref=${DGMM_SHARED:-$(cd .. && pwd)/shared}/kaldi_ref/fsdd
wavs=${DGMM_SHARED:-$(cd .. && pwd)/shared}/corpora/fsdd
mkdir -p "$work/data"
for s in train test; do rm -rf "$work/data/$s"; cp -r "$ref/data/$s" "$work/data/$s"; chmod -R u+w "$work/data/$s"; done
lang=$ref/data/lang   # Kaldi's prepare_lang output with G.fst (utils/prepare_lang.sh gives the same bytes)
t0=$(date +%s)
steps/train_mono.sh --nj 2 --totgauss 400 --wav-dir "$wavs" "$work/data/train" "$lang" "$work/exp/mono"
t1=$(date +%s)
steps/align_si.sh --nj 2 --wav-dir "$wavs" "$work/data/train" "$lang" "$work/exp/mono" "$work/exp/mono_ali"
t2=$(date +%s)
steps/train_deltas.sh --wav-dir "$wavs" 120 1000 "$work/data/train" "$lang" "$work/exp/mono_ali" "$work/exp/tri1"
t3=$(date +%s)
steps/align_si.sh --nj 2 --wav-dir "$wavs" "$work/data/train" "$lang" "$work/exp/tri1" "$work/exp/tri1_ali"
for s in mono tri1; do
  utils/mkgraph.sh "$lang" "$work/exp/$s" "$work/exp/$s/graph"
  steps/decode_gmm.sh --nj 1 --wav-dir "$wavs" "$work/exp/$s/graph" "$work/data/test" "$work/exp/$s/decode_test"
done
t4=$(date +%s)
echo "times (s): train_mono $((t1-t0)) align_si $((t2-t1)) train_deltas $((t3-t2)) tri1 align_si + graphs + decodes $((t4-t3))"
for s in mono tri1; do
  echo "$s: $(cat "$work/exp/$s/decode_test/scoring_kaldi/best_wer")"
  echo "$s wer_12_0.0 (acwt 0.083333): $(grep WER "$work/exp/$s/decode_test/wer_12_0.0")"
done
