"""`ternary-rram` entry point: finds every ``cmd_*`` module in this package and dispatches to it.

Each command module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. Bad input raised as :class:`ternary_rram.errors.InputError` and an operating
system error (missing or unreadable file, full disk, no permission: ``OSError``, named with its file)
is printed as one line and the process exits with status 2. Nothing else is caught here: an
unexpected exception is a bug and keeps its traceback (each known bad input is checked at its source).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from ternary_rram import __version__
from ternary_rram.cli.console import HelpFormatter, Parser, install_warning_format
from ternary_rram.errors import InputError
from ternary_rram.fileio import describe_os_error

EXIT_BAD_INPUT = 2


def _command_modules() -> list[ModuleType]:
    import ternary_rram.cli as pkg

    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name.startswith("cmd_"))
    return [importlib.import_module(f"ternary_rram.cli.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ternary-rram", formatter_class=HelpFormatter,
        description="Simulate binary and ternary neural networks stored in 2T2R RRAM arrays and read by "
        "precharge sense amplifiers: device statistics -> sense amplifier -> array -> accuracy and energy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    install_warning_format()
    parser = build_parser()
    args = parser.parse_args(argv)
    install_warning_format(f"ternary-rram {args.command}" if getattr(args, "command", None) else "ternary-rram")
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"ternary-rram {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"ternary-rram {args.command}: error: file not found: {exc.filename or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # full disk, no permission, a folder where a file is expected, ...
        print(f"ternary-rram {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print(f"ternary-rram {args.command}: error: out of memory: choose smaller sizes", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"ternary-rram {args.command}: interrupted; finished results are kept on disk", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
