"""Which benchmarks to run next: optimal design over benchmarks (``obsscale select
--benchmarks-for MODEL``).

A model with few scores (or none) can afford a few more runs; the runs worth making are those
whose results make the completion of the other benchmarks most precise. Any completion model
that is linear-Gaussian on the logit scale serves (``BenchmarkLoadings``: the rank-k logit PCA
of the hub matrix today, the biased logit ALS later, a per-model bias being one more factor
with loading 1)::

    logit y_mj = b_j + w_j · f_m + e_mj,   f_m ~ N(mu, Sigma),   e_mj ~ N(0, s_j²)

with the prior ``N(mu, Sigma)`` the population of models' factors. Revealing benchmark j adds
``w_j w_jᵀ / s_j²`` to the factors' posterior precision (a rank-one update), so the design is
the Bayesian version of the model-subset selection (``selection``): V-optimality minimises the
mean predictive variance of *the rest* (the benchmarks neither observed nor chosen: a revealed
score is known, an unrevealed one predicted), in points (the variance of ``100 expit(z)`` around
the current prediction, by quadrature) or on the logit scale; D-optimality maximises the log
det of the posterior precision. Greedy (each step the benchmark that lowers the criterion
most; ties go to the earlier benchmark, so it is deterministic); the greedy order is the value
order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit

from obsscale.data import store
from obsscale.exceptions import SelectionError
from obsscale.model.design.selection import Criterion

if TYPE_CHECKING:
    from statsmodels.iolib.summary2 import Summary

N_REASONS = 3


class BenchmarkLoadings(Protocol):
    """What the design needs of a completion model, on the logit scale: per benchmark a bias
    (p), loadings (p x k) and a residual variance (p); the factors' prior over models (k, k x k)."""

    @property
    def benchmarks(self) -> list[str]: ...
    @property
    def bias(self) -> np.ndarray: ...
    @property
    def loadings(self) -> np.ndarray: ...
    @property
    def noise(self) -> np.ndarray: ...
    @property
    def prior_mean(self) -> np.ndarray: ...
    @property
    def prior_cov(self) -> np.ndarray: ...
    def to_link(self, fractions: np.ndarray) -> np.ndarray:
        """Scores (fractions) on the model's logit scale, clipped as its fit clipped them."""
        ...


def posterior(
    model: BenchmarkLoadings, revealed: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The factors' posterior mean and covariance given logit scores ``values`` on the
    benchmarks ``revealed`` (indices); the prior when none is revealed."""
    mu, Sigma = model.prior_mean, model.prior_cov
    if len(revealed) == 0:
        return mu, Sigma
    W = model.loadings[revealed]
    S = W @ Sigma @ W.T + np.diag(model.noise[revealed])
    gain = np.linalg.solve(S, W @ Sigma).T  # Sigma Wᵀ S⁻¹
    mean = mu + gain @ (values - model.bias[revealed] - W @ mu)
    return mean, Sigma - gain @ W @ Sigma


def predict(model: BenchmarkLoadings, mean: np.ndarray) -> np.ndarray:
    """Every benchmark's predicted fraction at the factors ``mean``."""
    return np.asarray(expit(model.bias + model.loadings @ mean))


def predictive_variance(model: BenchmarkLoadings, cov: np.ndarray) -> np.ndarray:
    """Every benchmark's predictive variance (logit scale): factors' uncertainty plus noise."""
    W = model.loadings
    return np.einsum("jk,kl,jl->j", W, cov, W) + model.noise


def _add(model: BenchmarkLoadings, cov: np.ndarray, j: int) -> np.ndarray:
    """The posterior covariance once benchmark ``j`` is revealed too (rank-one update)."""
    u = cov @ model.loadings[j]
    return cov - np.outer(u, u) / (model.noise[j] + model.loadings[j] @ u)


@dataclass(frozen=True)
class ProbeCriterion:
    """V: the mean predictive variance, in points (``points``) or logits, of the rest (the
    benchmarks neither known nor chosen: a run removes its own uncertainty) or, with
    ``rest=False``, of every benchmark not known before (a chosen one keeps its noise);
    D: the log det of the factors' posterior precision."""

    criterion: Criterion = Criterion.V
    points: bool = True
    rest: bool = True


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def points_variance(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Variance in points² of ``100 expit(z)``, z ~ N(mean, var) elementwise (Gauss-Hermite
    quadrature): bounded, unlike the delta method, when the logit variance is large."""
    z = mean[..., None] + np.sqrt(var)[..., None] * _NODES
    s = 100 * expit(z)
    m = s @ _WEIGHTS
    return np.asarray((s - m[..., None]) ** 2 @ _WEIGHTS)


def _trials(
    model: BenchmarkLoadings,
    cov: np.ndarray,
    pool: list[int],
    targets: np.ndarray,
    link: np.ndarray,
    how: ProbeCriterion,
) -> np.ndarray:
    """The criterion (lower is better) once each benchmark of ``pool`` is revealed, for all at
    once: revealing c lowers benchmark t's variance by (w_t·Σw_c)² / (s_c + w_cᵀΣw_c), and the
    log det of the posterior covariance by log(1 + w_cᵀΣw_c / s_c)."""
    W, noise = model.loadings, model.noise[pool]
    U = cov @ W[pool].T  # k x C
    denom = noise + np.einsum("ck,kc->c", W[pool], U)
    if how.criterion is Criterion.D:
        return np.asarray(-np.log1p((denom - noise) / noise))
    after = predictive_variance(model, cov)[None, :] - (W @ U).T ** 2 / denom[:, None]
    after = np.maximum(after, 0.0)
    var = points_variance(np.broadcast_to(link, after.shape), after) if how.points else after
    mask = np.repeat(targets[None, :], len(pool), axis=0)
    if how.rest:
        mask[np.arange(len(pool)), pool] = False
    n = mask.sum(axis=1)
    return np.where(n > 0, (var * mask).sum(axis=1) / np.maximum(n, 1), 0.0)


def greedy_probes(
    model: BenchmarkLoadings,
    candidates: np.ndarray,
    budget: int,
    revealed: np.ndarray,
    values: np.ndarray,
    how: ProbeCriterion = ProbeCriterion(),
) -> list[int]:
    """``budget`` of the ``candidates`` (indices), in the order the greedy design adds them,
    for a model whose logit scores ``values`` on ``revealed`` are known. The rest: every
    benchmark neither revealed nor chosen."""
    mean, cov = posterior(model, revealed, values)
    link = model.bias + model.loadings @ mean
    rest = np.ones(len(model.bias), bool)
    rest[revealed] = False
    pool, chosen = [int(c) for c in candidates], list[int]()
    while len(chosen) < budget:
        trials = _trials(model, cov, pool, rest, link, how)
        c = pool.pop(int(np.argmin(trials)))  # first of equals: deterministic
        cov, rest[c] = _add(model, cov, c), not how.rest
        chosen.append(c)
    return chosen


def _steps(
    model: BenchmarkLoadings,
    order: list[int],
    revealed: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
) -> tuple[float, pd.DataFrame]:
    """The rest's expected RMS error in points before the first probe, and per probe (the
    why): its own expected error before it is run, the rest's after it, the reduction, and
    the rest's benchmarks it sharpens most."""
    mean, cov = posterior(model, revealed, values)
    link = model.bias + model.loadings @ mean
    rest = np.ones(len(model.bias), bool)
    rest[revealed] = False
    var = points_variance(link, predictive_variance(model, cov))
    start = before = float(np.sqrt(np.mean(var[rest]))) if rest.any() else 0.0
    rows = []
    for i, j in enumerate(order, start=1):
        cov, rest[j] = _add(model, cov, j), False
        new = points_variance(link, predictive_variance(model, cov))
        after = float(np.sqrt(np.mean(new[rest]))) if rest.any() else 0.0
        drop = np.where(rest, var - new, -np.inf)
        top = [int(t) for t in np.argsort(-drop, kind="stable")[:N_REASONS] if drop[t] > 0]
        rows.append(
            {
                "order": i,
                "benchmark": model.benchmarks[j],
                "models_scored": int(counts[j]),
                "predicted": float(expit(link[j])),
                "own_error": float(np.sqrt(var[j])),
                "expected_error_after": after,
                "reduction": before - after,
                "sharpens": ", ".join(_short(model.benchmarks[t]) for t in top) or "-",
            }
        )
        before, var = after, new
    return start, pd.DataFrame(rows)


def _short(name: str) -> str:
    return name.split(":", 1)[-1]


@dataclass
class ProbeResult:
    """The benchmarks to run next, in order, with the rest's expected error after each."""

    model: str
    n_observed: int
    n_benchmarks: int
    criterion: str
    completion: str
    expected_error_before: float  # RMS, points, over the rest before any probe
    chosen: pd.DataFrame  # order, benchmark, models_scored, predicted, expected_error_after, ...

    def summary(self) -> Summary:
        from statsmodels.iolib.summary2 import Summary  # only for summaries: 0.1 s

        s = Summary()
        s.add_title(f"Benchmarks to run next for {self.model}: {len(self.chosen)} probes")
        s.add_dict(
            {
                "Scores known": f"{self.n_observed} of {self.n_benchmarks} benchmarks",
                "Completion": self.completion,
                "Criterion": self.criterion,
                "Expected error of the rest now": f"{self.expected_error_before:.1f} points (RMS)",
            },
            ncols=1,
        )
        shown = self.chosen.set_index("order").astype(object)
        shown["benchmark"] = [_short(b) for b in self.chosen["benchmark"]]
        shown["models_scored"] = [str(v) for v in self.chosen["models_scored"]]
        shown["predicted"] = [f"{100 * v:.0f}" for v in self.chosen["predicted"]]
        for col in ("own_error", "expected_error_after", "reduction"):
            shown[col] = [f"{v:.2f}" for v in self.chosen[col]]
        s.add_df(shown)
        s.add_text(
            "predicted: the score expected now (points); own_error: its own expected error "
            "(RMS, points) before it is run; expected_error_after: the RMS error (points) "
            "expected on the benchmarks still unknown once this one and those above are run; "
            "sharpens: the unknown benchmarks whose prediction it sharpens most."
        )
        return s

    def to_dict(self) -> dict[str, Any]:
        return store.jsonable(
            {
                "model": self.model,
                "n_observed": self.n_observed,
                "n_benchmarks": self.n_benchmarks,
                "criterion": self.criterion,
                "completion": self.completion,
                "expected_error_before": self.expected_error_before,
                "chosen": self.chosen,
            }
        )

    def to_json(self) -> str:
        return store.dumps(self.to_dict())

    def __repr__(self) -> str:
        return (
            f"<ProbeResult {self.model}: {len(self.chosen)} of "
            f"{self.n_benchmarks - self.n_observed} unscored benchmarks>"
        )


def select_benchmarks(
    model: BenchmarkLoadings,
    scores: pd.Series,
    *,
    budget: int,
    how: ProbeCriterion = ProbeCriterion(),
    label: str = "new model",
    counts: np.ndarray | None = None,
    completion: str = "",
) -> ProbeResult:
    """The ``budget`` benchmarks of ``model`` to run next for a model whose known scores
    (fractions, by benchmark name; others than the model's benchmarks are ignored) are
    ``scores``. ``counts``: how many models each benchmark has scored, ``completion``: what
    ``model`` is (both shown only)."""
    names = list(model.benchmarks)
    known = scores.dropna()
    revealed = np.array([names.index(b) for b in names if b in known.index], dtype=int)
    values = model.to_link(known.reindex([names[i] for i in revealed]).to_numpy(dtype=float))
    candidates = np.setdiff1d(np.arange(len(names)), revealed)
    if budget < 1:
        raise SelectionError(f"budget must be at least 1, got {budget}")
    if budget > len(candidates):
        raise SelectionError(
            f"budget {budget} exceeds the {len(candidates)} benchmarks {label} has no score on"
        )
    order = greedy_probes(model, candidates, budget, revealed, values, how)
    before, table = _steps(
        model, order, revealed, values, np.zeros(len(names)) if counts is None else counts
    )
    return ProbeResult(label, len(revealed), len(names), _describe(how), completion, before, table)


def _describe(how: ProbeCriterion) -> str:
    if how.criterion is Criterion.D:
        return "D-optimal (log det of the factors' posterior precision)"
    unit = "points" if how.points else "logits"
    of = "the benchmarks still unknown" if how.rest else "every benchmark not known before"
    return f"V-optimal: mean predictive variance of {of} ({unit})"
