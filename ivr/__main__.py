"""`python -m ivr` runs the CLI (used by tests so each checkout runs its own code)."""

from ivr.cli import main

main()
