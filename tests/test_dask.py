"""The README's Dask recipe: ``ddf.map_partitions(lambda part: cgcli.batch(expr, part))`` on
a multi-partition frame read from Parquet gives, with the threads and processes schedulers
and on a distributed ``LocalCluster`` (the README's script itself, run as written), what one
``cgcli.batch`` on the whole frame gives."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import cgcli

README = Path(__file__).resolve().parent.parent / "README.md"
EXPR = "s = sigmoid(w0*x0 + w1*x1 + w2); L = -(y*log(s) + (1 - y)*log(1 - s))"
WEIGHTS = {"w0": 0.5, "w1": -1.5, "w2": 0.1}
ROWS, PARTITIONS = 2_000, 4
# dask's Parquet reader still calls pandas with inplace=, which pandas 3.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(14)
    return pd.DataFrame({"x0": rng.normal(size=ROWS), "x1": rng.normal(size=ROWS),
                         "y": rng.integers(0, 2, size=ROWS).astype(float),
                         "id": np.arange(ROWS)}, index=pd.RangeIndex(ROWS, name="row"))


@pytest.fixture(scope="module")
def parquet(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "rows"
    dd.from_pandas(frame, npartitions=PARTITIONS).to_parquet(path)
    return path


def recipe(path: Path) -> dd.DataFrame:
    """The README's recipe, as written there."""
    ddf = dd.read_parquet(path)
    return ddf.map_partitions(lambda part: cgcli.batch(EXPR, part, **WEIGHTS))


def test_the_recipe_infers_its_columns_without_meta(parquet: Path) -> None:
    out = recipe(parquet)
    assert out.npartitions == PARTITIONS
    assert list(out.columns) == ["value", "d_w0", "d_x0", "d_w1", "d_x1", "d_w2", "d_y"]
    assert (out.dtypes == np.float64).all()


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_every_scheduler_gives_what_one_machine_gives(scheduler: str, parquet: Path,
                                                       frame: pd.DataFrame) -> None:
    expected = cgcli.batch(EXPR, frame, **WEIGHTS)
    with dask.config.set(scheduler=scheduler):
        got = recipe(parquet).compute()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def readme_script() -> str:
    """The Python block of the README's section "Beyond one machine: Dask"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Beyond one machine: Dask"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_script_on_a_local_cluster_gives_what_one_machine_gives(
        parquet: Path, frame: pd.DataFrame, tmp_path: Path) -> None:
    """The script as the README prints it, in a process of its own (its workers import it),
    on the Parquet files of the test: its rows and its means are one machine's."""
    script = readme_script()
    constants = {t.id: ast.literal_eval(n.value) for n in ast.parse(script).body
                 if isinstance(n, ast.Assign) for t in n.targets}
    assert (constants["LOSS"], constants["WEIGHTS"]) == (EXPR, WEIGHTS)  # the tests' recipe
    (tmp_path / "gradients.py").write_text(script)
    (tmp_path / "points").symlink_to(parquet, target_is_directory=True)
    proc = subprocess.run([sys.executable, "gradients.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    expected = cgcli.batch(EXPR, frame, **WEIGHTS)
    got = dd.read_parquet(tmp_path / "gradients").compute()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    means = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert list(means) == ["value", "d_w0", "d_w1", "d_w2"]
    np.testing.assert_allclose(list(means.values()), expected[list(means)].mean(), rtol=1e-12)
