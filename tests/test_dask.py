"""The README's Dask recipe: ``ddf.map_partitions(lambda part: cgcli.batch(expr, part))`` on
a multi-partition frame read from Parquet gives, with the threads, processes and distributed
schedulers, what one ``cgcli.batch`` on the whole frame gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import cgcli

EXPR = "s = sigmoid(w0*x0 + w1*x1 + w2); L = (s - y)^2"
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


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One local cluster for the module (starting one costs seconds): two worker processes,
    so partitions and results cross process boundaries."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def recipe(path: Path) -> dd.DataFrame:
    """The README's recipe, as written there."""
    ddf = dd.read_parquet(path)
    return ddf.map_partitions(lambda part: cgcli.batch(EXPR, part, **WEIGHTS))


def test_the_recipe_infers_its_columns_without_meta(parquet: Path) -> None:
    out = recipe(parquet)
    assert out.npartitions == PARTITIONS
    assert list(out.columns) == ["value", "d_w0", "d_x0", "d_w1", "d_x1", "d_w2", "d_y"]
    assert (out.dtypes == np.float64).all()


@pytest.mark.parametrize("scheduler", ["threads", "processes", "distributed"])
def test_every_scheduler_gives_what_one_machine_gives(scheduler: str, parquet: Path,
                                                       frame: pd.DataFrame,
                                                       request: pytest.FixtureRequest) -> None:
    expected = cgcli.batch(EXPR, frame, **WEIGHTS)
    if scheduler == "distributed":
        c = request.getfixturevalue("client")
        got = c.compute(recipe(parquet)).result()
    else:
        with dask.config.set(scheduler=scheduler):
            got = recipe(parquet).compute()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
