"""Where the data comes from: one ``Source`` per upstream file, and the mirror rewrite.

Sources are configuration, not code: adding one is an entry here plus a parser. Every URL can
be redirected to a mirror base URL (``https://H/P`` -> ``MIRROR/H/P``) so that tests and
offline machines fetch the same bytes from a loopback copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIRROR_ENV = "OBSSCALE_MIRROR"

OBSSCALING_COMMIT = "4d6e1e43fd2635d04654aa77d1df9d5266ea0382"
LEADERBOARD_COMMIT = "0f4e5c69c6fb6515afa31ae61f4d699649bc9503"
EPOCH_HUB_COMMIT = "f87d3cc8e8a8f8471be475ebce58fb9a73b4e756"
_OBSSCALING = (
    f"https://raw.githubusercontent.com/ryoungj/ObsScaling/{OBSSCALING_COMMIT}/eval_results/"
)
_LEADERBOARD = (
    f"https://raw.githubusercontent.com/fboulnois/llm-leaderboard-csv/{LEADERBOARD_COMMIT}/csv/"
)
_EPOCH_HUB = (
    f"https://raw.githubusercontent.com/epoch-research/benchmark-stitching/{EPOCH_HUB_COMMIT}/data/"
)

# Leaderboard v2's tasks: the table's key -> the display name of the score column
V2_TASKS = {
    "ifeval": "IFEval",
    "bbh": "BBH",
    "math": "MATH Lvl 5",
    "gpqa": "GPQA",
    "musr": "MUSR",
    "mmlu_pro": "MMLU-PRO",
}

_NAME_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Source:
    """One upstream file: where it lives, how to check it, and which parser reads it.

    ``name`` is both the key in the manifest and the file's folder under ``raw/``; it is a
    config identifier (never an upstream string), so it is safe as a path component.
    ``required`` lists columns (CSV) or keys (JSON) whose absence means the format changed.
    """

    name: str
    url: str
    parser: str
    kind: str = "csv"  # "csv" or "json"
    required: tuple[str, ...] = ()
    min_rows: int = 1
    # the file's last record ends with a line break (a missing one then means truncation);
    # the Epoch hub's files end without one, so only the length and CSV checks apply there
    terminated: bool = True

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"source name {self.name!r} must match {_NAME_RE.pattern}")
        if self.kind not in ("csv", "json"):
            raise ValueError(f"source {self.name}: kind must be 'csv' or 'json', not {self.kind!r}")

    @property
    def filename(self) -> str:
        """Local file name: the URL's last path segment, reduced to safe characters."""
        base = self.url.rstrip("/").rsplit("/", 1)[-1]
        return re.sub(r"[^A-Za-z0-9._-]", "_", base) or "download"


_OBS_COLUMNS = (
    "Model",
    "Model Family",
    "Model Size (B)",
    "Pretraining Data Size (T)",
    "FLOPs (1E21)",
)

# Epoch AI's Benchmarking Hub: which ``external_benchmark_<table>.csv`` files to download. How
# each is read (score column, scale, display name, or why it is skipped) is declared per table
# in ``obsscale/data/curated/hub.toml``; all of them share one parser.
EPOCH_HUB_TABLES: tuple[str, ...] = (
    "aider_polyglot", "anli", "arc_agi", "arc_ai2", "balrog", "bbh", "boolq", "cadeval",
    "csqa2", "cybench", "deepresearch", "factorio_learning_environment", "fictionlivebench",
    "geobench", "gsm8k", "gso_bench", "hellaswag", "lambada", "lech_mazur_writing", "livebench",
    "mcbench", "metr", "mmlu", "openbookqa", "os_world", "osuniverse", "piqa", "scienceqa",
    "simple_bench", "superglue", "terminal_bench", "the_agent_company", "triviaqa", "videomme",
    "vpct", "weirdml", "winogrande",
)  # fmt: skip

EPOCH_HUB_SOURCES: tuple[Source, ...] = (
    Source(
        "epoch_hub_runs",
        _EPOCH_HUB + "benchmarks_runs.csv",
        "epoch_hub_runs",
        required=("model", "task", "Best score (across scorers)"),
        min_rows=10,
        terminated=False,
    ),
    *(
        Source(
            f"epoch_hub_{t}",
            _EPOCH_HUB + f"external_benchmark_{t}.csv",
            "epoch_hub_external",
            required=("Model version",),
            terminated=False,
        )
        for t in EPOCH_HUB_TABLES
    ),
    Source(
        "epoch_hub_versions",
        _EPOCH_HUB + "model_versions.csv",
        "epoch_hub_versions",
        required=("id", "Model", "Version release date", "Hugging Face developer id"),
        min_rows=10,
        terminated=False,
    ),
)

DEFAULT_SOURCES: tuple[Source, ...] = (
    Source(
        "obsscaling_base",
        _OBSSCALING + "base_llm_benchmark_eval.csv",
        "obsscaling",
        required=_OBS_COLUMNS,
        min_rows=10,
    ),
    Source(
        "obsscaling_sub10b",
        _OBSSCALING + "base_llm_benchmark_eval_sub_10b.csv",
        "obsscaling",
        required=_OBS_COLUMNS,
        min_rows=10,
    ),
    Source(
        "obsscaling_instruct",
        _OBSSCALING + "instruct_llm_benchmark_eval.csv",
        "obsscaling_instruct",
        required=_OBS_COLUMNS,
        min_rows=5,
    ),
    Source(
        "openllm_v1",
        _LEADERBOARD + "huggingface_v1.csv",
        "openllm_v1",
        required=(
            "fullname",
            "arc",
            "hellaswag",
            "mmlu",
            "truthfulqa",
            "winogrande",
            "gsm8k",
            "type",
            "precision",
            "merged",
            "flagged",
            "params_b",
            "date",
        ),
        min_rows=100,
    ),
    Source(
        "openllm_v2",
        _LEADERBOARD + "huggingface_v2.csv",
        "openllm_v2",
        required=(
            "model_name",
            "model_precision",
            "model_type",
            "model_weight_type",
            "model_has_chat_template",
            "features_is_merged",
            "features_is_flagged",
            "metadata_upload_date",
            "metadata_submission_date",
            "metadata_base_model",
            "metadata_params_billions",
            *(f"evaluations_{k}_value" for k in V2_TASKS),
        ),
        min_rows=100,
    ),
    Source(
        "epoch",
        "https://epoch.ai/data/notable_ai_models.csv",
        "epoch",
        required=("Model", "Publication date", "Parameters", "Training compute (FLOP)"),
        min_rows=100,
    ),
    Source(
        "evalplus", "https://evalplus.github.io/results.json", "evalplus", kind="json", min_rows=10
    ),
    *EPOCH_HUB_SOURCES,
)


def resolve_url(url: str, mirror: str | None) -> str:
    """Rewrite ``https://H/P`` to ``MIRROR/H/P`` so every source can be served from a mirror."""
    if not mirror:
        return url
    m = re.match(r"^https?://(.+)$", url)
    if not m:
        raise ValueError(f"cannot mirror non-HTTP URL {url!r}")
    return mirror.rstrip("/") + "/" + m.group(1)
