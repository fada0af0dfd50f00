# How jobs are run. run.pl runs them on this machine; limit parallelism with e.g.
# "run.pl --max-jobs-run 2". On a grid, use Kaldi's queue.pl / slurm.pl with your options.
export train_cmd="run.pl"
export decode_cmd="run.pl"
