"""``neuhead <subcommand>``: parse arguments, call one library function, write files.

Every error the library raises on bad input becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuhead", description="3D heads from photos (Multi-NeuS).")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true", help="log debug messages (and the detector's native logs)")
    loud.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors (no progress bar)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(f"neuhead.commands.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"neuhead.commands.{module}":
                raise
            continue  # subcommand not built yet
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args.run(args) or 0)
    except InputError as e:
        print(f"neuhead {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"neuhead {args.command}: error: {e.__class__.__name__}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neuhead {args.command}: interrupted", file=sys.stderr)
        return 130


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
