"""Write ``assets/ict/neutral_sdf.npz``: the ICT neutral head's exact SDF on a 2 mm grid (the base SDF of
``ModelConfig.base_sdf = "ict_neutral"``, see ``neuhead/model/base_sdf.py``).

    python scripts/make_base_sdf.py [--voxel 0.01] [--out assets/ict/neutral_sdf.npz]

Derived from ICT-FaceKit (MIT): ``assets/ict/LICENSE`` stays beside it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neuhead.data.synthetic.geometry import neutral_geometry, neutral_sdf_grid
from neuhead.model.base_sdf import BASE_GRID_PATH, GridSDF


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voxel", type=float, default=0.01, help="grid step in unit-sphere units (0.01 = 2 mm)")
    ap.add_argument("--out", default=str(BASE_GRID_PATH))
    a = ap.parse_args()
    t = time.perf_counter()
    grid = neutral_sdf_grid(a.voxel)
    grid.save(a.out)
    print(f"{a.out}: grid {grid.values.shape}, box {grid.lo} .. {grid.hi}, {time.perf_counter() - t:.1f} s")
    # how well the trilinear lookup of the stored (float16) grid matches the exact SDF near the surface
    import torch

    from neuhead.model.base_sdf import load_grid

    load_grid.cache_clear()
    geo = neutral_geometry()
    rng = np.random.default_rng(0)
    surf, _, _ = geo.sample_surface(20000, rng)
    near = surf + rng.normal(size=surf.shape) * (2.0 / geo.mm_per_unit)
    exact = geo.sdf(near)
    approx = GridSDF(load_grid(a.out))(torch.as_tensor(near, dtype=torch.float32)).numpy()
    err = np.abs(approx - exact) * geo.mm_per_unit
    print(f"lookup vs exact SDF within ~2 mm of the surface: median {np.median(err):.3f} mm, "
          f"p95 {np.percentile(err, 95):.3f} mm, max {err.max():.2f} mm")


if __name__ == "__main__":
    main()
