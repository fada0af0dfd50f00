#!/usr/bin/env bash
# Builds the decoding graph <graph-dir>/HCLG.fst (plus words.txt, phones.txt, phones/, num_pdfs,
# disambig_tid.int) from a lang dir with G.fst and a model dir with final.mdl and tree, as Kaldi's
# utils/mkgraph.sh (the context width comes from the tree). Log: <graph-dir>/log/mkgraph.log.
# Logic: dgmm/graph/mkgraph.py.

# Begin configuration section.
tscale=1.0        # transition-probability scale in H
loopscale=0.1     # self-loop-probability scale
# End configuration section.

echo "$0 $@"  # Print the command line for logging.

. "$(dirname "$(readlink -f "$0")")/../path.sh"
help_message="Usage: $0 [options] <lang-dir> <model-dir> <graph-dir>
Options:
  --transition-scale <s>     # ($tscale)
  --self-loop-scale <s>      # ($loopscale)
e.g.: $0 data/lang_test exp/tri1 exp/tri1/graph"
transition_scale=$tscale
self_loop_scale=$loopscale
__args=()
for __a in "$@"; do  # Kaldi's old flags are accepted and ignored: the tree gives the context width
  case "$__a" in --mono|--quinphone|--left-biphone) ;; *) __args+=("$__a") ;; esac
done
set -- "${__args[@]}"
. "$DGMM_ROOT/utils/parse_options.sh"

if [ $# -ne 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
lang=$1; model=$2; dir=$3
for f in $lang/L_disambig.fst $lang/G.fst $lang/phones.txt $lang/words.txt $lang/phones/disambig.int \
         $model/final.mdl $model/tree; do
  [ -f $f ] || { echo "$0: expected file $f to exist" >&2; exit 1; }
done
mkdir -p $dir/log
python -m dgmm.bin.mkgraph --transition-scale "$transition_scale" --self-loop-scale "$self_loop_scale" \
  $lang $model $dir 2> >(tee $dir/log/mkgraph.log >&2) || { echo "$0: failed, see $dir/log/mkgraph.log" >&2; exit 1; }
