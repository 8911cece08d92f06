"""Plumbing: errors, paths, atomic files, the process set-up, reading params.yaml.
May import: nothing of emoser."""
