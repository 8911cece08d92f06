"""Audio in: reading and resampling recordings, augmentation, the speech check.
May import: core, params, compute."""
