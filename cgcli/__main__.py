"""``python -m cgcli``: the same as the ``cgcli`` command."""

from .cli import run

run()
