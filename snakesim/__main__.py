"""``python -m snakesim``: the command line."""

from snakesim.cli import main

main()
