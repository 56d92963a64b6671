"""The ``cgcli`` command: the Typer app, assembled from the command modules.

Each command module (one per group of commands) owns a ``typer.Typer()`` whose commands are
plain decorated functions; this module adds them to the root app and runs it. The command
modules never import this one.

Exit codes (errors.py): 0 success, 1 a check failed or an ``--expect`` answer is wrong,
2 invalid input (parse error, unknown name, wrong arguments, missing or malformed ``--at``
value, shape mismatch, a bad batch row), 3 nan or inf with ``--strict``, 4 an external tool
(Graphviz, Matplotlib) missing, 70 an internal error (a bug in cgcli), 130 interrupted
by Ctrl-C (Typer turns KeyboardInterrupt into exit 130).
"""

import importlib
import os
import sys
from typing import Annotated, NoReturn

import typer

from ..errors import EXIT_INTERNAL
from ..xp import CONVENTION
from . import grad, language
from .common import settings
from .options import ColorOpt, ConventionOpt, QuietOpt

app = typer.Typer(
    name="cgcli",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        sys.stdout.write(f"cgcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print cgcli's version and exit.")] = False,
    color: ColorOpt = None,
    convention: ConventionOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Computational graphs on the command line: every node's value and gradient.

    Long work (a --batch, a huge expression) shows its progress on stderr when that is a
    terminal; --quiet turns it off, and the notes too.

    \b
    Exit codes: 0 success · 1 a check failed or an answer is wrong · 2 invalid input ·
    3 nan or inf with --strict · 4 Graphviz or Matplotlib missing · 70 internal error ·
    130 interrupted (Ctrl-C).
    """
    settings["color"] = color.value if color is not None else "auto"
    CONVENTION.set(convention.value if convention is not None else "torch")
    settings["quiet"] = quiet


#: Typer builds every registered command (its options, from its signature) on each run, so
#: the commands of ``grad`` and ``language`` are always there and the other modules' only when
#: the command line may need them: that keeps ``cgcli grad`` ~20 ms quicker to start.
app.add_typer(grad.app)
app.add_typer(language.app)
CORE_COMMANDS = frozenset({"grad", "eval", "functions", "fmt"})
#: The other command modules, in the order ``--help`` lists their commands.
MODULES = ("teach", "calculus", "exercises", "plot")
_GLOBAL_WITH_VALUE = frozenset({"--color", "--convention"})
_added: list[str] = []


def register_commands(args: list[str]) -> None:
    """Add the other command modules unless ``args`` runs a core command."""
    it = iter(args)
    for a in it:
        if a in _GLOBAL_WITH_VALUE:
            next(it, None)
        elif not a.startswith("-"):
            if a in CORE_COMMANDS:
                return
            break
    for name in MODULES:
        if name not in _added:
            app.add_typer(importlib.import_module(f".{name}", __package__).app)
            _added.append(name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cgcli`` command: exits with the documented exit code."""
    for stream in (sys.stdout, sys.stderr):
        # A stream that is not UTF-8 (PYTHONIOENCODING=ascii, a cp1252 console) shows '?' for
        # the characters it lacks (∂, box lines) instead of failing half-way through.
        if getattr(stream, "errors", "strict") == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    register_commands(sys.argv[1:] if argv is None else list(argv))
    try:
        app(args=argv, prog_name="cgcli")  # usage errors: Click prints them and exits 2
    except SystemExit as exc:
        # A broken pipe (`| head`: the reader left, not an error of ours) reaches Typer, which
        # (as Click) turns it into exit 1, "no" here, and leaves standard output wrapped to
        # keep quiet (Click's PacifyFlushWrapper, which Typer 0.28 vendors: known by name).
        if exc.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            _reader_left()
        raise
    except Exception as exc:  # a bug: one line, not a traceback
        if os.environ.get("CGCLI_DEBUG"):
            raise
        sys.stderr.write(f"cgcli: internal error: {type(exc).__name__}: {exc} "
                         "(a bug in cgcli; CGCLI_DEBUG=1 shows the traceback)\n")
        sys.exit(EXIT_INTERNAL)


def _reader_left() -> NoReturn:
    """Exit 0, quietly, when the reader of standard output has left (``| head -1``): the
    output so far is what it asked for. Standard output goes to /dev/null first, so the
    interpreter's last flush finds nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
    except (OSError, AttributeError, ValueError):  # no real file descriptor (a test's stream)
        pass
    sys.exit(0)


run = main  # the console-script entry point
