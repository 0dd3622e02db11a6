"""What a back-test returns: per-predictor scores and every prediction, with ``summary()``
and a deterministic JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from obsscale.data import store
from obsscale.model.prediction.chance import add_raw_columns
from obsscale.model.prediction.predictions_json import prediction_records
from obsscale.model.prediction.verdict import Verdict, predictability

if TYPE_CHECKING:
    from statsmodels.iolib.summary2 import Summary

PREDICTORS = ("pc", "log_flops", "log_params")


@dataclass
class PredictorScore:
    """Back-test metrics of one predictor (normalised target scale)."""

    name: str
    n_train: int
    mse_train: float
    mse_test: float
    mae_test: float
    r2_test: float
    coverage: float  # share of test models inside their prediction interval
    n_test_scored: int
    mse_test_all: float | None = None
    n_test_all: int | None = None
    coef: list[float] = field(default_factory=list)
    intercept: float | None = None
    floor: float | None = None


@dataclass
class PredictionResult:
    """A back-test of one target: scores per predictor, every prediction, the capability curve."""

    target: str
    split: str
    chance: float
    basis: list[str]
    n_train: int
    n_test: int
    n_unknown: int
    scores: dict[str, PredictorScore]
    predictions: pd.DataFrame
    curve: pd.DataFrame | None
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    baseline_curves: pd.DataFrame | None = None
    # the default method: what each predictor's nested back-tests chose (None: paper method)
    choices: dict[str, Any] | None = None
    # compute baselines that could not be fitted or scored, with why: not in ``scores``
    left_out: dict[str, str] = field(default_factory=dict)

    def mse_ratios(self) -> dict[str, float]:
        """Each baseline's test MSE over the factor predictor's (> 1: factors are better)."""
        pc = self.scores["pc"].mse_test
        return {k: s.mse_test / pc for k, s in self.scores.items() if k != "pc" and pc > 0}

    def verdict(self, method: str = "pc") -> Verdict:
        """Whether the target is predictable by ``method`` (``verdict``: the rule), judged on
        its test scores beside every other predictor's (the compute-only baselines; one left
        out of the back-test is named, with no error to compare)."""
        s = self.scores[method]
        others = {k: b.mse_test for k, b in self.scores.items() if k != method}
        return predictability(
            n_test=s.n_test_scored,
            r2=s.r2_test,
            mse=s.mse_test,
            baseline_mse=others | dict.fromkeys(self.left_out, float("nan")),
            coverage=s.coverage,
            level=self.interval,
        )

    def __repr__(self) -> str:
        ratios = ", ".join(f"{k} x{v:.2g}" for k, v in self.mse_ratios().items())
        return (
            f"<PredictionResult {self.target}: {self.split}; {self.n_train} train / "
            f"{self.n_test} test models; pc test MSE {self.scores['pc'].mse_test:.3g} "
            f"(baselines {ratios})>"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "split": self.split,
            "chance": self.chance,
            "scale": "metrics on (y - chance) / (1 - chance)",
            "basis": self.basis,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_unknown": self.n_unknown,
            "left_out": self.left_out,
            "notes": self.notes,
            "settings": self.settings,
        }
        cover = coverage_key(self.interval)
        for name, s in self.scores.items():
            fields = {k: v for k, v in asdict(s).items() if k != "name"}
            fields[cover] = fields.pop("coverage")
            out[name] = fields
        if self.choices is not None:
            out["choices"] = self.choices
        out["verdict"] = self.verdict().to_dict()  # derived: from_dict recomputes it
        out["predictions"] = None  # JSON-safe already: kept out of jsonable's recursion
        out["curve"] = self.curve
        out = store.jsonable(out)
        out["predictions"] = prediction_records(self.predictions)
        return out

    def to_json(self) -> str:
        """``to_dict`` as JSON (sorted keys, indent 2: equal results give equal bytes), written
        by orjson: json's indenting encoder is pure Python, ~1 ms per model's record."""
        return self._json_bytes().decode()

    def save(self, path: str | Path) -> None:
        store.write_bytes(path, self._json_bytes() + b"\n")  # no decode and re-encode

    def _json_bytes(self) -> bytes:
        import orjson  # imported here: only JSON output needs it

        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def load(cls, path: str | Path) -> PredictionResult:
        """The result ``save`` wrote (without the figures' extras, which ``fit`` keeps in its
        run manifest)."""
        return cls.from_dict(store.read_json(path))

    def to_frame(self) -> pd.DataFrame:
        """Every prediction, one row per (model, predictor): a copy."""
        return self.predictions.copy()

    @property
    def interval(self) -> float:
        """The nominal coverage of the prediction intervals (e.g. 0.9)."""
        return float(self.settings["predict"]["interval"])

    def table(self) -> pd.DataFrame:
        cols = ["n_train", "mse_train", "mse_test", "mae_test", "r2_test", "coverage"]
        table = pd.DataFrame(
            {k: [getattr(s, c) for c in cols] for k, s in self.scores.items()}, index=cols
        ).T
        return table.rename(columns={"coverage": coverage_key(self.interval)})

    @classmethod
    def from_dict(cls, d: dict[str, Any], extras: dict[str, Any] | None = None) -> PredictionResult:
        """The result ``to_dict`` described; ``extras`` adds what only figures need (each
        model's equivalent compute and the baselines' curves), stored beside it by ``fit``."""
        extras = extras or {}
        cover = coverage_key(float(d["settings"]["predict"]["interval"]))
        scores = {
            name: PredictorScore(name=name, coverage=d[name][cover], **_without(d[name], cover))
            for name in PREDICTORS
            if name in d
        }
        chance = float(d["chance"])
        pred = _prediction_frame(d["predictions"], chance)
        equivalent = extras.get("equivalent_log10_flops")
        if equivalent is not None:
            pred.insert(8, "equivalent_log10_flops", pred["model"].map(equivalent))
        return cls(
            target=d["target"],
            split=d["split"],
            chance=chance,
            basis=list(d["basis"]),
            n_train=d["n_train"],
            n_test=d["n_test"],
            n_unknown=d["n_unknown"],
            scores=scores,
            predictions=pred,
            curve=_frame(d.get("curve")),
            settings=d["settings"],
            notes=list(d["notes"]),
            baseline_curves=_frame(extras.get("baseline_curves")),
            choices=d.get("choices"),
            left_out=dict(d.get("left_out") or {}),
        )

    def figure_extras(self) -> dict[str, Any]:
        """What ``from_dict`` needs besides ``to_dict`` to redraw every figure."""
        pc = self.predictions[self.predictions["predictor"] == "pc"]
        equivalent = None
        if "equivalent_log10_flops" in pc:
            equivalent = dict(zip(pc["model"], pc["equivalent_log10_flops"], strict=True))
        return store.jsonable(
            {"equivalent_log10_flops": equivalent, "baseline_curves": self.baseline_curves}
        )

    def summary(self) -> Summary:
        from statsmodels.iolib.summary2 import Summary  # only for summaries: 0.1 s

        s = Summary()
        s.add_title(f"Downstream prediction of {self.target}")
        s.add_dict(
            {
                "Split": self.split,
                "Chance floor": f"{self.chance:g}",
                "Train models": str(self.n_train),
                "Test models": str(self.n_test),
                "Unknown split variable": str(self.n_unknown),
                "Basis": f"{len(self.basis)} benchmarks",
            },
            ncols=2,
        )
        s.add_df(_shown(self.table()))
        pc = self.scores["pc"]
        if pc.mse_test_all is not None:
            s.add_text(
                f"pc test MSE over all {pc.n_test_all} test/unknown models it can score: "
                f"{pc.mse_test_all:.4g}"
            )
        for k, v in self.mse_ratios().items():
            s.add_text(f"{k} test MSE / pc test MSE = {v:.3g}")
        s.add_text(str(self.verdict()))
        for note in self.notes:
            s.add_text(note)
        return s


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The metrics table as printed: the training count as an integer, the rest to 4 decimals
    (statsmodels' own format), a dash where a predictor has none."""
    out = table.astype(object)
    for c in table.columns:
        digits = "{:.0f}" if c == "n_train" else "{:.4f}"
        out[c] = [("-" if pd.isna(v) else digits.format(float(v))) for v in table[c]]
    return out


def coverage_key(level: float) -> str:
    """The name of the coverage field for intervals of this level: ``coverage_90`` for 0.9."""
    return f"coverage_{round(level * 100):d}"


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def _frame(records: list[dict[str, Any]] | None) -> pd.DataFrame | None:
    return None if records is None else pd.DataFrame(records)


def _prediction_frame(records: list[dict[str, Any]], chance: float) -> pd.DataFrame:
    """The long predictions table (one row per model and predictor) from its JSON records."""
    rows = [
        {k: r[k] for k in ("model", "family", "split")}
        | {"predictor": name, "actual": r["actual"]}
        | {k: r[name][k] for k in ("predicted", "lower", "upper")}
        for name in PREDICTORS
        for r in records
        if name in r
    ]
    pred = pd.DataFrame(rows)
    columns = ("actual", "predicted", "lower", "upper")
    for col in columns:
        pred[col] = pred[col].astype(float)
    return add_raw_columns(pred, columns, chance)
