"""Command line: one subcommand per stage (``obsscale fetch | harmonize | fit | report | ...``).

The CLI only parses arguments (``parser``) and calls one stage function per subcommand
(``commands``); every number it prints comes from the same functions a notebook would call.
Errors meant for the user are printed as one line, without a traceback. SIGTERM is handled
like Ctrl-C: the stage cleans up (temporary files removed, worker processes ended, the last
good outputs kept) and exits with one line and status 143 (130 for Ctrl-C).
"""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from collections.abc import Callable, Sequence

from obsscale.cli.options import option_for
from obsscale.cli.parser import build_parser
from obsscale.exceptions import CLIError, ObsscaleError, ObsscaleWarning

__all__ = ["CLIError", "Terminated", "main"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is so that every ``finally`` and ``except
    BaseException`` cleanup of Ctrl-C runs for it too."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    warnings.showwarning = _one_line_warning
    func: Callable[..., int] = args.func
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return func(args)
    except BrokenPipeError:  # e.g. `obsscale predict --json | head`
        sys.stderr.close()
        return 0
    except Terminated:
        print(f"obsscale {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"obsscale {args.command}: interrupted", file=sys.stderr)
        return 130
    except ObsscaleError as e:  # a user's error: one line; anything else is a bug (traceback)
        option = option_for(e.setting, args)  # the model words it as a setting
        print(
            f"obsscale {args.command}: error: {e}{f' ({option})' if option else ''}",
            file=sys.stderr,
        )
        return e.status if isinstance(e, CLIError) else 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line_warning(
    message: Warning | str, category: type[Warning], *args: object, **kw: object
) -> None:
    """obsscale's warnings for people: one line with the class, no source line. Libraries'
    warnings (pandas' PerformanceWarning, ...) say nothing a user can act on: logged, shown
    with -v."""
    if issubclass(category, ObsscaleWarning):
        print(f"obsscale: {category.__name__}: {message}", file=sys.stderr)
    else:
        logging.getLogger("obsscale").info("%s: %s", category.__name__, message)


if __name__ == "__main__":
    sys.exit(main())
