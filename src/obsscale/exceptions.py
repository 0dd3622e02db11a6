"""Every error and warning obsscale raises, in one place below all stages.

Errors inherit from the standard exception a caller would catch anyway (``ValueError`` for
bad input, ``ConnectionError`` for the network), so code that knows nothing of obsscale
still handles them; warnings have their own classes so that a user can filter exactly one
kind (``warnings.simplefilter("error", ExtrapolationWarning)``).
"""

from __future__ import annotations


class ObsscaleError(Exception):
    """Base class: an error whose message is meant for the user as it is (no traceback).

    ``setting``: what would settle it, named as the message names it (a setting as in a TOML
    file, ``predict.scale``; or an argument, ``selection``), so that a caller can add its own
    way to give it (the CLI adds its option)."""

    def __init__(self, *args: object, setting: str | None = None) -> None:
        super().__init__(*args)
        self.setting = setting


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


class CLIError(ObsscaleError):
    """A command-line error to print as one line, with exit status 1 or 2."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class SettingValueError(ConfigError):
    """A value outside its setting's declared type or range, raised while the schema checks
    it; ``schema.check`` words the message (key, value, what was expected)."""


class UnknownSourceError(ConfigError, KeyError):
    """A source name that the configuration does not define; lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WriteError(ObsscaleError, OSError):
    """An output could not be written (disk full, permissions); names the file, and the
    previous copy is left as it was."""


class HarmonizeError(ObsscaleError, RuntimeError):
    """Harmonization cannot proceed (e.g. the curated table was never fetched)."""


class DataLockError(ObsscaleError, TimeoutError):
    """Another run holds the data folder's lock for longer than the configured wait."""


class ParseError(ObsscaleError, ValueError):
    """A raw file lacks what its parser needs; names the file and what is missing."""


class SourceError(ObsscaleError):
    """A problem with one source's download; names the source, the URL and the cause."""

    template = "{source}: {url}: {cause}"

    def __init__(self, source: str, url: str, cause: str) -> None:
        super().__init__(self.template.format(source=source, url=url, cause=cause))
        self.source, self.url, self.cause = source, url, cause


class RetryStoppedError(ObsscaleError):
    """Why a download stopped retrying before its retries ran out (the run's deadline, a
    stop): the reason inside urllib3's ``MaxRetryError``, worded into a ``FetchError``."""


class FetchError(SourceError, ConnectionError):
    """A source could not be downloaded; ``host_down`` when its host failed every retry
    without serving any file in this run (its other files are then not tried)."""

    def __init__(self, source: str, url: str, cause: str, host_down: bool = False) -> None:
        super().__init__(source, url, cause)
        self.host_down = host_down


class FormatError(SourceError, ValueError):
    """A downloaded file is not what the source should serve (HTML page, truncated, bad JSON)."""

    template = "{source}: {url}: not a valid {cause}"


class RefusedError(SourceError, ValueError):
    """A well-formed download that must not replace the good copy (wrong pinned sha256, far
    fewer records than before)."""


class ObsscaleWarning(UserWarning):
    """Base class of obsscale's warnings."""


class ConvergenceWarning(ObsscaleWarning):
    """An iterative fit stopped before converging. Not a subclass of scikit-learn's (that
    would import scikit-learn, ~0.4 s, in every command): filter this class by name."""


class ReferenceFamilyWarning(ObsscaleWarning):
    """The reference family cannot define equivalent FLOPs in this fit."""


class DeprecatedSettingWarning(ObsscaleWarning):
    """A setting given by its former name: read under its new name, which the message says."""


class ExtrapolationWarning(ObsscaleWarning):
    """A prediction lies further past the fitted data than the configured limit."""


class InvalidParameterError(ObsscaleError, ValueError, TypeError):
    """An estimator's parameter is outside its declared constraints; names both."""
