"""The one exception users see: a problem with their input, reported as one clear line."""
from __future__ import annotations


class EmoserError(Exception):
    """A problem with the user's input (a file, a param, an archive member): one line, exit code 2."""
