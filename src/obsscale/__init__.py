"""obsscale: observational scaling laws for language-model benchmarks.

The public API, for notebooks and scripts (the CLI's stages call the same objects)::

    import obsscale
    models = obsscale.load_models("data")      # a data folder, a Config or a models.csv
    fit = obsscale.fit_capabilities(models)     # capability factors, family compute lines
    result = obsscale.backtest(obsscale.DownstreamPredictor(), models, "obsscaling:GSM8K",
                               obsscale.CutoffFlops(1e23), factors=fit)
    future = obsscale.forecast(models, [obsscale.Scenario("next", family="Llama-2", flops=1e24)],
                               [obsscale.ForecastTarget("obsscaling:GSM8K")], factors=fit)

Every result (``CapabilityFit``, ``PredictionResult``, ``ForecastResult``) has ``summary()``,
``to_frame()``, ``to_json()``, ``save(path)`` and ``load(path)``.

Every name is loaded on first use (PEP 562), so that ``import obsscale`` and ``obsscale
--help`` stay fast: pandas, SciPy and scikit-learn load with the first model function.

Where things live: ``config`` (settings), ``data`` (fetch, harmonize, the model table),
``model.capabilities`` (imputation, factors, families), ``model.prediction`` (links, splits,
back-tests, intervals), ``model.forecast`` (family lines, scenarios), ``model.design`` (which
models to evaluate), ``report`` (HTML), ``bench`` (accuracy and speed), ``pipeline`` (the
stages), ``cli``; every error and warning is in ``exceptions``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    # data
    "load_models": "obsscale.data.table",
    # capabilities
    "select_models": "obsscale.model.capabilities.rows",
    "Selection": "obsscale.model.capabilities.rows",
    "fit_capabilities": "obsscale.model.capabilities.fit",
    "CapabilityFit": "obsscale.model.capabilities.fit",
    "rank_efficiency": "obsscale.model.capabilities.ranking",
    # prediction: the one predictor, its methods and inputs, the back-test harness
    "DownstreamPredictor": "obsscale.model.prediction.predictor",
    "PaperMethod": "obsscale.model.prediction.methods",
    "DefaultMethod": "obsscale.model.prediction.methods",
    "Factors": "obsscale.model.prediction.methods",
    "LogFlops": "obsscale.model.prediction.methods",
    "LogParams": "obsscale.model.prediction.methods",
    "backtest": "obsscale.model.prediction.backtest",
    "PredictionResult": "obsscale.model.prediction.results",
    # splits
    "Split": "obsscale.model.prediction.splits",
    "CutoffFlops": "obsscale.model.prediction.splits",
    "CutoffDate": "obsscale.model.prediction.splits",
    "CutoffRank": "obsscale.model.prediction.splits",
    "LeaveFamilyOut": "obsscale.model.prediction.splits",
    "KFold": "obsscale.model.prediction.splits",
    # forecasts
    "forecast": "obsscale.model.forecast.forecast",
    "Scenario": "obsscale.model.forecast.forecast",
    "ForecastTarget": "obsscale.model.forecast.forecast",
    "ForecastResult": "obsscale.model.forecast.results",
    # matrix completion
    "complete": "obsscale.model.completion.complete",
    "CompletionResult": "obsscale.model.completion.complete",
    "LogitALS": "obsscale.model.completion.als",
    "MatrixCompleter": "obsscale.model.completion.choose",
    # settings
    "Config": "obsscale.config",
    "default_config": "obsscale.config",
    "load_config_file": "obsscale.config",
    "CapabilityConfig": "obsscale.config",
    "PredictConfig": "obsscale.config",
    "ForecastConfig": "obsscale.config",
    "FrontierConfig": "obsscale.config",
    "AuditConfig": "obsscale.config",
    "ReportConfig": "obsscale.config",
    "NetworkConfig": "obsscale.config",
    # errors
    "ObsscaleError": "obsscale.exceptions",
    "ObsscaleWarning": "obsscale.exceptions",
}

__all__ = [  # literal (linters read it); a test keeps it equal to _EXPORTS
    "AuditConfig",
    "CapabilityConfig",
    "CapabilityFit",
    "CompletionResult",
    "Config",
    "CutoffDate",
    "CutoffFlops",
    "CutoffRank",
    "DefaultMethod",
    "DownstreamPredictor",
    "Factors",
    "ForecastConfig",
    "ForecastResult",
    "ForecastTarget",
    "FrontierConfig",
    "KFold",
    "LeaveFamilyOut",
    "LogFlops",
    "LogParams",
    "LogitALS",
    "MatrixCompleter",
    "NetworkConfig",
    "ObsscaleError",
    "ObsscaleWarning",
    "PaperMethod",
    "PredictConfig",
    "PredictionResult",
    "ReportConfig",
    "Scenario",
    "Selection",
    "Split",
    "__version__",
    "backtest",
    "complete",
    "default_config",
    "fit_capabilities",
    "forecast",
    "load_config_file",
    "load_models",
    "rank_efficiency",
    "select_models",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'obsscale' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads them
    from obsscale.config import (
        AuditConfig,
        CapabilityConfig,
        Config,
        ForecastConfig,
        FrontierConfig,
        NetworkConfig,
        PredictConfig,
        ReportConfig,
        default_config,
        load_config_file,
    )
    from obsscale.data.table import load_models
    from obsscale.exceptions import ObsscaleError, ObsscaleWarning
    from obsscale.model.capabilities.fit import CapabilityFit, fit_capabilities
    from obsscale.model.capabilities.ranking import rank_efficiency
    from obsscale.model.capabilities.rows import Selection, select_models
    from obsscale.model.completion.als import LogitALS
    from obsscale.model.completion.choose import MatrixCompleter
    from obsscale.model.completion.complete import CompletionResult, complete
    from obsscale.model.forecast.forecast import ForecastTarget, Scenario, forecast
    from obsscale.model.forecast.results import ForecastResult
    from obsscale.model.prediction.backtest import backtest
    from obsscale.model.prediction.methods import (
        DefaultMethod,
        Factors,
        LogFlops,
        LogParams,
        PaperMethod,
    )
    from obsscale.model.prediction.predictor import DownstreamPredictor
    from obsscale.model.prediction.results import PredictionResult
    from obsscale.model.prediction.splits import (
        CutoffDate,
        CutoffFlops,
        CutoffRank,
        KFold,
        LeaveFamilyOut,
        Split,
    )
