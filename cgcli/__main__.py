"""``python -m cgcli``: the same as the ``cgcli`` command."""

from .cli.app import run

run()
