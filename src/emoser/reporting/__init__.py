"""Reports: results.md, results page, figures, README table, offline plots, emoser review.
May import: core, params, corpora, protocols, evaluation, models."""
