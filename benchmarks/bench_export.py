"""Whole export: hierarchical meshing + decimation + xatlas + texture bake + GLB/OBJ/PLY writes.

    python benchmarks/bench_export.py [--resolution 256] [--faces 50000] [--texture 2048] [--repeats 3]

Same quick-preset-cost fields as bench_meshing.py. Prints the median total and the median of each step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_meshing import QuickColor, QuickSDF, color_fn, sdf_fn  # noqa: E402

from meshing.export import export_asset  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--faces", type=int, default=50_000)
    ap.add_argument("--texture", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    sdf, col = sdf_fn(QuickSDF()), color_fn(QuickColor())
    T = torch.eye(4).numpy() * 110.0
    T[3, 3] = 1.0
    totals, steps = [], {}
    with tempfile.TemporaryDirectory() as d:
        outs = [Path(d) / "head.glb", Path(d) / "head.obj", Path(d) / "head.ply"]
        for i in range(args.repeats):
            t = time.perf_counter()
            rep = export_asset(sdf, col, T, outs, world_units="mm", resolution=args.resolution, faces=args.faces,
                               texture=args.texture)
            totals.append(time.perf_counter() - t)
            for k, v in rep.seconds.items():
                steps.setdefault(k, []).append(v)
            print(f"run {i + 1}: {totals[-1]:.1f} s ({rep.raw_faces:,} -> {rep.faces:,} faces, "
                  f"texture {rep.texture_size}² {100 * rep.texture_coverage:.0f}% covered)", flush=True)
        sizes = {p.name: p.stat().st_size for p in Path(d).iterdir()}
    print(f"export {args.resolution}³ -> {args.faces} faces, {args.texture}² texture, GLB+OBJ+PLY: "
          f"median {statistics.median(totals):.1f} s of {[round(x, 1) for x in totals]}")
    for k, v in steps.items():
        print(f"  {k:18s} median {statistics.median(v):6.2f} s")
    print("  files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
