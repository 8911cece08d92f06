"""MLflow: the store, and a run per evaluated model or summary.
May import: core, params, corpora, protocols, evaluation, models, serving, reporting."""
