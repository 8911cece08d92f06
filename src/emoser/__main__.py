"""``python -m emoser ...`` is the ``emoser`` command (emoser.cli)."""
from emoser.cli import main

main()
