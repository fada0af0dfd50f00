"""Kaldi data directories, frame datasets and context splicing."""
