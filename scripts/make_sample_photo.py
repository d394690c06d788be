"""Write ``assets/sample_photo.png``: the README demo photo for ``neuhead fit``.

A 512² frontal render (view 0 of the ``portrait`` rig) of a synthetic head whose seed is far
outside the prior's training identities (seeds 0..63), so the demo fits someone the prior never saw
(5_000_002: the first seed from 5_000_001 on with hair).
Checks that the single-photo loader finds exactly one face in it. Deterministic; run from the repo root:

    python scripts/make_sample_photo.py [--seed 5000002] [--res 512] [--out assets/sample_photo.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SEED = 5_000_002


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--out", type=Path, default=Path("assets/sample_photo.png"))
    args = ap.parse_args(argv)
    if 0 <= args.seed < 64:
        ap.error("seeds 0..63 are the prior's training identities; pick another")

    import torch

    torch.set_num_threads(1)
    from neuhead.data.photo import load_photo
    from neuhead.data.synthetic import make_head_scene
    from neuhead.io import write_png

    scene, _ = make_head_scene(args.seed, n_views=1, res=args.res, rig="portrait")
    write_png(args.out, scene.images[0])
    p = load_photo(args.out)
    if p.n_faces != 1:
        print(f"{args.out}: expected one face, found {p.n_faces}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({args.res}x{args.res}, seed {args.seed}); one face, PnP RMS {p.reprojection_px:.2f} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
