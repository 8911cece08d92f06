"""The served model: packed arrays, emoser predict, the MLflow pyfunc.
May import: core, params, corpora, audio, features, evaluation, models."""
