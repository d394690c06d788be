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
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
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
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
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


if __name__ == "__main__":
    sys.exit(main())
