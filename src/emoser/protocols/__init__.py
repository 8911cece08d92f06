"""Evaluation protocols: the hold-out split, cross-validation folds, their names.
May import: core, params, corpora."""
