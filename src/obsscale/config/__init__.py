"""The one place where obsscale's settings live.

Sources, paths, network behaviour and the quality-audit thresholds are all declared here as
frozen dataclasses, so that a run is fully described by one ``Config`` value (and can be
recorded next to its outputs). Nothing else in the package hard-codes a URL or a threshold.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

MIRROR_ENV = "OBSSCALE_MIRROR"

OBSSCALING_COMMIT = "4d6e1e43fd2635d04654aa77d1df9d5266ea0382"
LEADERBOARD_COMMIT = "0f4e5c69c6fb6515afa31ae61f4d699649bc9503"
_OBSSCALING = (
    f"https://raw.githubusercontent.com/ryoungj/ObsScaling/{OBSSCALING_COMMIT}/eval_results/"
)
_LEADERBOARD = (
    f"https://raw.githubusercontent.com/fboulnois/llm-leaderboard-csv/{LEADERBOARD_COMMIT}/csv/"
)

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
            *(
                f"evaluations_{k}_value"
                for k in ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")
            ),
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


@dataclass(frozen=True)
class NetworkConfig:
    """How hard fetch tries: per-request timeout (s) and capped exponential backoff."""

    timeout: float = 30.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    chunk_size: int = 1 << 16


_CURATED = ("obsscaling_base", "obsscaling_sub10b", "obsscaling_instruct")

# Which source wins when several give the same field (first listed wins; "rules" is the family
# rule set, "6ND" the computed compute). Score columns are owned by one source prefix each, so for
# them the order of ``sources`` decides (only the ObsScaling base and sub-10B files overlap).
DEFAULT_PRECEDENCE: dict[str, tuple[str, ...]] = {
    "family": (*_CURATED, "rules"),
    "params_b": (*_CURATED, "openllm_v2", "epoch", "evalplus"),
    "tokens_t": _CURATED,
    "flops": (*_CURATED, "epoch"),
    "release_date": ("epoch", "openllm_v2"),
    "is_base": (*_CURATED, "openllm_v2", "openllm_v1"),
    "base_model": ("openllm_v2",),
}

# The same benchmark measured by two sources (harness versions differ): compared by the audit.
DEFAULT_SCORE_PAIRS: tuple[tuple[str, str], ...] = (
    ("obsscaling:MMLU", "openllm_v1:MMLU"),
    ("obsscaling:ARC-C", "openllm_v1:ARC"),
    ("obsscaling:HellaSwag", "openllm_v1:HellaSwag"),
    ("obsscaling:TruthfulQA", "openllm_v1:TruthfulQA"),
    ("obsscaling:Winograd", "openllm_v1:Winogrande"),
    ("obsscaling:GSM8K", "openllm_v1:GSM8K"),
    ("obsscaling:HumanEval", "evalplus:humaneval"),
)


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds of the data-quality audit; each is a rule named in ``quality.csv``.

    Chinchilla-style training sits near 20 tokens/parameter and modern small models reach
    ~10,000 (H2O-Danube3-500M: 4T tokens); below 1 or above 20,000 is outside anything
    published, so it is flagged.
    """

    flops_rel_tol: float = 0.10  # |flops - 6ND| / 6ND
    min_tokens_per_param: float = 1.0
    max_tokens_per_param: float = 20000.0
    params_rel_tol: float = 0.25  # disagreement between sources
    score_abs_tol: float = 0.10  # same benchmark, two sources, fraction scale
    flops_ratio_tol: float = 3.0  # curated vs Epoch training compute
    score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS


OBSSCALING_BENCHMARKS: tuple[str, ...] = tuple(
    f"obsscaling:{b}"
    for b in (
        "MMLU",
        "ARC-C",
        "HellaSwag",
        "Winograd",
        "TruthfulQA",
        "GSM8K",
        "XWinograd",
        "HumanEval",
    )
)


@dataclass(frozen=True)
class CapabilityConfig:
    """Defaults of the capability model, as in the paper's public implementation.

    Imputation: rank-1 PCA on standardized scores, clipped to [0, 1]; PCA on the imputed,
    unstandardized scores; equivalent FLOPs on the Llama-2 scale.
    """

    benchmarks: tuple[str, ...] = OBSSCALING_BENCHMARKS
    n_components: int = 3
    impute_components: int = 1
    standardize: bool = False
    max_iter: int = 1000
    tol: float = 1e-6  # max change of any imputed (standardized) entry between iterations
    clip: tuple[float, float] = (0.0, 1.0)
    reference_family: str = "Llama-2"
    min_family_models: int = 2
    base_only: bool = True
    alpha: float = 0.05  # confidence level of the regression intervals is 1 - alpha


@dataclass(frozen=True)
class PredictConfig:
    """Defaults of the downstream predictor (``obsscale predict``).

    The reference's own analyses use a plain sigmoid on the chance-normalised target, fitted by
    least squares; the floor ("parametric") form and Huber loss are options. Intervals come from
    a seeded bootstrap over training models.
    """

    form: str = "sigmoid"  # or "parametric": y = (1 - b) sigmoid(z) + b, b in [0, floor_max]
    loss: str = "squared"  # or "huber"
    huber_delta: float = 0.1
    floor_max: float = 0.2
    n_starts: int = 8  # random restarts besides the logit-linear and near-zero starts
    n_bootstrap: int = 200
    interval: float = 0.90
    random_state: int = 0
    cutoff_flops: float = 8.4e22  # Llama-2-7B: the reference's default cutoff
    kfold: int = 5
    extrapolate_decades: float = 1.5  # how far the capability curve runs past the largest model


@dataclass(frozen=True)
class ReportTarget:
    """A downstream target drawn in the report, with its chance level and FLOPs cutoff."""

    column: str
    chance: float = 0.0
    cutoff_flops: float = 8.4e22


# The reference's Leaderboard-v2 tasks (chance: 4-way GPQA; BBH's mean over its 27 subtasks;
# MMLU-PRO has 10 options) and the held-out GSM8K; cutoffs as in the reference.
DEFAULT_REPORT_TARGETS: tuple[ReportTarget, ...] = (
    ReportTarget("openllm_v2:GPQA", 0.25, 1.68e23),
    ReportTarget("openllm_v2:MATH Lvl 5", 0.0, 2.52e23),
    ReportTarget("openllm_v2:BBH", 0.2624, 8.4e22),
    ReportTarget("openllm_v2:MMLU-PRO", 0.1, 8.4e22),
    ReportTarget("obsscaling:GSM8K", 0.0, 8.4e22),
)


@dataclass(frozen=True)
class ReportConfig:
    targets: tuple[ReportTarget, ...] = DEFAULT_REPORT_TARGETS
    dpi: int = 110

    def target(self, column: str) -> ReportTarget:
        """The configured target of that column, or chance 0 and the default cutoff."""
        for t in self.targets:
            if t.column == column:
                return t
        return ReportTarget(column)


@dataclass(frozen=True)
class Config:
    """A whole run's settings. ``with_overrides`` gives a modified copy."""

    data_dir: Path = Path("data")
    mirror: str | None = None
    sources: tuple[Source, ...] = DEFAULT_SOURCES
    network: NetworkConfig = field(default_factory=NetworkConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    capabilities: CapabilityConfig = field(default_factory=CapabilityConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    include_flagged: bool = False
    include_merged: bool = False
    precedence: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PRECEDENCE))
    # Hand-curated corrections: DATA_DIR/corrections.csv if present, else the packaged file.
    corrections_file: Path | None = None
    apply_corrections: bool = True

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def manifest_path(self) -> Path:
        return self.raw_dir / "manifest.json"

    def raw_path(self, source: Source) -> Path:
        return self.raw_dir / source.name / source.filename

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources)
        raise KeyError(f"unknown source {name!r}; known sources: {known}")

    def with_overrides(self, **kwargs: object) -> Config:
        return replace(self, **kwargs)  # type: ignore[arg-type]


def default_config(data_dir: str | Path | None = None, mirror: str | None = None) -> Config:
    """The default configuration, with the mirror taken from ``$OBSSCALE_MIRROR`` if unset."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    return Config(data_dir=Path(data_dir) if data_dir else Path("data"), mirror=mirror)


def load_config_file(path: str | Path, config: Config) -> Config:
    """Override settings from a TOML file with [capabilities], [predict], [audit], [network]
    and [report] tables (``[[report.targets]]`` entries: column, chance, cutoff_flops)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read config ({e})") from e
    sections = {
        "capabilities": config.capabilities,
        "predict": config.predict,
        "audit": config.audit,
        "network": config.network,
    }
    changes: dict[str, object] = {}
    for name, table in data.items():
        if name == "report":
            entries = table.get("targets", [])
            targets = tuple(
                _typed(ReportTarget(column=""), t, f"{path}: [[report.targets]] entry {i + 1}")
                for i, t in enumerate(entries)
            )
            extra = {k: v for k, v in table.items() if k != "targets"}
            report = _typed(config.report, extra, f"{path}: [report]")
            changes["report"] = replace(report, **({"targets": targets} if targets else {}))
        elif name in sections:
            changes[name] = _typed(sections[name], table, f"{path}: [{name}]")
        else:
            raise ValueError(
                f"{path}: unknown section [{name}]; known: {sorted([*sections, 'report'])}"
            )
    return replace(config, **changes)


def _typed(current: Any, table: dict[str, Any], where: str) -> Any:
    """``current`` with the table's values, each checked against the type of its default."""
    known = {f.name: getattr(current, f.name) for f in fields(current)}
    unknown = set(table) - set(known)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    values = {}
    for key, value in table.items():
        default = known[key]
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise ValueError(f"{where}: {key} must be a list, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{where}: {key} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}: {key} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(value, int):
                raise ValueError(f"{where}: {key} must be a whole number, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, got {value!r}")
        values[key] = value
    return replace(current, **values)


def resolve_url(url: str, mirror: str | None) -> str:
    """Rewrite ``https://H/P`` to ``MIRROR/H/P`` so every source can be served from a mirror."""
    if not mirror:
        return url
    m = re.match(r"^https?://(.+)$", url)
    if not m:
        raise ValueError(f"cannot mirror non-HTTP URL {url!r}")
    return mirror.rstrip("/") + "/" + m.group(1)
