"""`python -m kpitui`."""

from kpitui.cli import main

main()
