"""The pipeline's entry points, one per dvc.yaml stage: read params, call the library, write outputs.
May import: any but another stage."""
