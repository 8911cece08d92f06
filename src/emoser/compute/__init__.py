"""Where tasks run: local processes (one per GPU where there are GPUs) or a Dask cluster.
May import: core, params."""
