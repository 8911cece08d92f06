"""emoser: reproducible, leak-free speech emotion recognition on Emo-DB."""
__version__ = "0.1.0"
