"""``neuhead demo [--out DIR]``: the main job on the bundled sample photo, from any folder and any install.

The same as ``neuhead fit <the sample photo> --out DIR``; the photo ships inside the package
(``neuhead/assets/sample_photo.png``), so a wheel install runs it too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: the bundled photo (``assets/sample_photo.png`` in a checkout)
SAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "assets" / "sample_photo.png"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="fit the bundled sample photo (neuhead fit on defaults)",
                       description=f"One photo -> 3D head with the shipped prior: neuhead fit {SAMPLE_PHOTO.name} "
                                   "--out OUT. Writes the files neuhead fit writes.")
    p.add_argument("--out", type=Path, default=Path("out/sample"), help="output folder (default out/sample)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from neuhead.commands import fit

    sub = argparse.ArgumentParser(prog="neuhead").add_subparsers()
    fit.add_parser(sub)
    argv = ["fit", str(SAMPLE_PHOTO), "--out", str(args.out)] + (["--no-progress"] if args.no_progress else [])
    fit_args = sub.choices["fit"].parse_args(argv[1:])
    fit_args.verbose, fit_args.quiet, fit_args.command = args.verbose, args.quiet, "demo"
    return fit.run(fit_args)
