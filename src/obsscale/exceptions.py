"""Every error and warning obsscale raises, in one place below all stages.

Errors inherit from the standard exception a caller would catch anyway (``ValueError`` for
bad input, ``ConnectionError`` for the network), so code that knows nothing of obsscale
still handles them; warnings have their own classes so that a user can filter exactly one
kind (``warnings.simplefilter("error", ExtrapolationWarning)``).
"""

from __future__ import annotations


class ObsscaleError(Exception):
    """Base class: an error whose message is meant for the user as it is (no traceback)."""


class ConfigError(ObsscaleError, ValueError):
    """A setting is invalid; the message names the file, section, key and what was expected."""


class CapabilityDataError(ObsscaleError, ValueError):
    """The score matrix cannot support the requested fit (too few models, no variance, ...)."""


class PredictError(ObsscaleError, ValueError):
    """The prediction task is ill-posed for the given data; the message says why."""


class SelectionError(ObsscaleError, ValueError):
    """The selection problem is ill-posed (budget, candidates, required models)."""


class ArtifactError(ObsscaleError, ValueError):
    """A stage's input artifact is missing, unreadable or from another run."""


class ObsscaleWarning(UserWarning):
    """Base class of obsscale's warnings."""


class ConvergenceWarning(ObsscaleWarning):
    """An iterative fit stopped before converging. Not a subclass of scikit-learn's (that
    would import scikit-learn, ~0.4 s, in every command): filter this class by name."""


class ReferenceFamilyWarning(ObsscaleWarning):
    """The reference family cannot define equivalent FLOPs in this fit."""


class ExtrapolationWarning(ObsscaleWarning):
    """A prediction lies further past the fitted data than the configured limit."""


class InvalidParameterError(ObsscaleError, ValueError, TypeError):
    """An estimator's parameter is outside its declared constraints; names both."""
