"""emoser: leak-free SER on Emo-DB. Importing it sets up the process first (emoser.core.runtime)."""
from emoser.core import runtime as _runtime  # noqa: F401

__version__ = "0.1.0"
