"""obsscale: observational scaling laws for language-model benchmarks.

The public API is imported lazily (PEP 562), so that ``obsscale --help`` does not load the
model layer: ``obsscale.DownstreamPredictor`` imports it on first use.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "DownstreamPredictor": "obsscale.model.prediction.predictor",
    "PaperMethod": "obsscale.model.prediction.methods",
    "DefaultMethod": "obsscale.model.prediction.methods",
    "Factors": "obsscale.model.prediction.methods",
    "LogFlops": "obsscale.model.prediction.methods",
    "LogParams": "obsscale.model.prediction.methods",
    "backtest": "obsscale.model.prediction.backtest",
    "forecast": "obsscale.model.forecast",
    "Scenario": "obsscale.model.forecast",
    "ForecastTarget": "obsscale.model.forecast",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'obsscale' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
