"""Settings of every stage as frozen dataclasses, each field declared once (type, default,
range, help: ``schema.setting``), so that a run is fully described by one ``Config`` value
(``run``) and can be recorded next to its outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from obsscale.config.schema import NonNegative, OpenFraction, Positive, Settings, setting

# Llama-2-7B's training compute (6 x 7B x 2T): the reference's default FLOPs cutoff
LLAMA2_7B_FLOPS = 8.4e22


@dataclass(frozen=True)
class NetworkConfig(Settings):
    """How hard fetch tries: per-request timeout and capped exponential backoff, a total
    deadline per download, how much smaller (in records) a new copy of an unpinned source may
    be than the good one it replaces, how long to wait for another run's data lock."""

    timeout: float = setting(30.0, gt=0, help="seconds per request")
    retries: int = setting(4, ge=0, le=100, help="retries of a failed request")
    backoff_factor: float = setting(0.5, ge=0, help="first backoff between retries (s)")
    backoff_max: float = setting(30.0, ge=0, help="longest backoff between retries (s)")
    chunk_size: int = setting(1 << 16, ge=1024, le=1 << 26, help="bytes read at a time")
    deadline: float = setting(
        600.0, gt=0, help="seconds per download from the first request, retries included"
    )
    retry_window: float = setting(
        30.0, ge=0, help="no retry starts later than this many seconds after the first request"
    )
    max_retry_after: float = setting(
        10.0, ge=0, help="a longer Retry-After (s) is cut to this: a dead upstream fails fast"
    )
    per_host: int = setting(4, ge=1, le=32, help="downloads at once from one host at most")
    shrink_guard: float = setting(
        0.5, ge=0, le=1, help="refuse a copy with fewer than this fraction of the old records"
    )
    lock_timeout: float = setting(600.0, ge=0, help="seconds to wait for another run's lock")


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
class AuditConfig(Settings):
    """Thresholds of the data-quality audit; each is a rule named in ``quality.csv``.

    Chinchilla-style training sits near 20 tokens/parameter and modern small models reach
    ~10,000 (H2O-Danube3-500M: 4T tokens); below 1 or above 20,000 is outside anything
    published, so it is flagged.
    """

    flops_rel_tol: float = setting(0.10, ge=0, help="allowed |flops - 6ND| / 6ND")
    min_tokens_per_param: float = setting(
        1.0, gt=0, help="fewer training tokens per parameter is flagged"
    )
    max_tokens_per_param: float = setting(
        20000.0, gt=0, help="more tokens per parameter is flagged"
    )
    params_rel_tol: float = setting(0.25, ge=0, help="allowed disagreement of two sources' sizes")
    score_abs_tol: float = setting(
        0.10, ge=0, le=1, help="allowed gap of one benchmark's two sources (fraction scale)"
    )
    flops_ratio_tol: float = setting(3.0, ge=1, help="allowed ratio of curated to Epoch compute")
    score_pairs: tuple[tuple[str, str], ...] = setting(
        DEFAULT_SCORE_PAIRS, help="the same benchmark from two sources, compared by the audit"
    )


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


# The paper's basis for instruction-tuned models: their tables report Winogrande (not Winograd)
# and no XWinograd. Leaderboard v1's six tasks serve the thousands of models it evaluated.
INSTRUCT_BENCHMARKS: tuple[str, ...] = tuple(
    f"obsscaling:{b}"
    for b in ("MMLU", "ARC-C", "HellaSwag", "Winogrande", "TruthfulQA", "GSM8K", "HumanEval")
)
OPENLLM_V1_BENCHMARKS: tuple[str, ...] = tuple(
    f"openllm_v1:{b}" for b in ("MMLU", "ARC", "HellaSwag", "Winogrande", "TruthfulQA", "GSM8K")
)


@dataclass(frozen=True)
class CapabilityConfig(Settings):
    """Defaults of the capability model, as in the paper's public implementation.

    Imputation: rank-1 PCA on standardized scores, clipped to [0, 1]; PCA on the imputed,
    unstandardized scores; equivalent FLOPs on the Llama-2 scale. Where the models with a
    target lack the default basis (instruct models have Winogrande, not Winograd), a fallback
    basis observed in a larger share of their cells, by at least ``basis_margin``, replaces it.
    Only the default basis is ever replaced.
    """

    benchmarks: tuple[str, ...] = setting(
        OBSSCALING_BENCHMARKS, min_length=1, help="score columns forming the factor basis"
    )
    n_components: int = setting(3, ge=1, le=100, help="number of capability factors (PCs)")
    impute_components: int = setting(1, ge=1, le=100, help="rank of the PCA imputation")
    standardize: bool = setting(False, help="PCA on standardized scores (the paper: raw)")
    max_iter: int = setting(1000, ge=1, help="iterations of the imputation at most")
    tol: float = setting(
        1e-6, gt=0, help="RMS change of the imputed (standardized) entries that stops it"
    )
    clip: tuple[float, float] = setting((0.0, 1.0), help="imputed scores are clipped to this")
    reference_family: str = setting(
        "Llama-2", min_length=1, help="family whose compute scale defines equivalent FLOPs"
    )
    min_family_models: int = setting(2, ge=2, help="models a family needs for its own line")
    base_only: bool = setting(True, help="base models only (no fine-tuned/instruct models)")
    alpha: float = setting(
        0.05, gt=0, lt=1, help="the family lines' intervals have confidence 1 - alpha"
    )
    basis_fallbacks: tuple[tuple[str, ...], ...] = setting(
        (INSTRUCT_BENCHMARKS, OPENLLM_V1_BENCHMARKS),
        help="bases that replace the default one where its columns are missing",
    )
    basis_margin: float = setting(
        0.1, ge=0, le=1, help="share of cells by which a fallback basis must be better observed"
    )


@dataclass(frozen=True)
class PredictConfig(Settings):
    """Defaults of the downstream predictor (``obsscale predict``).

    The reference's own analyses use a plain sigmoid on the chance-normalised target, fitted by
    least squares; the floor ("parametric") form and Huber loss are options. Intervals come from
    a seeded bootstrap over training models. That is ``method = "paper"``; the default,
    ``"obsscale"``, chooses and weights inputs and link forms by nested back-tests and
    calibrates its intervals on them (lower test MSE and calibrated coverage in the bench's
    accuracy suite). The settings from ``inner_quantiles`` on are the default method's only.
    """

    # former names still read (with a warning) from TOML files and run records: "alphas" was
    # the ridge penalties, while "alpha" elsewhere is an interval's level
    RENAMED: ClassVar[dict[str, str]] = {"alphas": "ridges"}

    method: Literal["obsscale", "paper"] = setting(
        "obsscale",
        help="obsscale: inputs and link chosen and weighted by nested back-tests, intervals "
        "calibrated on them; paper: the paper's factor predictor with bootstrap intervals, "
        "exactly as the reference",
    )
    form: Literal["sigmoid", "parametric"] = setting(
        "sigmoid",
        help="link: sigmoid, or parametric: y = (1 - b) sigmoid(z) + b, b in [0, floor_max]",
    )
    loss: Literal["squared", "huber"] = setting("squared", help="loss of the link's fit")
    huber_delta: float = setting(0.1, gt=0, help="Huber loss: where it turns linear")
    floor_max: float = setting(0.2, ge=0, lt=1, help="parametric form: largest floor b")
    n_starts: int = setting(
        8, ge=0, le=1000, help="random restarts besides the logit-linear and near-zero starts"
    )
    n_bootstrap: int = setting(200, ge=1, le=100_000, help="bootstrap resamples")
    interval: float = setting(0.90, gt=0, lt=1, help="level of the prediction intervals")
    random_state: int = setting(0, ge=0, le=2**32 - 1, help="random seed")
    cutoff_flops: float = setting(
        LLAMA2_7B_FLOPS, gt=0, help="split: train on models with FLOPs <= this, test above"
    )
    kfold: int = setting(5, ge=2, le=1000, help="folds of a random K-fold split")
    extrapolate_decades: float = setting(
        1.5,
        ge=0,
        help="how far (decades of FLOPs) the capability curve runs past the largest model",
    )
    inner_quantiles: tuple[OpenFraction, ...] = setting(
        (0.6, 0.7, 0.8, 0.9),
        min_length=1,
        help="nested FLOPs cutoffs (quantiles of the training models' FLOPs) that rank the "
        "candidates: high ones, so that each inner fit sees most of the training models",
    )
    ridges: tuple[NonNegative, ...] = setting(
        (0.0,), min_length=1, help="ridge penalties tried (on standardized weights)"
    )
    n_members: int = setting(4, ge=1, le=20, help="how many of the best candidates are averaged")
    ceiling_min: float = setting(0.5, ge=0, le=1, help="lowest ceiling a fitted link may have")
    anchor_weight: float = setting(
        0.1,
        ge=0,
        le=1,
        help="share of the ensemble's weight kept on the paper's predictor (3 factors, "
        "sigmoid) whatever the noisy inner back-tests say",
    )
    candidate_floor_max: float = setting(
        0.5, ge=0, lt=1, help="floor bound of the candidate link with a floor"
    )
    flat_side: Literal["hedge", "paper"] = setting(
        "hedge",
        help="default method, where the nested back-tests see no signal (a task flat at "
        "chance below the cutoff): hedge: log-FLOPs takes at least half of the factor "
        "predictor's weight (on the bench's flat BBH subtasks compute predicted the jump "
        "better); paper: the paper's inputs and form alone (for a task whose jump should "
        "follow the capability factors); wide intervals either way",
    )
    scale: Literal["auto", "fraction", "percent", "ten"] = setting(
        "auto",
        help="scale of the target: fraction (0-1), percent (0-100), ten (0-10), or auto "
        "(fraction if at most 1, percent if in (10, 100]; (1, 10] is refused)",
    )


@dataclass(frozen=True)
class ForecastConfig(Settings):
    """Forecasts of models not yet built: how far past a family's largest model a forecast may
    go before it is flagged, and what the report forecasts."""

    max_extrapolation_decades: float = setting(
        1.5,
        ge=0,
        help="decades of FLOPs past a family's largest model before a forecast is flagged",
    )
    grid_flops: tuple[Positive, ...] = setting(
        (1e23, 1e24, 1e25, 1e26), help="reference-equivalent compute the report forecasts at"
    )
    next_multipliers: tuple[Positive, ...] = setting(
        (3.0, 10.0), help="a family's next model's compute as multiples of its largest"
    )
    recent_families: int = setting(5, ge=0, le=100, help="families the report forecasts")


@dataclass(frozen=True)
class FrontierConfig(Settings):
    """The report's frontier section (Epoch Benchmarking Hub): which hub benchmarks get curves
    and forecasts, the rank of the hub factors, how many seeded resamples of the models test
    their loadings, how far past the newest model the date trend is forecast, and how many of
    the newest models get their missing scores completed."""

    targets: tuple[str, ...] = setting(
        (
            "GPQA Diamond",
            "MATH Level 5",
            "OTIS Mock AIME 2024-2025",
            "FrontierMath Tier 1-3",
            "SWE-bench Verified",
        ),
        help="hub benchmarks with curves and forecasts",
    )
    min_points: int = setting(15, ge=3, le=100_000, help="dated models a benchmark needs")
    min_compute_points: int = setting(
        8, ge=3, le=100_000, help="models of known compute a sigmoid in compute needs"
    )
    rank: int = setting(2, ge=1, le=10, help="rank of the hub factors")
    n_boot: int = setting(20, ge=2, le=1000, help="seeded resamples testing the loadings")
    horizons_months: tuple[Positive, ...] = setting(
        (6.0, 12.0), help="months past the newest model the date trend is forecast"
    )
    recent_models: int = setting(8, ge=0, le=1000, help="newest models whose scores are completed")
    random_state: int = setting(0, ge=0, le=2**32 - 1, help="random seed")


@dataclass(frozen=True)
class ReportTarget(Settings):
    """A downstream target drawn in the report, with its chance level and FLOPs cutoff."""

    column: str = setting(
        min_length=1, help="a score column of models.csv, such as 'obsscaling:MMLU'"
    )
    chance: float = setting(0.0, ge=0, lt=1, help="chance level: fit (y - c) / (1 - c)")
    cutoff_flops: float = setting(
        LLAMA2_7B_FLOPS, gt=0, help="back-test: train on models with FLOPs <= this"
    )


# The reference's Leaderboard-v2 tasks (chance: 4-way GPQA; BBH's mean over its 27 subtasks;
# MMLU-PRO has 10 options) and the held-out GSM8K; cutoffs as in the reference.
LEADERBOARD_V2_TARGETS: tuple[ReportTarget, ...] = (
    ReportTarget("openllm_v2:GPQA", 0.25, 1.68e23),
    ReportTarget("openllm_v2:MATH Lvl 5", 0.0, 2.52e23),
    ReportTarget("openllm_v2:BBH", 0.2624, LLAMA2_7B_FLOPS),
    ReportTarget("openllm_v2:MMLU-PRO", 0.1, LLAMA2_7B_FLOPS),
)
DEFAULT_REPORT_TARGETS: tuple[ReportTarget, ...] = (
    *LEADERBOARD_V2_TARGETS,
    ReportTarget("obsscaling:GSM8K", 0.0, LLAMA2_7B_FLOPS),
)


@dataclass(frozen=True)
class ReportConfig(Settings):
    targets: tuple[ReportTarget, ...] = setting(
        DEFAULT_REPORT_TARGETS, help="the targets fit back-tests and the report draws"
    )
    dpi: int = setting(110, ge=20, le=1200, help="resolution of the report's figures")

    def target(self, column: str) -> ReportTarget:
        """The configured target of that column, or chance 0 and the default cutoff."""
        for t in self.targets:
            if t.column == column:
                return t
        return ReportTarget(column)


def default_target(column: str) -> ReportTarget:
    """The default settings' target of that column (its chance level and cutoff): one source of
    per-target defaults for the Python API and the CLI."""
    for t in DEFAULT_REPORT_TARGETS:
        if t.column == column:
            return t
    return ReportTarget(column)
