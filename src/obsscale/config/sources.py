"""Where the data comes from: one ``Source`` per upstream file, and the mirror rewrite.

Sources are configuration, not code: adding one is an entry here plus a parser. Every URL can
be redirected to a mirror base URL (``https://H/P`` -> ``MIRROR/H/P``) so that tests and
offline machines fetch the same bytes from a loopback copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from obsscale.exceptions import ConfigError

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
_COMMIT_RE = re.compile(r"/[0-9a-f]{40}/")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_MIRROR_RE = re.compile(r"^https?://[^/\s:]+(:\d+)?(/\S*)?$")


@dataclass(frozen=True)
class Source:
    """One upstream file: where it lives, how to check it, and which parser reads it.

    ``name`` is both the key in the manifest and the file's folder under ``raw/``; it is a
    config identifier (never an upstream string), so it is safe as a path component.
    ``required`` lists columns (CSV) or keys (JSON) whose absence means the format changed.
    A URL pinned to a commit (a 40-hex path segment) names one exact file, so it must carry
    that file's ``sha256``: anything else (a body cut at a record boundary, an altered copy)
    is refused by fetch. Unpinned (live) sources have no hash; the shrink guard protects them.
    """

    name: str
    url: str
    parser: str
    kind: str = "csv"  # "csv" or "json"
    required: tuple[str, ...] = ()
    min_rows: int = 1
    sha256: str | None = None

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"source name {self.name!r} must match {_NAME_RE.pattern}")
        if self.kind not in ("csv", "json"):
            raise ValueError(f"source {self.name}: kind must be 'csv' or 'json', not {self.kind!r}")
        if self.sha256 is not None and not _SHA256_RE.match(self.sha256):
            raise ValueError(f"source {self.name}: sha256 must be 64 lower-case hex digits")
        if self.pinned and self.sha256 is None:
            raise ValueError(
                f"source {self.name}: {self.url} is pinned to a commit, so it needs the "
                "file's sha256 (sha256sum of a good copy)"
            )

    @property
    def pinned(self) -> bool:
        """Whether the URL names one commit's file (so that its bytes never change)."""
        return bool(_COMMIT_RE.search(self.url))

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
        sha256="511996815735a4c46251dc585dcc525e370d148201f86561e6f927f9df2d0db8",
    ),
    Source(
        "obsscaling_sub10b",
        _OBSSCALING + "base_llm_benchmark_eval_sub_10b.csv",
        "obsscaling",
        required=_OBS_COLUMNS,
        min_rows=10,
        sha256="6a5fe6143b1fd86c2c10368de05e204c89ab6652b0f7e97c4965c37bff360d1d",
    ),
    Source(
        "obsscaling_instruct",
        _OBSSCALING + "instruct_llm_benchmark_eval.csv",
        "obsscaling_instruct",
        required=_OBS_COLUMNS,
        min_rows=5,
        sha256="9bc50f327f4e436b15a6d6e3edb8b4837e726b295a1c72d44fadb9c9d25a75ba",
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
        sha256="d8f1d5480ea3086a4b640e45eae5837464ee8d61815c202ad0dc1a616c5e5b40",
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
        sha256="47b36fd5731d66e431b8c5bc2f099d46c849e790a4ad380bb6618889d07a43de",
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
    if not _MIRROR_RE.match(mirror):
        raise ConfigError(
            f"mirror URL {mirror!r} (--mirror or ${MIRROR_ENV}) is not a URL: a mirror URL "
            "looks like http://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8765, and serves "
            "https://H/P as MIRROR/H/P"
        )
    m = re.match(r"^https?://(.+)$", url)
    if not m:
        raise ValueError(f"cannot mirror non-HTTP URL {url!r}")
    return mirror.rstrip("/") + "/" + m.group(1)
