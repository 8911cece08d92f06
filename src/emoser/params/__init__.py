"""The schema of each params.yaml section, apart from the code that reads it; presets.
May import: core, corpora."""
