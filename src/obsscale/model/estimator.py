"""scikit-learn's estimator protocol without importing scikit-learn.

obsscale's estimators follow scikit-learn's conventions (parameters stored by ``__init__``,
``get_params``/``set_params``, learned attributes ending in ``_``, ``fit`` returning ``self``)
so that ``sklearn.base.clone``, pipelines and grid searches accept them. Importing
``sklearn.base`` however costs ~0.4 s (scikit-learn imports ``scipy.stats`` unconditionally),
which was a third of every ``obsscale predict``. This module gives the few pieces obsscale
uses, with scikit-learn's names and behaviour, at no import cost: scikit-learn is imported
only where it is asked for (its tags, clone, the NotFittedError of an unfitted call, and the
validation of anything but the plain float arrays obsscale passes itself), so its own
estimator checks still pass.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


class BaseEstimator:
    """``get_params`` / ``set_params`` / ``__repr__`` as in ``sklearn.base.BaseEstimator``."""

    n_features_in_: int  # set by fit (scikit-learn's convention)

    @classmethod
    def _get_param_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.name != "self" and p.kind is not p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out |= {f"{name}__{k}": v for k, v in value.get_params().items()}
            out[name] = value
        return out

    def set_params(self, **params: Any) -> BaseEstimator:
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"invalid parameter {name!r} for estimator {type(self).__name__}; "
                    f"valid parameters are {valid}"
                )
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's default tags (imported here: only its checks and meta-estimators
        ask)."""
        from sklearn.base import BaseEstimator as _SkBase

        return _SkBase.__sklearn_tags__(self)

    def __sklearn_clone__(self) -> Any:
        from sklearn.base import _clone_parametrized

        return _clone_parametrized(self)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{k}={v!r}"
            for k, v in self.get_params(deep=False).items()
            if not _same(v, defaults.get(k, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return a is b


class TransformerMixin:
    """``fit_transform`` = ``fit`` then ``transform``."""

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.transformer_tags = TransformerTags()
        return tags

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        return self.fit(X, y, **fit_params).transform(X)  # type: ignore[attr-defined]


class RegressorMixin:
    """``score``: the coefficient of determination R² of ``predict(X)``."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        y = np.asarray(y, dtype=float)
        pred = self.predict(X)  # type: ignore[attr-defined]
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        sse = float(np.sum(w * (y - pred) ** 2))
        sst = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
        return 1.0 - sse / sst if sst > 0 else (1.0 if sse == 0 else 0.0)


def check_is_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise ``NotFittedError`` unless ``estimator`` has the fitted attributes."""
    if attributes is None:
        names = [k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")]
        fitted = bool(names)
    else:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, a) for a in names)
    if not fitted:
        # scikit-learn's class (its checks and meta-estimators catch it), imported only here
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def validate_data(
    estimator: Any,
    X: Any,
    y: Any = None,
    *,
    reset: bool = True,
    y_numeric: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``validate_data``, with a fast path for what obsscale passes itself: a
    finite, non-empty 2-D float64 array (and 1-D float ``y`` of the same length) is returned
    as it is, after recording ``n_features_in_`` (``reset``) or checking it. Anything else,
    and every error, goes through scikit-learn (imported then) for its checks and messages."""
    if _plain(estimator, X, y, reset):
        if reset:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return X if y is None else (X, y)
    from sklearn.utils.validation import validate_data as _sk_validate

    kwargs = {"reset": reset} | ({"y_numeric": y_numeric} if y is not None else {})
    return _sk_validate(estimator, X, *(() if y is None else (y,)), **kwargs)


def _plain(estimator: Any, X: Any, y: Any, reset: bool) -> bool:
    """Whether scikit-learn's checks would pass X (and y) unchanged."""
    if not (isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2 and X.size):
        return False
    if not reset and X.shape[1] != getattr(estimator, "n_features_in_", None):
        return False
    if y is not None and not (
        isinstance(y, np.ndarray)
        and y.ndim == 1
        and y.dtype.kind == "f"
        and len(y) == len(X)
        and np.isfinite(y).all()
    ):
        return False
    return bool(np.isfinite(X).all())
