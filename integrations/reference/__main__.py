"""``python -m integrations.reference --port N``: the reference plant without Django."""

from .cli import main

main()
