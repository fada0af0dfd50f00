"""The model family: DNN, GMM layer, Deep GMM, shallow GMM, Deep Subspace GMM, priors."""
