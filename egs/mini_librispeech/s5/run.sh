#!/usr/bin/env bash
# Mini LibriSpeech speaker subset (continuous read speech, 16 kHz FLAC, 14 speakers) through the Deep GMM
# pipeline. Speaker-disjoint split fixed by the corpus' split.txt: train 10 speakers (1.72 h), dev 2, test 2,
# as the compiled-Kaldi reference run (../shared/kaldi_ref/mini_librispeech). CMUdict lexicon with <UNK>,
# word trigram (interpolated Witten-Bell) of the training transcripts; WER, and PER from the best paths of
# the word decodes (local/score_per.sh), because the 17k-word LM is weak.
#   ./run.sh --corpus-dir /path/to/mini_librispeech            # GMM bootstrap: mono + tri1 (our tools)
#   ./run.sh --corpus-dir DIR --kaldi-ali KALDI/exp/tri2b_ali_train \
#            --kaldi-test-ali "dev=KALDI/exp/tri2b_ali_dev test=KALDI/exp/tri2b_ali_test"   # Kaldi's alignments
#   ./run.sh --corpus-dir DIR --units grapheme   # no pronunciation lexicon: words spelled by their letters
#   ./run.sh --corpus-dir DIR --units subword    # open vocabulary: sentencepiece pieces spelled by letters
#   ./run.sh --stage 11 --paper-scale small      # then: the paper's Tables 1-6 in exp/paper (hours on 2 cores)
# A finished stage is skipped; delete an output (or --force true) to redo it and what follows.

# Begin configuration section.
stage=0
stop_stage=100
corpus_dir=          # the corpus folder (audio.list, transcripts.txt, utt2spk, split.txt)
kaldi_ali=           # Kaldi alignment dir of data/train (ali.*.gz, final.mdl, tree) instead of our GMMs
kaldi_test_ali=      # with --kaldi-ali: "dev=<ali-dir> test=<ali-dir>" Kaldi alignments of the test sets
vocab_texts="data/train/text data/dev/text data/test/text"  # CMUdict words of these form the vocabulary
                     # (only train counts enter the LM; Kaldi's reference run did the same)
lm_extra_text=       # extra LM training text, one sentence per line (no utterance ids)
units=phone          # phone: CMUdict phones (data/lang, exp); grapheme: letters (data/lang_grapheme,
                     # exp_grapheme); subword: sentencepiece pieces spelled by letters, the grapheme GMMs
                     # (data/lang_subword, exp_subword); decoded pieces are joined to words before scoring
open_vocab_texts=data/train/text  # grapheme: the words of these form the word vocabulary
subword_vocab_size=500            # subword: sentencepiece vocabulary size
subword_model_type=unigram        # subword: sentencepiece model type (unigram or bpe)
subword_lm_order=4                # subword: n-gram order of the piece LM
force=false          # redo stages even when their outputs are up to date
nj=2                 # parallel jobs
dnn_config=conf/dnn.yaml
dgmm_config=conf/dgmm.yaml
dsgmm_config=conf/dsgmm.yaml   # Deep Subspace GMM (empty: none)
decode_opts="--acwt 0.0833333333 --beam 10 --max-active 2000 --min-lmwt 12 --max-lmwt 12 --word-ins-penalty 0.0"
                     # steps/decode.sh options for the networks: acwt 1/12 (Kaldi's default, LMWT 12); each scoring
                     # setting is a re-decode with the pip-port decoder (~1.2 ms/frame at beam 10, 7 ms at beam 13)
paper_scale=         # stage 11, not run unless set: the paper's experiments (steps/paper_experiments.sh) at this
                     # scale (tiny|small|paper) in exp/paper, on the phone system's alignments and graph
paper_tables="1 2 3 4 5 6 order"  # stage 11: the paper's tables to reproduce
paper_decode_opts="--acwt 0.0833333333 --beam 8 --max-active 1000 --min-lmwt 12 --max-lmwt 12 --word-ins-penalty 0.0"
                     # stage 11: decoding of its 15 systems, narrower than $decode_opts (faster; WER
                     # there compares the systems with each other, state accuracy decides the findings)
# End configuration section.

. ./cmd.sh || exit 1
. ./path.sh || exit 1
help_message="Usage: $0 [--stage N] [--stop-stage N] [--corpus-dir DIR] [--units phone|grapheme|subword] [--kaldi-ali DIR --kaldi-test-ali 'dev=DIR test=DIR'] [--force true]
       $0 --stage 11 --paper-scale tiny|small|paper [--paper-tables '1 6']   # the paper's experiments, after stages 0-9
e.g.: $0 --corpus-dir ../../../../shared/corpora/mini_librispeech"
. utils/parse_options.sh || exit 1
set -euo pipefail
case $units in
  phone) lang=data/lang; exp=exp ;;
  grapheme) lang=data/lang_grapheme; exp=exp_grapheme ;;
  subword) lang=data/lang_grapheme; exp=exp_subword ;;   # trained on the grapheme lang
  *) echo "$0: --units must be phone, grapheme or subword, got '$units'" >&2; exit 1 ;;
esac
if [ $units != phone ] && [ -n "$kaldi_ali" ]; then
  echo "$0: --kaldi-ali needs --units phone (a Kaldi system's phone set)" >&2; exit 1
fi

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
todo() { $force || ! utils/uptodate.sh "$@"; }
run_stage() { [ $stage -le $1 ] && [ $stop_stage -ge $1 ]; }
sets="train dev test"

if run_stage 0; then
  log "Stage 0: data/{train,dev,test} from split.txt"
  if todo data/test/.prepared; then
    [ -n "$corpus_dir" ] || { echo "$0: --corpus-dir is required for stage 0" >&2; exit 1; }
    [ -f "$corpus_dir/split.txt" ] || { echo "$0: no such file $corpus_dir/split.txt" >&2; exit 1; }
    local/prepare_data.py "$corpus_dir" data
    for x in $sets; do utils/validate_data_dir.sh --no-feats data/$x; touch data/$x/.prepared; done
  fi
fi

if run_stage 1; then
  log "Stage 1: fbank features and CMVN stats in data/fbank/ (the GMM stages make MFCCs themselves)"
  for x in $sets; do
    steps/make_fbank_cmvn.sh --nj $nj --cmd "$train_cmd" --force $force data/$x data/fbank/$x
  done
fi

# Word dict, lang and trigram (train transcripts + --lm-extra-text) in data/{local/dict,local/lm,lang,lang_test}<suffix>:
# word_lang <suffix> <prepare_dict option> <texts whose words form the vocabulary>...
word_lang() {
  local sfx=$1 dict_opt=$2; shift 2
  local lm_dir=data/local/lm$sfx lm_text=data/train/text lm_opts=
  mkdir -p $lm_dir
  if [ -n "$lm_extra_text" ]; then   # train transcripts without ids + the user's sentences
    cut -d' ' -f2- data/train/text | cat - "$lm_extra_text" > $lm_dir/text
    awk '{printf "extra-%07d %s\n", NR, $0}' "$lm_extra_text" > $lm_dir/extra_text.table
    lm_text=$lm_dir/text; lm_opts=--no-utt-ids
  fi
  python3 -m dgmm.bin.prepare_dict $dict_opt --oov "<UNK>" "$@" ${lm_extra_text:+$lm_dir/extra_text.table} \
    data/local/dict$sfx
  utils/prepare_lang.sh data/local/dict$sfx "<UNK>" data/local/lang$sfx data/lang$sfx
  # shellcheck disable=SC2086
  python3 -m dgmm.bin.make_ngram_lm --order 3 --unk "<UNK>" --vocab data/lang$sfx/words.txt $lm_opts \
    $lm_text $lm_dir/word_3g_wb.arpa.gz
  utils/format_lm.sh data/lang$sfx $lm_dir/word_3g_wb.arpa.gz data/lang${sfx}_test
}

if run_stage 2; then
  [ $units = phone ] && log "Stage 2: CMUdict lexicon, lang, word trigram of the training transcripts"
  if [ $units = phone ] && todo data/lang_test/G.fst data/train/.prepared ${lm_extra_text:+"$lm_extra_text"}; then
    # shellcheck disable=SC2086
    word_lang "" --cmudict $vocab_texts
  fi
  if [ $units != phone ] && todo data/lang_grapheme_test/G.fst data/train/.prepared ${lm_extra_text:+"$lm_extra_text"}; then
    log "Stage 2: graphemic lexicon of the words of $open_vocab_texts, lang, word trigram"
    # shellcheck disable=SC2086
    word_lang _grapheme --grapheme $open_vocab_texts
  fi
  if [ $units = subword ]; then   # a changed subword option redoes the piece model, lang and LM
    mkdir -p data/local/subword
    opts="$subword_vocab_size $subword_model_type $subword_lm_order $lm_extra_text"
    [ "$(cat data/local/subword/options 2>/dev/null)" = "$opts" ] || echo "$opts" > data/local/subword/options
  fi
  if [ $units = subword ] && todo data/lang_subword_test/G.fst data/lang_grapheme/L.fst data/local/subword/options \
      ${lm_extra_text:+"$lm_extra_text"}; then
    log "Stage 2: sentencepiece $subword_model_type model ($subword_vocab_size pieces), piece lang, piece ${subword_lm_order}-gram"
    d=data/local/subword
    mkdir -p $d
    python3 -m dgmm.bin.train_subword --vocab-size $subword_vocab_size --model-type $subword_model_type \
      ${lm_extra_text:+--extra-text "$lm_extra_text"} data/train/text $d/spm
    python3 -m dgmm.bin.segment_text --model $d/spm.model data/train/text $d/train_text
    lm_text=$d/train_text; lm_opts=; no_ids=false
    if [ -n "$lm_extra_text" ]; then
      python3 -m dgmm.bin.segment_text --model $d/spm.model --no-utt-ids "$lm_extra_text" $d/extra_text
      cut -d' ' -f2- $d/train_text | cat - $d/extra_text > $d/lm_text
      lm_text=$d/lm_text; lm_opts=--no-utt-ids; no_ids=true
    fi
    utils/prepare_lang_subword.sh --model $d/spm.model --no-utt-ids $no_ids \
      $lm_text data/lang_grapheme data/lang_subword
    # shellcheck disable=SC2086
    python3 -m dgmm.bin.make_ngram_lm --order $subword_lm_order --unk "<UNK>" --vocab data/lang_subword/words.txt \
      $lm_opts $lm_text $d/piece_${subword_lm_order}g_wb.arpa.gz
    utils/format_lm.sh data/lang_subword $d/piece_${subword_lm_order}g_wb.arpa.gz data/lang_subword_test
  fi
  # Word-level OOV rate of dev/test: words outside the vocabulary (the subword system can still spell them)
  vocab=$lang/words.txt   # subword: the words seen whole in training (= the grapheme vocabulary)
  if todo data/local/oov_rate_$units.txt $vocab data/dev/text data/test/text; then
    python3 -m dgmm.bin.oov_rate --vocab $vocab data/dev/text data/test/text > data/local/oov_rate_$units.txt
  fi
  cat data/local/oov_rate_$units.txt
fi

# Kaldi alignment dirs are used through local copies made of symbolic links (a final.mdl that is a
# small text file naming the model, as in kaldi_ref, becomes a real link).
pipeline_ali_opts=(--gmm-decode true --tri "1000 10000" --boost-silence 1.25)
[ $units != phone ] && pipeline_ali_opts+=(--exp $exp --lang $lang --lang-test ${lang}_test)
if [ -n "$kaldi_ali" ]; then
  utils/copy_ali_dir.sh --link true "$kaldi_ali" exp/kaldi_ali_train
  test_ali=
  for kv in $kaldi_test_ali; do
    utils/copy_ali_dir.sh --link true "${kv#*=}" exp/kaldi_ali_${kv%%=*}
    test_ali="$test_ali ${kv%%=*}=exp/kaldi_ali_${kv%%=*}"
  done
  pipeline_ali_opts=(--kaldi-ali exp/kaldi_ali_train --kaldi-test-ali "${test_ali# }" --gmm-decode false)
fi

# Stages 3-9: GMM bootstrap (or Kaldi alignment import) -> DNN -> DGMM -> priors -> archives -> WER.
# One torch thread per training process: on 2 shared cores, 2 intra-op threads ran ~10x slower.
if [ $units = subword ] && [ $stop_stage -ge 3 ] && [ $stage -le 9 ]; then
  # The grapheme GMM-HMM (trained in exp_grapheme, as --units grapheme does) with the piece graph.
  steps/dgmm_pipeline.sh --stage 3 --stop-stage 3 --force $force --nj $nj --cmd "$train_cmd" --train train \
    --test-sets "dev test" --exp exp_grapheme --lang $lang --lang-test ${lang}_test --tri "1000 10000" \
    --boost-silence 1.25 --gmm-decode false --graph $exp/graph
  mkdir -p $exp
  for d in mono mono_ali tri1 tri1_ali gmm_ali_dev gmm_ali_test; do
    [ -e $exp/$d ] || ln -s ../exp_grapheme/$d $exp/$d
  done
  if todo $exp/graph/HCLG.fst $exp/tri1/final.mdl data/lang_subword_test/G.fst; then
    utils/mkgraph.sh data/lang_subword_test $exp/tri1 $exp/graph   # with subword_boundary.txt: scoring joins pieces
  fi
  pipeline_ali_opts+=(--graph $exp/graph)
fi
if [ $stop_stage -ge 3 ] && [ $stage -le 9 ]; then
  steps/dgmm_pipeline.sh --stage $stage --stop-stage $stop_stage --force $force --nj $nj --cmd "$train_cmd" \
    --train train --test-sets "dev test" --num-threads 1 --decode-opts "$decode_opts" \
    "${pipeline_ali_opts[@]}" --dnn-config $dnn_config --dgmm-config $dgmm_config \
    --dsgmm-config "$dsgmm_config"
fi

if run_stage 10; then
  log "Stage 10: phone error rates of the best paths of the word decodes"
  for x in dev test; do
    ref_ali=$exp/gmm_ali_$x
    for kv in ${test_ali:-}; do [ "${kv%%=*}" = $x ] && ref_ali=${kv#*=}; done
    for d in $exp/gmm_decode_$x $exp/{dnn,dgmm,dsgmm}/decode_$x; do
      [ -f $d/scoring_kaldi/best_wer ] || continue
      model=$d/../final.mdl   # the GMM decode's model is the last GMM system's
      [ $d = $exp/gmm_decode_$x ] && model=$exp/tri1/final.mdl
      if todo $d/scoring_per/per $d/scoring_kaldi/best_wer $ref_ali/ali.1.gz; then
        local/score_per.sh --model $model $lang $ref_ali $d
      fi
    done
  done
  for x in dev test; do
    for d in $exp/gmm_decode_$x $exp/{dnn,dgmm,dsgmm}/decode_$x; do
      [ -f $d/scoring_per/per ] && echo "$d: $(head -n 1 $d/scoring_per/per)"
    done
  done
fi

if run_stage 11; then
  if [ -n "$paper_scale" ]; then
    [ $units = phone ] || { echo "$0: stage 11 runs on the phone system (--units phone)" >&2; exit 1; }
    log "Stage 11: the paper's experiments (tables $paper_tables) at scale $paper_scale in exp/paper"
    steps/paper_experiments.sh --scale $paper_scale --tables "$paper_tables" --test test --nj $nj \
      --num-threads 1 --decode-opts "$paper_decode_opts"
  elif [ $stage -ge 11 ]; then
    echo "$0: stage 11 (the paper's experiments) needs --paper-scale tiny|small|paper" >&2; exit 1
  fi
fi

log "Done (stages $stage..$stop_stage)"
