"""The paper's six experiments (Variani, McDermott, Heigold, ICASSP 2015) as recipe stages.

systems.py  the systems of every table at a scale (model/data/train configs, parameter matching)
lda.py      LDA on spliced features estimated from pdf alignments (Table 2's engineered features)
tables.py   results collection, the tables with their computed verdicts, and the training-curve plots
Driver: steps/paper_experiments.sh.
"""
