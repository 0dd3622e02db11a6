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
_OBSSCALING = (
    f"https://raw.githubusercontent.com/ryoungj/ObsScaling/{OBSSCALING_COMMIT}/eval_results/"
)
_LEADERBOARD = (
    f"https://raw.githubusercontent.com/fboulnois/llm-leaderboard-csv/{LEADERBOARD_COMMIT}/csv/"
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
)


def resolve_url(url: str, mirror: str | None) -> str:
    """Rewrite ``https://H/P`` to ``MIRROR/H/P`` so every source can be served from a mirror."""
    if not mirror:
        return url
    m = re.match(r"^https?://(.+)$", url)
    if not m:
        raise ValueError(f"cannot mirror non-HTTP URL {url!r}")
    return mirror.rstrip("/") + "/" + m.group(1)
