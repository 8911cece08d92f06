"""What a corpus is: its layout (Emo-DB, RAVDESS, a csv table), emotions, label map, manifest; fetching it.
May import: core."""
