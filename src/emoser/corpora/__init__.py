"""What a corpus is: Emo-DB's facts (emotions, speakers, file names, listener test); fetching it.
May import: core."""
