"""The networks: architectures, training tasks, saved files, cross-validation, evaluation.
May import: core, params, compute, corpora, features, protocols, evaluation."""
