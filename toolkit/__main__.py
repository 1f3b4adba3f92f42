"""``python -m toolkit``: the same as the ``scenarios`` command."""

from toolkit.ui.cli import main

if __name__ == "__main__":
    main(prog_name="scenarios")
