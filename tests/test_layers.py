"""The house keeps its shape: layers import downward only, and start-up stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is in the test extra")
def test_import_contracts_are_kept() -> None:
    proc = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_every_library_module_is_in_the_library_layer() -> None:
    """A new module at the top of the package is library code: it joins the third layer (and
    the contract that keeps Rich and Typer out of it), or import-linter cannot guard it."""
    layers = next(c for c in contracts() if c["type"] == "layers")["layers"]
    library = {m.strip() for m in layers[-1].split(":")}
    screenless = next(c for c in contracts() if c["type"] == "forbidden"
                      and "rich" in c["forbidden_modules"])["source_modules"]
    found = {p.stem for p in (ROOT / "cgcli").glob("*.py")} - {"__init__", "__main__",
                                                               "_version"}
    assert found == library
    assert {f"cgcli.{m}" for m in found - {"_parser_tables"}} == set(screenless)
    subpackages = {p.name for p in (ROOT / "cgcli").iterdir()
                   if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages == {"cli", "render", "notebook"}


def test_a_core_command_imports_no_numpy_rich_or_other_command_modules() -> None:
    """Importing the app (as every run does) pulls in no heavy module: NumPy only when a
    value needs it, Rich only where colour is drawn, other command modules only when run."""
    code = ("import sys; import cgcli.cli.app as a; a.register_commands(['grad']); "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('numpy', 'rich', "
            "'cgcli.cli.teach', 'cgcli.cli.exercises', 'cgcli.render')))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []


@pytest.mark.parametrize("args", [
    ["grad", "1/(1+exp(-x))", "--at", "x=1", "--json"],
    ["grad", "1/(1+exp(-x))", "--at", "x=1"],
    ["grad", "q = x*y; f = q + sin(x)", "--at", "x=2", "--at", "y=3", "--format", "tree"],
    ["grad", "x^3", "--at", "x=2", "--raw"],
    ["eval", "2^10 + abs(x)", "--at", "x=-pi/4", "--raw"],
])
def test_a_scalar_one_shot_imports_no_numpy(args: list[str]) -> None:
    """NumPy is imported when a value or literal is an array, never for scalars."""
    code = ("import io, sys, contextlib\nfrom cgcli.cli.app import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(sys.argv[1:])\n    except SystemExit as e: assert not e.code, e\n"
            "print('numpy' in sys.modules, 'rich' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"], proc.stdout


def test_an_array_value_brings_numpy_in() -> None:
    code = ("import io, sys, contextlib\nfrom cgcli.cli.app import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['grad', 'sum(x^2)', '--at', 'x=[1,2]', '--json'])\n"
            "    except SystemExit as e: assert not e.code, e\n"
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["True"]
