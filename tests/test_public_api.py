"""The public API (issue 20, item 3): ``import obsscale`` stays light until a name is used,
every exported name resolves, the README's notebook section runs as written, and a
``CapabilityFit`` can be handed to ``backtest`` and ``forecast``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import obsscale
from obsscale.config import OBSSCALING_BENCHMARKS

README = Path(__file__).resolve().parents[1] / "README.md"
HEAVY = ("pandas", "sklearn", "scipy", "statsmodels", "matplotlib")


def loaded_after(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().replace("'", '"'))


def test_import_loads_no_heavy_library_until_a_name_is_used() -> None:
    assert loaded_after("import obsscale; obsscale.__version__; dir(obsscale)") == []
    assert "pandas" in loaded_after("import obsscale; obsscale.load_models")


def test_the_downloader_loads_no_heavy_library() -> None:
    """A warm ``obsscale fetch`` (every file cached, nothing to parse) needs the downloader
    and its checks only: pandas comes with the parsers, when harmonize runs."""
    assert loaded_after("import obsscale.data.fetch") == []


def test_every_exported_name_resolves_and_is_listed() -> None:
    assert len(obsscale.__all__) == len(set(obsscale.__all__)) == 1 + len(obsscale._EXPORTS)
    assert set(obsscale.__all__) == {"__version__", *obsscale._EXPORTS}
    for name in obsscale.__all__:
        assert getattr(obsscale, name) is not None, name
    assert set(obsscale.__all__) <= set(dir(obsscale))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = obsscale.nope  # type: ignore[attr-defined]


def test_the_cli_help_does_not_import_the_model_layer() -> None:
    probe = "import sys\nfrom obsscale.cli import main\ntry:\n    main(['--help'])\n"
    probe += "except SystemExit:\n    pass\nprint(sorted(m for m in sys.modules if m.startswith("
    probe += "'obsscale.model') or m.split('.')[0] in ('sklearn', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- the README's notebook code

TARGET = "openllm_v2:GPQA"


def world(seed: int = 0) -> pd.DataFrame:
    """Eight families (one named Llama-2, as in the README), the eight curated benchmarks and
    the README's target, all following one latent capability that grows with compute."""
    rng = np.random.default_rng(seed)
    v = np.abs(rng.normal(size=len(OBSSCALING_BENCHMARKS))) + 0.3
    v /= np.linalg.norm(v)
    rows = []
    for f, family in enumerate(["Llama-2", *(f"F{i}" for i in range(1, 8))]):
        eff = rng.normal(scale=0.25)
        for i, lf in enumerate(np.sort(rng.uniform(21, 24.5, 8))):
            cap = eff + 0.35 * (lf - 23)
            scores = np.clip(0.5 + 0.3 * cap * v + rng.normal(scale=0.01, size=len(v)), 0, 1)
            rows.append(
                {
                    "model": f"org{f}/m{i}",
                    "family": family,
                    "params_b": 10 ** ((lf - 21) / 2) * rng.uniform(0.5, 2),
                    "tokens_t": np.nan,
                    "flops": 10**lf,
                    "release_date": f"{2020 + i // 3}-0{1 + i % 9}-15",
                    "is_base": True,
                    TARGET: target(cap, rng),
                    **dict(zip(OBSSCALING_BENCHMARKS, scores, strict=True)),
                }
            )
    return pd.DataFrame(rows)


def target(cap: float, rng: np.random.Generator) -> float:
    """Four-choice accuracy: chance 0.25 plus a sigmoid of the capability, with noise."""
    return float(np.clip(0.25 + 0.5 * expit(2.5 * cap) + rng.normal(0, 0.02), 0, 1))


def readme_notebook_code() -> str:
    """The first python block of the README's "From Python (notebooks)" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### From Python (notebooks)", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's notebook section has no python block"
    return match.group(1)


def test_the_readme_notebook_code_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    code = readme_notebook_code()
    assert len([line for line in code.splitlines() if line.strip()]) < 10
    used = set(re.findall(r"obsscale\.(\w+)", code))
    assert used <= set(obsscale.__all__), used - set(obsscale.__all__)
    assert re.findall(r"^(?:from|import) .*", code, re.MULTILINE) == ["import obsscale"]
    table = tmp_path / "data" / "processed" / "models.csv"
    table.parent.mkdir(parents=True)
    world().to_csv(table, index=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the README's own code, nothing else
    result, future = namespace["result"], namespace["future"]
    assert isinstance(result, obsscale.PredictionResult)
    assert isinstance(future, obsscale.ForecastResult)
    assert result.n_test > 0 and np.isfinite(result.scores["pc"].mse_test)
    row = future.to_frame().iloc[0]
    assert row["scenario"] == "Llama-2 at 1e24 FLOPs" and row["lower"] <= row["upper"]
    out = capsys.readouterr().out
    assert TARGET in out and "Llama-2 at 1e24 FLOPs" in out


# ---------------------------------------------------------------- a CapabilityFit as input


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, obsscale.CapabilityFit]:
    models = world(1)
    return models, obsscale.fit_capabilities(models)


def test_a_capability_fit_gives_backtests_its_factors_unchanged(fitted) -> None:
    models, fit = fitted
    cut = obsscale.CutoffFlops(10**23.5)
    own = obsscale.backtest(obsscale.DownstreamPredictor(), models, TARGET, cut, factors=fit)
    refit = obsscale.backtest(obsscale.DownstreamPredictor(), models, TARGET, cut)
    assert own.basis == fit.benchmarks
    pc = own.predictions[own.predictions["predictor"] == "pc"]
    assert pc["predicted"].notna().all()
    # each fold's own factors (fitted on its training side) differ from the fit's
    assert not np.allclose(
        pc["predicted"].to_numpy(),
        refit.predictions.loc[refit.predictions["predictor"] == "pc", "predicted"].to_numpy(),
    )


def test_a_capability_fit_holding_the_target_is_refused(fitted) -> None:
    models, fit = fitted
    with pytest.raises(obsscale.ObsscaleError, match="its factor basis holds obsscaling:MMLU"):
        obsscale.backtest(obsscale.DownstreamPredictor(), models, "obsscaling:MMLU", factors=fit)


def test_a_capability_fit_gives_forecasts_its_factors(fitted) -> None:
    models, fit = fitted
    plan = [obsscale.Scenario("big", family="Llama-2", flops=1e24)]
    targets = [obsscale.ForecastTarget(TARGET, 0.25)]
    a = obsscale.forecast(models, plan, targets, factors=fit).to_frame()
    b = obsscale.forecast(models, plan, targets, factors=fit).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[0, "lower"] <= a.loc[0, "predicted"] <= a.loc[0, "upper"]


# ---------------------------------------------------------------- one shape for every result


def test_every_result_has_summary_frame_json_and_load(fitted, tmp_path: Path) -> None:
    models, fit = fitted
    results = [
        fit,
        obsscale.backtest(obsscale.DownstreamPredictor(), models, TARGET, factors=fit),
        obsscale.forecast(
            models,
            [obsscale.Scenario("big", family="Llama-2", flops=1e24)],
            [obsscale.ForecastTarget(TARGET, 0.25)],
        ),
    ]
    for result in results:
        assert str(result.summary())
        assert isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame())
        path = tmp_path / f"{type(result).__name__}.json"
        result.save(path)
        back = type(result).load(path)
        assert back.to_json() == result.to_json()
        frame = back.to_frame()
        # a back-test's figure-only columns (equivalent compute) are not in its JSON
        assert set(result.to_frame().columns) - set(frame.columns) <= {"equivalent_log10_flops"}
        pd.testing.assert_frame_equal(
            frame.reset_index(drop=True),
            result.to_frame()[frame.columns].reset_index(drop=True),
            check_dtype=False,
            check_like=True,  # JSON objects keep their keys sorted, not the columns' order
        )
