"""SVM baselines, our fused model, speaker standardisation, calibration.
May import: core, params, compute, corpora, features, protocols, evaluation."""
