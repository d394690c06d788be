"""How well a prior's own training scenes sit on their true surfaces: mean |f| (mm) of scene k's SDF at
area-uniform points of training head k's exact surface, on the face (within 95 mm of the canonical nose
tip) and elsewhere.

    python scripts/prior_surface_error.py PRIOR_DIR_OR_META_CHECKPOINT DATA_DIR [--scenes 12]

DATA_DIR: the `neuhead synth` folders the prior was trained on (scene k = the k-th folder, sorted); the
surface is regenerated from each folder's seed (``scene_dir_head``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from neuhead.data.canonical import reference_unit
from neuhead.data.synthetic.geometry import scene_dir_head
from neuhead.prior import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prior", help="a prior folder or a meta-learning checkpoint (meta.safetensors)")
    ap.add_argument("data", type=Path)
    ap.add_argument("--scenes", type=int, default=12)
    ap.add_argument("--points", type=int, default=20000)
    a = ap.parse_args()
    model = load_model(a.prior)
    dirs = sorted(p for p in a.data.iterdir() if p.is_dir())
    face, rest = [], []
    for k, d in enumerate(dirs[: a.scenes]):
        geo = scene_dir_head(d)
        pts, _, _ = geo.sample_surface(a.points, np.random.default_rng(5))
        x = torch.as_tensor(pts, dtype=torch.float32)
        with torch.no_grad():
            f = model.sdf(x, k).abs().numpy() * geo.mm_per_unit
        on_face = (x - torch.as_tensor(reference_unit("nose_tip"), dtype=x.dtype)).norm(dim=-1).numpy() < 0.475
        face.append(f[on_face].mean())
        rest.append(f[~on_face].mean())
    print(f"{a.prior}: mean |f| on the true surface over {len(face)} training scenes: face {np.mean(face):.2f} mm, "
          f"elsewhere {np.mean(rest):.2f} mm")


if __name__ == "__main__":
    main()
