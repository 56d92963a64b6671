"""The settings of one run: the global options (``cgcli --color never --quiet grad ...``) and
a command's own ``--color`` or ``--quiet``. Reset by the app's callback at every run.

A module of its own so that every helper of the command line can read it (:mod:`.common`
re-exports it) without importing the others.
"""

from typing import Any

settings: dict[str, Any] = {"color": "auto", "quiet": False}
