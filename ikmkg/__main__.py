"""`python -m ikmkg` runs the command-line interface."""

from ikmkg.cli import cli

if __name__ == "__main__":
    cli()
