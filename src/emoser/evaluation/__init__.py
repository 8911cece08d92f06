"""Scoring predictions: metrics with intervals, prediction tables, paired comparisons.
May import: core, params, corpora, protocols."""
