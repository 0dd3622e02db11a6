"""The accuracy bench's task pool: 70+ back-tests of the kinds users bring, split once into a
*design* half (where every choice of the method is made) and a *confirmation* half (only run
to report).

Each entry is a target, a split, a chance level and a basis:

- ``curated``: the base models of the curated table, factors of the 8 curated benchmarks (as
  the original 17-task suite);
- ``all``: every model (instruction-tuned ones too), the default basis with its fallbacks
  (the paper's instruct basis, leaderboard v1's six tasks);
- ``hub``: every model, 2 factors of the 8 Epoch hub benchmarks most often observed with the
  target (frontier models have none of the curated ones).

Entries are grouped by *task*, the benchmark a target measures (``gsm8k`` covers
obsscaling:GSM8K, openllm_v1:GSM8K, the hub's GSM8K and the four post-training GSM8K variants,
under every split): a method tuned on one of them has seen the others, so a task's entries all
fall in the same half. The half is the parity of ``sha256("<POOL_SEED>:<task>")``: fixed
once, independent of the rest of the pool (adding an entry never moves another task), and the
same on every machine. Basis benchmarks of the target's own task are left out of its basis
(as the target's twins are), so that no target is predicted from a copy of itself.

Chance levels: BIG-Bench Hard subtasks take 1 / the number of answer options of the task's
definition (``data/curated/bbh_options.csv``); other multiple-choice tasks with a fixed number of
options take 1/options (named per entry below); metrics without one (free-form answers such as
GSM8K and the free-form BBH subtasks, mixtures such as MUSR and BBH overall, pass rates, Elo)
take the default, 0, except where the original suite already gave one (leaderboard v2 BBH
0.2624, the mean over its subtasks).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from obsscale.config import (
    DEFAULT_SCORE_PAIRS,
    LEADERBOARD_V2_TARGETS,
    LLAMA2_7B_FLOPS,
    OBSSCALING_BENCHMARKS,
    CapabilityConfig,
)
from obsscale.model.prediction.splits import (
    CutoffDate,
    CutoffFlops,
    CutoffRank,
    LeaveFamilyOut,
    Split,
)

POOL_SEED = "obsscale-pool-1"
HALVES = ("design", "confirmation")
#: changes of the method made after the confirmation half's results had been seen: each makes
#: that half design data for what it changed (the bench summary prints them)
CONFIRMATION_SEEN = (
    "The interval model's bootstrap term (half-width q·nested^a·bootstrap^b) was chosen on the "
    "design half's errors alone, but after the confirmation half's coverage had been reported "
    "(its 10th-percentile task at 0.584): the confirmation half's coverage and width rows are "
    "no longer a clean hold-out; its MSE rows are (the points did not change).",
)
DEFAULT_CHANCE = 0.0  # metrics without a fixed number of answer options
DATE_CUTOFF = "2024-06-01"
FRONTIER_CUTOFF = "2025-03-01"
TOP_FRACTION = 0.3  # rank split of the instruct targets: 27 models, so 5-6 tested
HUB_BASIS_SIZE = 8
# the other columns of the FrontierMath task (its public subset and tier 4): never in its basis
FRONTIERMATH_VERSIONS = (
    "FrontierMath Tier 1-3 (public)",
    "FrontierMath Tier 4",
    "FrontierMath Tier 4 (public)",
)

# the task (benchmark) of each column that can be in a factor basis, for leaving it out of the
# basis of the same task's targets
BASIS_TASKS = {
    "obsscaling:MMLU": "mmlu",
    "obsscaling:ARC-C": "arc",
    "obsscaling:HellaSwag": "hellaswag",
    "obsscaling:Winograd": "winogrande",
    "obsscaling:Winogrande": "winogrande",
    "obsscaling:TruthfulQA": "truthfulqa",
    "obsscaling:GSM8K": "gsm8k",
    "obsscaling:XWinograd": "xwinograd",
    "obsscaling:HumanEval": "humaneval",
    "openllm_v1:MMLU": "mmlu",
    "openllm_v1:ARC": "arc",
    "openllm_v1:HellaSwag": "hellaswag",
    "openllm_v1:Winogrande": "winogrande",
    "openllm_v1:TruthfulQA": "truthfulqa",
    "openllm_v1:GSM8K": "gsm8k",
}


@dataclass(frozen=True)
class PoolEntry:
    """One back-test of the pool: what is predicted, how it is split, its chance level, which
    models and factor basis (``curated``, ``all`` or ``hub``), and the task it measures."""

    task: str
    suite: str
    target: str
    split: Split
    chance: float = DEFAULT_CHANCE
    basis: str = "curated"

    @property
    def half(self) -> str:
        return half_of(self.task)


def half_of(task: str) -> str:
    """``design`` or ``confirmation``: the parity of sha256 of the seeded task name."""
    digest = hashlib.sha256(f"{POOL_SEED}:{task}".encode()).hexdigest()
    return HALVES[int(digest, 16) % 2]


def bbh_options() -> dict[str, int | None]:
    """BBH subtask -> number of answer options (None: a free-form answer)."""
    path = resources.files("obsscale.data.curated").joinpath("bbh_options.csv")
    rows = csv.DictReader(path.read_text("utf-8").splitlines())
    return {r["subtask"]: int(r["options"]) if r["options"] else None for r in rows}


def bbh_chance(subtask: str) -> float:
    """1 / options for a subtask with a fixed number of options, else the default."""
    options = bbh_options()[subtask]
    return 1.0 / options if options else DEFAULT_CHANCE


def _original_suite() -> list[PoolEntry]:
    """The 17 back-tests of the original accuracy suite, unchanged."""
    flops = CutoffFlops(LLAMA2_7B_FLOPS)
    v2_tasks = {"GPQA": "gpqa", "MATH Lvl 5": "math", "BBH": "bbh", "MMLU-PRO": "mmlu_pro"}
    out = [PoolEntry(BASIS_TASKS[b], "held-out curated", b, flops) for b in OBSSCALING_BENCHMARKS]
    out += [
        PoolEntry(
            v2_tasks[t.column.split(":", 1)[1]],
            "leaderboard v2",
            t.column,
            CutoffFlops(t.cutoff_flops),
            t.chance,
        )
        for t in LEADERBOARD_V2_TARGETS
    ]
    out += [
        PoolEntry(task, "leave one family out", t, LeaveFamilyOut(), c)
        for task, t, c in (("gsm8k", "obsscaling:GSM8K", 0.0), ("bbh", "openllm_v2:BBH", 0.2624))
    ]
    out += [
        PoolEntry(task, f"release date {DATE_CUTOFF}", t, CutoffDate(DATE_CUTOFF), c)
        for task, t, c in (
            ("gsm8k", "obsscaling:GSM8K", 0.0),
            ("gpqa", "openllm_v2:GPQA", 0.25),
            ("bbh", "openllm_v2:BBH", 0.2624),
        )
    ]
    return out


def _post_training() -> list[PoolEntry]:
    """The post-training table: each CoT BBH subtask and the overall score (flexible answer
    extraction, which reads the answer out of a chain of thought), and the GSM8K variants."""
    flops = CutoffFlops(LLAMA2_7B_FLOPS)
    prefix = "obsscaling_post:"
    out = [
        PoolEntry(
            f"bbh:{s}",
            "post-training BBH (CoT)",
            f"{prefix}bbh_cot_fewshot_{s}_3shot_flexible-extract",
            flops,
            bbh_chance(s),
        )
        for s in bbh_options()
    ]
    out.append(
        PoolEntry(
            "bbh",
            "post-training BBH (CoT)",
            f"{prefix}bbh_cot_fewshot_overall_3shot_flexible-extract",
            flops,
        )
    )
    variants = (
        "5shot_flexible-extract",
        "cot_8shot_flexible-extract",
        "cot_zeroshot_0shot_flexible-extract",
        "cot_self_consistency_8shot_maj@5-flexible-extract",  # majority of 5 sampled chains
    )
    out += [
        PoolEntry("gsm8k", "post-training GSM8K", f"{prefix}gsm8k_{v}", flops) for v in variants
    ]
    return out


def _leaderboards() -> list[PoolEntry]:
    """Leaderboard v1's six and v2's two other tasks on the curated base models (FLOPs cutoff),
    EvalPlus's four metrics on every model (rank split: few have known compute)."""
    flops = CutoffFlops(LLAMA2_7B_FLOPS)
    v1 = (
        ("ARC", "arc", 0.25),
        ("HellaSwag", "hellaswag", 0.25),
        ("MMLU", "mmlu", 0.25),
        ("TruthfulQA", "truthfulqa", 0.0),
        ("Winogrande", "winogrande", 0.5),
        ("GSM8K", "gsm8k", 0.0),
    )
    out = [PoolEntry(task, "leaderboard v1", f"openllm_v1:{t}", flops, c) for t, task, c in v1]
    out += [
        PoolEntry(t.lower(), "leaderboard v2", f"openllm_v2:{t}", flops) for t in ("IFEval", "MUSR")
    ]
    plus = (
        ("humaneval", "humaneval"),
        ("humaneval+", "humaneval"),
        ("mbpp", "mbpp"),
        ("mbpp+", "mbpp"),
    )
    out += [
        PoolEntry(task, "EvalPlus", f"evalplus:{t}", CutoffRank(TOP_FRACTION), basis="all")
        for t, task in plus
    ]
    return out


def _instruct_and_hub() -> list[PoolEntry]:
    """Instruction-tuned targets (rank split) and Epoch hub targets (release-date split: the
    frontier tasks at 2025-03-01, the older ones, whose models stop in 2024, at 2024-06-01)."""
    rank = CutoffRank(TOP_FRACTION)
    out = [
        PoolEntry("arena_elo", "instruct", "obsscaling:Arena-Elo", rank, basis="all"),
        PoolEntry("mt_bench", "instruct", "obsscaling:MTBench", rank, basis="all"),
    ]
    frontier = (
        ("GPQA Diamond", "gpqa", 0.25),
        ("MATH Level 5", "math", 0.0),
        ("OTIS Mock AIME 2024-2025", "aime", 0.0),
        ("FrontierMath Tier 1-3", "frontiermath", 0.0),
        ("Aider Polyglot", "aider", 0.0),
        ("WeirdML", "weirdml", 0.0),
        ("SimpleBench", "simplebench", 0.0),
    )
    out += [
        PoolEntry(
            task,
            f"hub, date {FRONTIER_CUTOFF}",
            f"epoch_hub:{t}",
            CutoffDate(FRONTIER_CUTOFF),
            c,
            "hub",
        )
        for t, task, c in frontier
    ]
    older = (("MMLU", "mmlu", 0.25), ("GSM8K", "gsm8k", 0.0))
    out += [
        PoolEntry(
            task, f"hub, date {DATE_CUTOFF}", f"epoch_hub:{t}", CutoffDate(DATE_CUTOFF), c, "hub"
        )
        for t, task, c in older
    ]
    return out


def task_pool(half: str | None = None) -> list[PoolEntry]:
    """Every entry of the pool (or one half's), in a fixed order."""
    pool = [*_original_suite(), *_post_training(), *_leaderboards(), *_instruct_and_hub()]
    return [e for e in pool if half is None or e.half == half]


def twins(entry: PoolEntry, columns: list[str]) -> tuple[tuple[str, str], ...]:
    """The default twin pairs plus every basis column of the entry's own task."""
    same = [c for c in columns if BASIS_TASKS.get(c) == entry.task or _hub_task(c) == entry.task]
    return (*DEFAULT_SCORE_PAIRS, *((c, entry.target) for c in same if c != entry.target))


def _hub_task(column: str) -> str | None:
    """The task of a hub column that is also in the pool (so that it leaves the basis)."""
    return _hub_tasks().get(column)


@cache
def _hub_tasks() -> dict[str, str]:
    """Hub column -> task, for the pool's hub targets and the other versions of their tasks."""
    tasks = {e.target: e.task for e in _instruct_and_hub() if e.basis == "hub"}
    return tasks | {f"epoch_hub:{v}": "frontiermath" for v in FRONTIERMATH_VERSIONS}


def settings_for(entry: PoolEntry, models: pd.DataFrame) -> CapabilityConfig:
    """The capability settings of an entry's basis."""
    if entry.basis == "curated":
        return CapabilityConfig()
    if entry.basis == "all":
        return CapabilityConfig(base_only=False)
    return CapabilityConfig(benchmarks=hub_basis(models, entry), n_components=2, base_only=False)


def hub_basis(models: pd.DataFrame, entry: PoolEntry) -> tuple[str, ...]:
    """The hub benchmarks most often observed alongside the target, without its own task."""
    cols = [
        c
        for c in models.columns
        if c.startswith("epoch_hub:") and c != entry.target and _hub_task(c) != entry.task
    ]
    with_target = models[models[entry.target].notna()]
    counts = with_target[cols].notna().sum().sort_values(ascending=False, kind="stable")
    return tuple(counts.index[:HUB_BASIS_SIZE])
