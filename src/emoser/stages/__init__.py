"""The pipeline stages: one thin entry-point module per dvc.yaml stage (see CONTRIBUTING.md)."""
