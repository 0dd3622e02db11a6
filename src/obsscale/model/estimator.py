"""scikit-learn's estimator protocol for obsscale's estimators, and a fast path through its
input validation.

obsscale's estimators subclass scikit-learn's ``BaseEstimator`` and mixins (parameters stored
by ``__init__``, ``get_params``/``set_params``, learned attributes ending in ``_``, ``fit``
returning ``self``), so that ``clone``, pipelines, grid searches and scikit-learn's own
estimator checks accept them. scikit-learn is imported here, by the model layer only: the
CLI's parser and ``import obsscale`` do not load it.

``validate_data`` keeps one shortcut: the bootstrap fits thousands of links on the finite
float arrays obsscale builds itself, and scikit-learn's validation of those costs more than
the fit; anything else goes through scikit-learn for its checks and messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from sklearn.utils.validation import validate_data as sklearn_validate_data

__all__ = [
    "BaseEstimator",
    "RegressorMixin",
    "TransformerMixin",
    "check_is_fitted",
    "validate_data",
]


def validate_data(
    estimator: Any,
    X: Any,
    y: Any = "no_validation",
    *,
    reset: bool = True,
    y_numeric: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``validate_data``, with a fast path for what obsscale passes itself: a
    finite, non-empty 2-D float64 array (and 1-D float ``y`` of the same length) is returned
    as it is, after recording ``n_features_in_`` (``reset``) or checking it. Anything else,
    and every error, goes through scikit-learn for its checks and messages. As there, ``y``
    left out means no target (``y=None`` is a missing target: scikit-learn's error)."""
    no_y = isinstance(y, str) and y == "no_validation"
    if (no_y or y is not None) and _plain(estimator, X, None if no_y else y, reset):
        if reset:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return X if no_y else (X, y)
    y_kwargs = {} if no_y else {"y_numeric": y_numeric}  # check_array refuses y_numeric
    return sklearn_validate_data(estimator, X, y, reset=reset, **y_kwargs)


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
