"""Commands that live in modules of their own, each with a ``register(app)`` function.

Keep module-level imports of a command module light (no Rich, no heavy libraries): every
module listed here is imported at each start of ``cgcli``.
"""

from __future__ import annotations

from typing import Any


def register_all(app: Any) -> None:
    """Add every command module's commands to the Typer ``app``."""
    from . import exercises, teach

    teach.register(app)
    exercises.register(app)
