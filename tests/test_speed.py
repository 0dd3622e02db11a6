"""The fast paths give the same results as the straightforward ones they replace."""

from __future__ import annotations

import numpy as np
import pytest

from obsscale.bench.scale import synthetic_table
from obsscale.config import CapabilityConfig, PredictConfig
from obsscale.data import store
from obsscale.model.backtest import backtest
from obsscale.model.results import PredictionResult
from obsscale.model.splits import CutoffFlops, KFold


@pytest.fixture(scope="module")
def table():
    t = synthetic_table(240, seed=3)
    t.loc[5:9, "flops"] = np.nan  # unknown split: no log_flops prediction
    t.loc[10:12, "params_b"] = np.nan  # no log_params prediction
    t.loc[13, "family"] = np.nan
    t.loc[14, "model"] = 'ünïcode "quoted" \\ model'
    return t


def _settings(t):
    bench = tuple(c for c in t.columns if c.startswith("syn:"))
    return CapabilityConfig(benchmarks=bench, reference_family="F0")


@pytest.mark.parametrize("split", [CutoffFlops(10**23.5), KFold(3)])
def test_json_written_column_wise_equals_generic_encoder(table, split) -> None:
    r = backtest(
        table, "target", split=split, settings=_settings(table), pconf=PredictConfig(n_bootstrap=8)
    )
    assert r.to_json() == store.dumps(r.to_dict())
    back = PredictionResult.from_dict(r.to_dict())
    assert back.to_json() == r.to_json()
