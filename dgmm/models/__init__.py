"""The model family: DNN, GMM layer, Deep GMM, shallow GMM, Deep Subspace GMM, priors."""

from dgmm.models.checkpoint import load_checkpoint, load_model, load_model_and_extra, save_model
from dgmm.models.gmm_layer import GMMLayer, gmm_log_likelihoods
from dgmm.models.networks import (DEFAULTS, DNN, DeepGMM, build_model, count_parameters, dgmm_from_dnn,
                                  resolve_config)
from dgmm.models.prior import CountPrior, OnlinePrior, count_prior
from dgmm.models.subspace_gmm import SubspaceGMMLayer

__all__ = ["DEFAULTS", "DNN", "CountPrior", "DeepGMM", "GMMLayer", "OnlinePrior", "SubspaceGMMLayer",
           "build_model", "count_parameters", "count_prior", "dgmm_from_dnn", "gmm_log_likelihoods",
           "load_checkpoint", "load_model", "load_model_and_extra", "resolve_config", "save_model"]
