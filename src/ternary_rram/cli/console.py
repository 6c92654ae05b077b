"""Console conventions shared by every command: help layout, one-line errors, warnings, progress.

* ``--help``: :class:`HelpFormatter` appends "(default: X)" only where the help text does not give a
  default already and X says something (not None, False, an empty list or a flag's constant).
* Usage errors: :class:`Parser` prints ``ternary-rram CMD: error: ...`` on one line (no usage block)
  and exits with status 2, as bad values raised as ``InputError`` do.
* Warnings: :func:`install_warning_format` prints every Python warning as
  ``ternary-rram CMD: warning: MESSAGE`` on one line (no source path, no category name).
* Progress: :func:`add_quiet_argument` gives every command the one flag ``--quiet`` (old flag names
  stay accepted, hidden from ``--help``); :func:`show_progress` says whether to draw tqdm bars.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from ternary_rram.errors import format_warning  # one line per warning: the CLI and the sweep workers share it

EXIT_USAGE = 2


class HelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help when that says something new."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.help is argparse.SUPPRESS or not needs_default_note(action):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def needs_default_note(action: argparse.Action) -> bool:
    """True where "(default: X)" would add information to the help of ``action``."""
    default = action.default
    if action.required or action.nargs == 0 or not action.option_strings:
        return False  # required options, flags (store_true/const, help, version), positionals
    if default is None or default is False or default is argparse.SUPPRESS:
        return False
    if isinstance(default, (list, tuple)) and not default:
        return False
    return "default" not in (action.help or "").lower()


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line: ``PROG: error: MESSAGE`` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        message = " ".join(str(message).split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_quiet_argument(parser: argparse.ArgumentParser, *, what: str = "no progress bars or progress lines",
                       aliases: Sequence[str] = ()) -> None:
    """``--quiet`` (dest ``quiet``), plus old flag names kept working but hidden from ``--help``."""
    parser.add_argument("--quiet", "-q", action="store_true", help=f"{what}; results and warnings are still printed")
    for alias in aliases:
        parser.add_argument(alias, dest="quiet", action="store_true", help=argparse.SUPPRESS)


def show_progress(args: argparse.Namespace) -> bool:
    """Draw progress bars: not ``--quiet`` and stderr is a terminal (logs stay free of bar redraws)."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def install_warning_format(prog: str = "ternary-rram") -> None:
    """Print Python warnings as one clean line each on stderr (tqdm-safe); the filters stay as they are."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        line_text = format_warning(message, prog)
        try:
            from tqdm.auto import tqdm

            tqdm.write(line_text, file=file or sys.stderr)
        except Exception:
            print(line_text, file=file or sys.stderr, flush=True)

    warnings.showwarning = show


def add_hidden_alias(parser: argparse.ArgumentParser, alias: str, dest: str, **kwargs) -> None:
    """An old option name that still works (same ``dest``) but is not listed by ``--help``."""
    parser.add_argument(alias, dest=dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)
