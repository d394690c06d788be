"""``neuhead <subcommand>``: parse arguments, call one library function, write files.

Every error the library raises on bad input (``InputError``, meshing's ``MeshingError``, eval's
``EvalInputError``) becomes one line on stderr and exit code 2; any other exception is an internal
error: one line and exit code 1, the traceback with ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from neuhead.errors import InputError

#: subcommand name -> module in ``neuhead.commands`` (imported lazily so ``--help`` stays fast)
COMMANDS = {
    "fit": "fit",
    "mesh": "mesh",
    "export": "export",
    "synth": "synth",
    "train": "train",
    "eval": "eval",
    "bench": "bench",
    "demo": "demo",
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): ``neuhead fit: error: ... (see --help)``, exit 2.
    Subparsers inherit the class."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neuhead", description="3D heads from photos (Multi-NeuS).")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true", help="log debug messages (and the detector's native logs)")
    loud.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors (no progress bar)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        # every listed subcommand must import: a missing module is a packaging bug, never skipped silently
        importlib.import_module(f"neuhead.commands.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args.run(args) or 0)
    except _input_errors() as e:
        print(f"neuhead {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neuhead {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: one line, the traceback only with -v
        if args.verbose:
            traceback.print_exc()
        print(f"neuhead {args.command}: internal error: {e.__class__.__name__}: {_one_line(e)}"
              + ("" if args.verbose else " (rerun with -v for the traceback)"), file=sys.stderr)
        return 1


def _input_errors() -> tuple[type[Exception], ...]:
    """The exception types that mean bad input (exit 2): neuhead's InputError (WriteError included),
    meshing's MeshingError and eval's EvalInputError. Everything else is an internal error (exit 1)."""
    from eval.meshio import EvalInputError
    from meshing.errors import MeshingError

    return (InputError, MeshingError, EvalInputError)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or e.__class__.__name__


#: packages whose log lines are the command's own output (third-party loggers stay at warnings)
OWN_LOGGERS = ("neuhead", "meshing", "eval")


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """stderr logging, bare messages: neuhead's own INFO lines (one per input, per output stage, a summary);
    ``-v``: its DEBUG lines too; ``-q``: errors only. Other libraries' loggers show warnings and up
    (errors only with ``-q``)."""
    own = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=logging.ERROR if quiet else logging.WARNING, format="%(message)s")
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)


if __name__ == "__main__":
    sys.exit(main())
