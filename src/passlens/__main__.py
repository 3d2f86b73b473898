"""``python -m passlens`` runs the command line."""

from .cli import main

main()
