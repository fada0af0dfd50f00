#!/usr/bin/env bash
# Trains a GMM-family model (DGMM, DSGMM, shallow GMM) whose initial model <exp-dir>/init.pt was
# made by steps/init_dgmm.sh: the same trainer and options as steps/train_dnn.sh (see there), with
# conf/dgmm.yaml as the default configuration (its train section holds the variance schedule).

nnet_config=conf/dgmm.yaml  # model/data/train hyperparameters (YAML)

echo "$0 $@"  # Print the command line for logging.

if [ $# -lt 3 ]; then
  echo "Usage: $0 [options of steps/train_dnn.sh] <data-dir> <ali-dir> <exp-dir>
  (<exp-dir>/init.pt from steps/init_dgmm.sh; --nnet-config defaults to $nnet_config)
e.g.: $0 data/train exp/tri1_ali_dgmm exp/dgmm" >&2
  exit 1
fi
dir=${!#}
if [ ! -f "$dir/init.pt" ]; then
  echo "$0: expected file $dir/init.pt to exist (run steps/init_dgmm.sh first)" >&2
  exit 1
fi
# options given on the command line come later and override this default
exec "$(dirname "$0")/train_dnn.sh" --nnet-config "$nnet_config" "$@"
