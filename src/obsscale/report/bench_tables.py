"""The bench's frontier tables in the report: the completion accuracy by method and the
probe-set back-test, read from the last ``make bench`` run beside the report
(``OUT/bench/completion.json`` and ``probes.json``).

The report does not rerun them: each protocol costs about a minute of CPU, and a report is
redrawn on every ``make fit``. So the tables show what the bench measured, and their captions
name the file and its protocol; without a bench run the section simply lacks them. A file
that cannot be read is left out with a warning naming it (the report is still written).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from obsscale.data import store
from obsscale.exceptions import ArtifactError
from obsscale.report.frontier import FrontierTable

log = logging.getLogger(__name__)


# the two protocols' modules are imported by their readers, when a bench result is there to
# read: they import scikit-learn (~0.6 s), which a report without them does not need


def _completion(result: dict[str, Any], path: Path) -> FrontierTable:
    from obsscale.model.completion.protocol import accuracy_table

    return FrontierTable(
        title="Completing the hub matrix: accuracy by method",
        caption=(
            f"{result['protocol']} on {result['models']} models x {result['benchmarks']} "
            f"benchmarks ({result['cells']} observed cells); error of the hidden cells in "
            "points of the fraction scale, 90% intervals from each method's inner held-out "
            f"errors; best / rank-1 PCA MedAE {result['best_vs_rank1_pca']:.3f}. "
            f"From the last bench run ({path.name})."
        ),
        frame=accuracy_table(result),
    )


def _probes(result: dict[str, Any], path: Path) -> FrontierTable:
    from obsscale.model.design.probe_backtest import backtest_frame

    return FrontierTable(
        title="Which benchmarks to run next: the probe-set back-test",
        caption=(
            "Mean absolute error (points) on a held-out hub model's other scores after K "
            "revealed ones: the K chosen by the V-optimal design, K random ones (median of "
            "the draws), the K most common benchmarks, none; the design's settings were "
            f"chosen on the design half ({result.get('choice', '')}). "
            f"From the last bench run ({path.name})."
        ),
        frame=backtest_frame(result),
    )


READERS: dict[str, Callable[[dict[str, Any], Path], FrontierTable]] = {
    "completion.json": _completion,
    "probes.json": _probes,
}


def bench_tables(out_dir: Path) -> list[FrontierTable]:
    """The tables of ``out_dir/bench``'s completion and probe runs that exist and read."""
    tables = []
    for name, build in READERS.items():
        path = out_dir / "bench" / name
        if not path.exists():
            continue
        try:
            result = store.read_json(path, "bench result")
            if isinstance(result, dict) and "skipped" not in result:
                tables.append(build(result, path))
        except (ArtifactError, KeyError, TypeError, ValueError) as e:
            log.warning(
                "%s left out of the report: not a bench result obsscale wrote (%s)", path, e
            )
    return tables
