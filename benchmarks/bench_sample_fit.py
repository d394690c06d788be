"""Issue-2 acceptance: from-scratch quick fit of the bundled sample scene (analytic, textured, non-convex,
≈ 220 mm, millimetre world frame off the origin; 24 views of 128²) — wall time and symmetric surface
Chamfer (mm) of mesh.ply to the true surface, and both of its directions: accuracy (prediction -> truth, which
sees an inner wall or an open underside) must be within 1.5x completeness (truth -> prediction); plus whether the
object's centre is inside mesh.ply (ray parity) and the re-signed voxel share of report.json (issue 16).

    python benchmarks/bench_sample_fit.py --out runs/sample_scratch            # fit, then score
    python benchmarks/bench_sample_fit.py --out runs/sample_scratch --score-only
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--score-only", action="store_true")
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--max-ratio", type=float, default=1.5, help="accuracy must be <= this x completeness")
    a = ap.parse_args()

    import trimesh

    from eval.chamfer import chamfer_points
    from neuhead.cli import main as cli
    from neuhead.data.analytic import Snowman, surface_points

    scene = Path(__file__).resolve().parent.parent / "assets" / "sample_scene"
    if not a.score_only:
        t = time.perf_counter()
        rc = cli(["fit", str(scene), "--out", str(a.out), "--no-prior", "--preset", "quick", "--no-progress"])
        print(f"neuhead fit (quick, from scratch): exit {rc}, {time.perf_counter() - t:.1f} s wall")
    mesh = trimesh.load(a.out / "mesh.ply", process=False)
    pred = np.asarray(trimesh.sample.sample_surface(mesh, a.samples, seed=0)[0])
    gt = surface_points(Snowman(), a.samples, seed=0, resolution=384)
    r = chamfer_points(pred, gt, threshold=1.0)
    print(f"mesh.ply: {len(mesh.vertices)} vertices; Chamfer {r.chamfer:.3f} mm "
          f"(accuracy pred->gt {r.accuracy:.3f}, completeness gt->pred {r.completeness:.3f}); F-score@1mm {r.fscore:.3f}")
    import json

    from meshing.solid import ray_crossings

    centre = np.asarray(Snowman().center)  # the centre of the snowman's body ball (70 mm deep inside)
    hits = [ray_crossings(mesh.vertices, mesh.faces, centre, d) for d in ((0.013, 1, 0.021), (1, 0.017, 0.029))]
    solid = json.loads((a.out / "report.json").read_text()).get("solid", {})
    ratio = r.accuracy / r.completeness
    print(f"accuracy / completeness = {ratio:.2f} (limit {a.max_ratio}): {'PASS' if ratio <= a.max_ratio else 'FAIL'}; "
          f"centre crossings {hits} ({'inside' if all(h % 2 for h in hits) else 'NOT inside'}); "
          f"re-signed voxels {solid.get('resigned_voxels')} ({100 * solid.get('resigned_fraction', float('nan')):.3f} %)")
    if ratio > a.max_ratio:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
