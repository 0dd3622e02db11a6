"""``fit_capabilities``: factors, family lines and equivalent FLOPs of a model table, and the
``CapabilityFit`` result that holds them (summary, JSON round trip)."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig
from obsscale.data import store
from obsscale.data.table import require_score_columns
from obsscale.exceptions import CapabilityDataError
from obsscale.model.capabilities.families import (
    GroupedOLS,
    ReferenceLine,
    family_efficiency,
    family_regressions,
)
from obsscale.model.capabilities.saved import SavedFactors

if TYPE_CHECKING:
    from statsmodels.iolib.summary2 import Summary

    from obsscale.model.capabilities.factors import CapabilityPCA

log = logging.getLogger(__name__)

FIT_FORMAT = "obsscale.capabilities/1"


# ----------------------------------------------------------------------------- the fit


@dataclass
class CapabilityFit:
    """What ``fit_capabilities`` learned; serialisable to JSON and back.

    ``models``: one row per model used (id, family, FLOPs, PC scores, equivalent FLOPs);
    ``families``: per-family OLS of every PC on log10 FLOPs; ``efficiency``: per-family
    compute efficiency relative to the reference; ``factors``: the fitted ``CapabilityPCA``,
    or (a fit read back from JSON) its ``SavedFactors`` until ``pca`` is first asked for.
    """

    benchmarks: list[str]
    factors: CapabilityPCA | SavedFactors
    models: pd.DataFrame
    families: pd.DataFrame
    efficiency: pd.DataFrame
    reference: ReferenceLine | None
    settings: dict[str, Any]
    input_sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pca(self) -> CapabilityPCA:
        """The fitted capability model (what ``transform`` and the predictors use)."""
        if isinstance(self.factors, SavedFactors):
            self.factors = self.factors.build(self.benchmarks)
        return self.factors

    @property
    def components(self) -> list[str]:
        return [f"PC-{j + 1}" for j in range(self.factors.n_components)]

    @property
    def explained_variance_ratio(self) -> pd.Series:
        return pd.Series(self.factors.explained_variance_ratio_, index=self.components)

    @property
    def spectrum_ratio(self) -> np.ndarray:
        """Every component's share of the variance, fitted or not (the scree plot's)."""
        return np.asarray(self.factors.spectrum_ratio_)

    @property
    def loadings(self) -> pd.DataFrame:
        """Benchmark x component weights (rows of ``components_``, as in the paper)."""
        weights = self.factors.components_.T
        return pd.DataFrame(weights, index=self.benchmarks, columns=self.components)

    def transform(self, models: pd.DataFrame) -> pd.DataFrame:
        """Capability factors of new models (imputed with this fit's training basis)."""
        pcs = self.pca.transform(models[self.benchmarks])
        return pd.DataFrame(pcs, index=models.index, columns=self.components)

    def equivalent_flops(self, pc1: np.ndarray | pd.Series) -> np.ndarray:
        """FLOPs at which the reference family's line reaches this PC-1."""
        if self.reference is None:
            raise CapabilityDataError("no reference family line in this fit")
        return 10 ** self.reference.log10_flops(pc1)

    def __repr__(self) -> str:
        fams = self.models["family"].nunique()
        return (
            f"<CapabilityFit: {len(self.models)} models, {fams} families, "
            f"{len(self.benchmarks)} benchmarks, {self.factors.n_components} components, PC-1 "
            f"explains {self.factors.explained_variance_ratio_[0]:.3f}>"
        )

    def summary(self) -> Summary:
        """Text / HTML / LaTeX summary (statsmodels ``Summary``)."""
        from statsmodels.iolib.summary2 import Summary  # only for summaries: 0.1 s

        s = Summary()
        s.add_title("Capability factors (observational scaling laws)")
        info = {
            "Models": str(len(self.models)),
            "Families": str(self.models["family"].nunique()),
            "Benchmarks": str(len(self.benchmarks)),
            "Components": str(self.factors.n_components),
            "Reference family": self.reference.family if self.reference else "-",
            "Explained var. (cum.)": f"{self.factors.explained_variance_ratio_.sum():.3f}",
        }
        s.add_dict(info, ncols=2)
        ev = self.explained_variance_ratio.to_frame("explained variance ratio").T
        s.add_df(ev.round(4))
        s.add_df(self.loadings.round(3))
        pc1 = self.families[self.families["component"] == "PC-1"] if len(self.families) else None
        if pc1 is not None and len(pc1):
            lines = pc1.set_index("family")[["n", "slope", "slope_low", "slope_high", "r2"]]
            s.add_df(_for_display(lines))
        if len(self.efficiency):
            order = [c for c in EFFICIENCY_COLUMNS if c in self.efficiency.columns]
            s.add_df(_for_display(self.efficiency.set_index("family")[order]))
        for note in self.notes:
            s.add_text(note)
        return s

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        imp, pca = self.pca.imputer_, self.pca
        return store.jsonable(
            {
                "format": FIT_FORMAT,
                "settings": self.settings,
                "input_sha256": self.input_sha256,
                "benchmarks": self.benchmarks,
                "components": self.components,
                "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
                "explained_variance": pca.explained_variance_.tolist(),
                "spectrum_ratio": pca.spectrum_ratio_.tolist(),
                "loadings": {
                    b: dict(zip(self.components, row.tolist(), strict=True))
                    for b, row in zip(self.benchmarks, pca.components_.T, strict=True)
                },
                "imputer": {
                    "n_components": imp.n_components,
                    "n_iter": imp.n_iter_,
                    "mean": imp.mean_.tolist(),
                    "scale": imp.scale_.tolist(),
                    "center": imp.center_.tolist(),
                    "components": imp.components_.tolist(),
                    "clip": list(imp.clip) if imp.clip is not None else None,
                },
                "pca": {
                    "mean": pca.mean_.tolist(),
                    "scale": pca.scale_.tolist(),
                    "components": pca.components_.tolist(),
                    "standardize": pca.standardize,
                },
                "reference": asdict(self.reference) if self.reference else None,
                "models": self.models,
                "families": self.families,
                "efficiency": self.efficiency,
                "notes": self.notes,
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per model used (id, family, FLOPs, factors, equivalent FLOPs): a copy."""
        return self.models.copy()

    def to_json(self) -> str:
        return store.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        store.write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CapabilityFit:
        if d.get("format") != FIT_FORMAT:
            raise CapabilityDataError(f"not a capability fit (format {d.get('format')!r})")
        return cls(
            benchmarks=list(d["benchmarks"]),
            factors=SavedFactors(d),
            models=pd.DataFrame(d["models"]),
            families=pd.DataFrame(d["families"]),
            efficiency=pd.DataFrame(d["efficiency"]),
            reference=(ReferenceLine(**_nan_for_none(d["reference"])) if d["reference"] else None),
            settings=d["settings"],
            input_sha256=d["input_sha256"],
            notes=d.get("notes", []),
        )

    @classmethod
    def load(cls, path: str | Path) -> CapabilityFit:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise CapabilityDataError(f"cannot read fit {path}: {e}") from e
        return cls.from_dict(data)


def fit_capabilities(
    models: pd.DataFrame,
    settings: CapabilityConfig | None = None,
    *,
    input_sha256: str | None = None,
) -> CapabilityFit:
    """Fit capability factors and per-family compute scaling on the given model rows.

    ``models`` must hold ``model``, ``family``, ``flops`` and the benchmark columns named in
    ``settings.benchmarks``; select rows first with ``select_models``.
    """
    from obsscale.model.capabilities.factors import CapabilityPCA  # scikit-learn: ~0.6 s

    cfg = settings or CapabilityConfig()
    benchmarks = list(cfg.benchmarks)
    _check_basis(models, benchmarks)
    X = models[benchmarks].set_axis(models["model"].astype(str), axis=0)
    pca = CapabilityPCA.from_config(cfg)
    comps = [f"PC-{j + 1}" for j in range(cfg.n_components)]
    scores = pd.DataFrame(pca.fit_transform(X), columns=comps, index=models.index)
    log_flops = np.log10(models["flops"].where(models["flops"] > 0))
    families = family_regressions(
        scores, log_flops, models["family"], min_models=cfg.min_family_models, alpha=cfg.alpha
    )
    notes = _skipped_families(models["family"], families, cfg.min_family_models)
    reference = _reference_line(
        scores["PC-1"], log_flops, models["family"], cfg.reference_family, notes
    )
    table = _models_table(models, benchmarks, scores, reference)
    efficiency = pd.DataFrame()
    if reference is not None:
        efficiency = family_efficiency(
            scores["PC-1"],
            log_flops,
            models["family"],
            reference,
            min_models=cfg.min_family_models,
            alpha=cfg.alpha,
        )
    return CapabilityFit(
        benchmarks=benchmarks,
        factors=pca,
        models=table.reset_index(drop=True),
        families=families,
        efficiency=efficiency,
        reference=reference,
        settings=store.jsonable(asdict(cfg)),
        input_sha256=input_sha256,
        notes=notes,
    )


def _check_basis(models: pd.DataFrame, benchmarks: list[str]) -> None:
    require_score_columns(benchmarks)
    missing = [b for b in benchmarks if b not in models.columns]
    if missing:
        raise CapabilityDataError(f"unknown benchmark columns {missing}")


def _skipped_families(family: pd.Series, families: pd.DataFrame, min_models: int) -> list[str]:
    fitted = set(families["family"]) if len(families) else set()
    skipped = sorted(set(family.dropna()) - fitted)
    if not skipped:
        return []
    return [
        f"families with fewer than {min_models} models of known, distinct FLOPs "
        f"have no compute regression: {', '.join(skipped)}"
    ]


def _models_table(
    models: pd.DataFrame,
    benchmarks: list[str],
    scores: pd.DataFrame,
    reference: ReferenceLine | None,
) -> pd.DataFrame:
    """One row per model of the fit: id, family, FLOPs, how many scores it has, its factors
    and, with a reference line, its equivalent FLOPs."""
    table = pd.DataFrame(
        {
            "model": models["model"].to_numpy(),
            "family": models["family"].to_numpy(),
            "flops": models["flops"].to_numpy(),
            "n_scores": models[benchmarks].notna().sum(axis=1),
        },
        index=models.index,
    )
    table = pd.concat([table, scores], axis=1)
    if reference is not None:
        eq = reference.log10_flops(scores["PC-1"])
        table["equivalent_flops"] = 10**eq
        # beyond a decade outside the reference models, the line (and PC-1's linearity) is a guess
        table["equivalent_flops_extrapolated"] = ~reference.within(eq, margin=1.0)
    return table


def _reference_line(
    pc1: pd.Series, log10_flops: pd.Series, family: pd.Series, name: str, notes: list[str]
) -> ReferenceLine | None:
    mine = (family == name).fillna(False)
    ols = GroupedOLS.fit(log10_flops[mine], pc1[mine].to_frame("PC-1"), family[mine], 2)
    if ols.groups.empty:
        msg = (
            f"reference family {name!r} has fewer than 2 models with known, distinct FLOPs in "
            "this fit; equivalent FLOPs are not available"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
        return None
    if not ols.slope[0, 0] > 0:
        notes.append(f"reference family {name}: PC-1 does not increase with compute")
    return ReferenceLine(
        family=name,
        slope=float(ols.slope[0, 0]),
        intercept=float(ols.intercept[0, 0]),
        n_models=int(ols.n[0]),
        log10_flops_min=float(ols.x_min[0]),
        log10_flops_max=float(ols.x_max[0]),
        log10_flops_mean=float(ols.x_mean[0]),
        sxx=float(ols.sxx[0]),
        s2=float(ols.s2[0, 0]),
    )


def _nan_for_none(d: dict[str, Any]) -> dict[str, Any]:
    """JSON's null back to NaN (a two-model reference line has no residual variance)."""
    return {k: np.nan if v is None else v for k, v in d.items()}


# the efficiency table as families.efficiency builds it (fit.json stores columns sorted by name)
EFFICIENCY_COLUMNS = (
    "n",
    "at_log10_flops",
    "pc1_offset",
    "pc1_offset_low",
    "pc1_offset_high",
    "compute_multiplier",
    "significant",
    "extrapolated",
)


def _for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as people read them: counts as integers, booleans yes/no, numbers to 3 decimals,
    a dash where there is none."""
    out = frame.astype(object)
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_bool_dtype(col):
            out[c] = col.map({True: "yes", False: "no"})
        elif pd.api.types.is_integer_dtype(col) or c == "n":
            out[c] = col.map(lambda v: "-" if pd.isna(v) else str(int(v)))
        elif pd.api.types.is_float_dtype(col):
            out[c] = col.map(lambda v: "-" if pd.isna(v) else f"{v:.3f}")
    return out
