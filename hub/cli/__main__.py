"""``python -m hub.cli``: the ``salon`` command."""

from hub.cli import main

main()
