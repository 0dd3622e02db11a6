"""Benchmarks (``make bench``): how well the product does its job, and how fast.

- Accuracy: a fixed, documented set of back-tests on the mirror data, each with the factor
  predictor and both compute baselines; test MSE, MAE, interval coverage and the baseline /
  factor MSE ratios. Seeded: the same numbers every run.
- Scale: time and peak memory of fit + predict (one target, bootstrap intervals) on the real
  table and on synthetic tables of 1,000 / 10,000 / 100,000 models x 8 benchmarks with 20%
  missing scores, each size in a fresh process (so peak memory is its own), with the log-log
  slope of time against N per stage.
- Speed of the edges: fetch from a loopback mirror (cold and warm cache) and report generation.

Results go to ``OUT/*.json`` plus ``OUT/summary.md`` and ``OUT/summary.html``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.model.factors import fit_capabilities, select_models
from obsscale.config import CapabilityConfig, Config, PredictConfig, default_config
from obsscale.data.harmonize import load_models
from obsscale.model.backtest import PredictError, Split, backtest, make_regressor
from obsscale.model.selection import select_subset

CURATED = CapabilityConfig().benchmarks
V2_TASKS = (  # target, chance, FLOPs cutoff: the reference's Leaderboard-v2 set-up
    ("openllm_v2:GPQA", 0.25, 1.68e23),
    ("openllm_v2:MATH Lvl 5", 0.0, 2.52e23),
    ("openllm_v2:BBH", 0.2624, 8.4e22),
    ("openllm_v2:MMLU-PRO", 0.1, 8.4e22),
)
DATE_CUTOFF = "2024-06-01"
SIZES = (1_000, 10_000, 100_000)


def accuracy_tasks() -> list[dict[str, Any]]:
    """The fixed task list: held-out curated benchmarks, v2 tasks, leave-family-out, date."""
    tasks = [
        {
            "suite": "held-out curated",
            "target": b,
            "chance": 0.0,
            "split": Split("cutoff_flops", 8.4e22),
        }
        for b in CURATED
    ]
    tasks += [
        {"suite": "leaderboard v2", "target": t, "chance": c, "split": Split("cutoff_flops", cut)}
        for t, c, cut in V2_TASKS
    ]
    tasks += [
        {
            "suite": "leave one family out",
            "target": t,
            "chance": c,
            "split": Split("leave_family_out"),
        }
        for t, c in (("obsscaling:GSM8K", 0.0), ("openllm_v2:BBH", 0.2624))
    ]
    tasks += [
        {
            "suite": f"release date {DATE_CUTOFF}",
            "target": t,
            "chance": c,
            "split": Split("cutoff_date", DATE_CUTOFF),
        }
        for t, c in (
            ("obsscaling:GSM8K", 0.0),
            ("openllm_v2:GPQA", 0.25),
            ("openllm_v2:BBH", 0.2624),
        )
    ]
    return tasks


def run_accuracy(models: pd.DataFrame, pconf: PredictConfig) -> list[dict[str, Any]]:
    """Every accuracy task on the base models of the curated table (factor basis: the 8
    curated benchmarks, the target left out when it is one of them)."""
    base = select_models(models, CURATED)
    rows = []
    for task in accuracy_tasks():
        split = task["split"]
        try:
            r = backtest(base, task["target"], split=split, chance=task["chance"], pconf=pconf)
        except PredictError as e:
            rows.append(
                {
                    "suite": task["suite"],
                    "target": task["target"],
                    "split": split.describe(),
                    "error": str(e),
                }
            )
            continue
        row = {
            "suite": task["suite"],
            "target": task["target"],
            "split": r.split,
            "chance": task["chance"],
            "n_train": r.n_train,
            "n_test": r.n_test,
            "n_unknown": r.n_unknown,
        }
        for name, s in r.scores.items():
            row |= {
                f"{name}_mse": s.mse_test,
                f"{name}_mae": s.mae_test,
                f"{name}_coverage": s.coverage_90,
            }
        row |= {f"ratio_{k}": v for k, v in r.mse_ratios().items()}
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- selection

BUDGETS = (8, 12, 16, 24)
N_RANDOM = 200


def _subset_mse(
    X: np.ndarray, y: np.ndarray, rows: np.ndarray, test: np.ndarray, pconf: PredictConfig
) -> float:
    reg = make_regressor(pconf, n_starts=2)  # 201 fits per task: fewer random restarts
    try:
        reg.fit(X[rows], y[rows])
    except ValueError:
        return float("nan")
    return float(np.mean((reg.predict(X[test]) - y[test]) ** 2))


def run_selection(
    models: pd.DataFrame, pconf: PredictConfig, budgets: tuple[int, ...] = BUDGETS
) -> list[dict[str, Any]]:
    """For each held-out curated benchmark: choose ``K`` models among those at or below the
    Llama-2-7B cutoff (V-optimal for the models above it), fit the law on them alone, and
    compare its test MSE above the cutoff with the median over 200 random subsets of size K
    drawn from the same candidates."""
    rows = []
    base = select_models(models, CURATED)
    for target in CURATED:
        basis = [b for b in CURATED if b != target]
        data = base[base[target].notna()].sort_values("model").reset_index(drop=True)
        fit = fit_capabilities(data, CapabilityConfig(benchmarks=tuple(basis)))
        X = fit.models[fit.components].to_numpy()
        y = data[target].to_numpy()
        flops = data["flops"]
        cand = (flops <= 8.4e22).fillna(False)
        test = (flops > 8.4e22).fillna(False)
        rng = np.random.default_rng(pconf.random_state)
        for k in budgets:
            sel = select_subset(
                fit.models,
                fit.components,
                budget=k,
                criterion="v",
                candidates=cand,
                targets=test,
                target_set="above the cutoff",
            )
            chosen = fit.models.index[fit.models["model"].isin(sel.chosen["model"])].to_numpy()
            mse = _subset_mse(X, y, chosen, test.to_numpy(), pconf)
            pool = np.flatnonzero(cand.to_numpy())
            rand = [
                _subset_mse(X, y, rng.choice(pool, size=k, replace=False), test.to_numpy(), pconf)
                for _ in range(N_RANDOM)
            ]
            med = float(np.nanmedian(rand))
            rows.append(
                {
                    "target": target,
                    "budget": k,
                    "n_candidates": int(cand.sum()),
                    "n_test": int(test.sum()),
                    "selected_mse": mse,
                    "random_median_mse": med,
                    "beats_median": bool(mse < med),
                    "random_rank": float(np.mean(np.array(rand) < mse)),
                }
            )
    return rows


# ----------------------------------------------------------------------------- scale


def synthetic_table(n: int, seed: int = 0, missing: float = 0.2) -> pd.DataFrame:
    """``n`` models in ~n/20 families, 8 benchmarks driven by two latent capabilities that are
    linear in log-compute with family offsets, 20% of scores missing, and a target."""
    rng = np.random.default_rng(seed)
    n_fam = max(n // 20, 3)
    fam = rng.integers(0, n_fam, size=n)
    logf = rng.uniform(20, 25, size=n)
    eff = rng.normal(scale=0.3, size=n_fam)[fam]
    c1 = eff + 0.4 * (logf - 22.5)
    c2 = rng.normal(scale=0.5, size=n)
    load = np.abs(rng.normal(size=(2, 8))) * [[1.0], [0.4]]
    scores = 1 / (1 + np.exp(-(np.column_stack([c1, c2]) @ load - 0.5)))
    scores = np.clip(scores + rng.normal(scale=0.02, size=scores.shape), 0, 1)
    scores[rng.random(scores.shape) < missing] = np.nan
    empty = np.isnan(scores).all(axis=1)
    scores[empty, 0] = 0.5
    table = pd.DataFrame(scores, columns=[f"syn:b{j}" for j in range(8)])
    table.insert(0, "model", [f"org{f}/model-{i}" for i, f in enumerate(fam)])
    table.insert(1, "family", [f"F{f}" for f in fam])
    table["flops"] = 10**logf
    table["params_b"] = 10 ** (logf - 22.5) * rng.uniform(2, 20, size=n)
    table["release_date"] = "2024-01-01"
    table["is_base"] = True
    table["target"] = np.clip(
        1 / (1 + np.exp(-(1.5 * c1 - 0.5))) + rng.normal(scale=0.03, size=n), 0, 1
    )
    return table


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def fit_predict_timing(
    models: pd.DataFrame,
    settings: CapabilityConfig,
    target: str,
    pconf: PredictConfig,
    split: Split,
) -> dict[str, float]:
    """Seconds of the capability fit and of one back-test with bootstrap intervals."""
    _, t_fit = _timed(lambda: fit_capabilities(models, settings))
    _, t_pred = _timed(
        lambda: backtest(models, target, split=split, settings=settings, pconf=pconf)
    )
    return {"fit_s": t_fit, "predict_s": t_pred, "total_s": t_fit + t_pred}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def scale_child(n: int) -> dict[str, Any]:
    """One synthetic size, measured in this (fresh) process."""
    base_rss = _rss_mb()
    table = synthetic_table(n)
    settings = CapabilityConfig(
        benchmarks=tuple(c for c in table.columns if c.startswith("syn:")), reference_family="F0"
    )
    out = fit_predict_timing(
        table, settings, "target", PredictConfig(), Split("cutoff_flops", 10**23.5)
    )
    return {"n": n, **out, "peak_rss_mb": _rss_mb(), "baseline_rss_mb": base_rss}


def run_scale(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, "-m", "obsscale.bench", "--scale-child", str(n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            rows.append({"n": n, "error": proc.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def loglog_slopes(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Slope of log(time) against log(N) per stage: 1 is linear growth."""
    ok = [r for r in rows if "error" not in r]
    if len(ok) < 2:
        return {}
    n = np.log10([r["n"] for r in ok])
    return {
        k: float(np.polyfit(n, np.log10([max(r[k], 1e-6) for r in ok]), 1)[0])
        for k in ("fit_s", "predict_s", "total_s")
    }


# ----------------------------------------------------------------------------- edges


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_edges(mirror: str | None, upstream: Path | None) -> dict[str, Any]:
    """Fetch (cold, warm) and report generation timings in a scratch data folder."""
    from obsscale.data.fetch import fetch_all
    from obsscale.data.harmonize import harmonize
    from obsscale.report.html import build_report

    if mirror is None and (upstream is None or not upstream.is_dir()):
        return {"skipped": "no mirror: pass --mirror URL or keep ../shared/upstream beside"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(upstream) if mirror is None else nullcontext(mirror) as url,
    ):
        cfg = default_config(Path(tmp) / "data", url)
        _, cold = _timed(lambda: fetch_all(cfg, progress=False))
        _, warm = _timed(lambda: fetch_all(cfg, progress=False))
        _, harm = _timed(lambda: harmonize(cfg).write(cfg))
        _, rep = _timed(lambda: build_report(cfg, Path(tmp) / "reports", progress=False))
    return {"fetch_cold_s": cold, "fetch_warm_s": warm, "harmonize_s": harm, "report_s": rep}


# ----------------------------------------------------------------------------- summary


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


ACC_COLS = [
    "suite",
    "target",
    "n_train",
    "n_test",
    "pc_mse",
    "log_flops_mse",
    "log_params_mse",
    "ratio_log_flops",
    "ratio_log_params",
    "pc_coverage",
]
SCALE_COLS = ["n", "fit_s", "predict_s", "total_s", "peak_rss_mb"]


SEL_COLS = [
    "target",
    "budget",
    "n_candidates",
    "n_test",
    "selected_mse",
    "random_median_mse",
    "beats_median",
    "random_rank",
]


def summary_markdown(
    acc: list[dict], sel: list[dict], real: dict, scale: list[dict], slopes: dict, edges: dict
) -> str:
    wins = {k: sum(r["beats_median"] for r in sel if r["budget"] == k) for k in BUDGETS}
    n_targets = len({r["target"] for r in sel})
    parts = [
        "# obsscale benchmarks",
        "",
        "## Accuracy (test MSE on the chance-normalised scale; ratio = baseline / factors)",
        "",
        markdown_table(acc, ACC_COLS),
        "",
        "## Subset selection (V-optimal subset vs the median of 200 random subsets of the "
        "same size; random_rank = share of random subsets doing better)",
        "",
        markdown_table(sel, SEL_COLS),
        "",
        "selection beats the random median on: "
        + ", ".join(f"K={k}: {w}/{n_targets} targets" for k, w in wins.items()),
        "",
        "## Fit + predict on the real table (one target, 200 bootstrap resamples)",
        "",
        markdown_table([real], ["n", "fit_s", "predict_s", "total_s"]),
        "",
        "## Scale (synthetic, 8 benchmarks, 20% missing; fresh process per size)",
        "",
        markdown_table(scale, SCALE_COLS),
        "",
        "log-log slope of time against N: " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()),
        "",
        "## Edges",
        "",
        "\n".join(f"- {k}: {_fmt(v)}" for k, v in edges.items()),
        "",
    ]
    return "\n".join(parts)


def run_bench(
    config: Config,
    out: Path,
    *,
    mirror: str | None,
    upstream: Path | None,
    sizes: tuple[int, ...] = SIZES,
) -> str:
    models = load_models(config)
    pconf = config.predict
    acc = run_accuracy(models, pconf)
    sel = run_selection(models, pconf)
    base = select_models(models, CURATED)
    real = {
        "n": len(base),
        **fit_predict_timing(
            base, config.capabilities, "obsscaling:GSM8K", pconf, Split("cutoff_flops", 8.4e22)
        ),
    }
    scale = run_scale(sizes)
    slopes = loglog_slopes(scale)
    edges = run_edges(mirror, upstream)
    store.write_json(out / "accuracy.json", acc)
    store.write_json(out / "selection.json", sel)
    store.write_json(
        out / "scale.json",
        {"real_table": real, "synthetic": scale, "loglog_slopes": slopes},
    )
    store.write_json(out / "edges.json", edges)
    md = summary_markdown(acc, sel, real, scale, slopes, edges)
    store.write_text(out / "summary.md", md)
    store.write_text(out / "summary.html", _html(md))
    return md


def _html(md: str) -> str:
    from html import escape

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>obsscale benchmarks"
        "</title></head><body><pre>" + escape(md) + "</pre></body></html>\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m obsscale.bench")
    p.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.scale_child:
        print(json.dumps(scale_child(args.scale_child)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
