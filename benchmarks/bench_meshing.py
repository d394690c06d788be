"""Dense vs hierarchical mesh extraction at 256³ and 512³ with a field of the quick preset's cost.

    python benchmarks/bench_meshing.py [--resolutions 256 512] [--repeats 3] [--dense-repeats 1]

Prints, per resolution, the median wall time of each path over its runs, the SDF evaluations, the
speed-up, and whether both paths gave identical triangles. torch uses 2 threads (the target CPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fields import QuickSDF, sdf_fn  # noqa: E402

from meshing.grid import GridConfig, HierarchyConfig, dense_marching_cubes, edge_keys, hierarchical_marching_cubes


def canonical(mesh, grid):
    keys = edge_keys((mesh.vertices + grid.bound) / grid.voxel, grid.resolution + 1)
    f = np.sort(keys[mesh.faces], axis=1)
    return np.sort(keys), f[np.lexsort(f.T[::-1])]


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--repeats", type=int, default=3, help="runs of the hierarchical path")
    ap.add_argument("--dense-repeats", type=int, default=1, help="runs of the dense path (slow at 512)")
    ap.add_argument("--lipschitz", type=float, default=HierarchyConfig().lipschitz)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    fn = sdf_fn(QuickSDF())
    pts = np.random.default_rng(0).uniform(-1, 1, (262_144, 3)).astype(np.float32)
    fn(pts)
    t = time.perf_counter()
    fn(pts)
    rate = len(pts) / (time.perf_counter() - t)
    print(f"field: PE6 + 4x64 MLP (quick-preset cost), {rate / 1e3:.0f}k SDF evaluations/s on {args.threads} threads")
    for R in args.resolutions:
        grid = GridConfig(resolution=R)
        hier = HierarchyConfig(lipschitz=args.lipschitz)
        th, th_all, h = timed(lambda: hierarchical_marching_cubes(fn, grid, hier), args.repeats)
        print(f"{R}³ hierarchical: median {th:.2f} s of {[round(x, 2) for x in th_all]}, "
              f"{h.evaluations:,} evaluations, {len(h.faces):,} faces", flush=True)
        if args.dense_repeats > 0:
            td, td_all, d = timed(lambda: dense_marching_cubes(fn, grid), args.dense_repeats)
            same = all(np.array_equal(a, b) for a, b in zip(canonical(d, grid), canonical(h, grid)))
            print(f"{R}³ dense:        median {td:.2f} s of {[round(x, 2) for x in td_all]}, "
                  f"{d.evaluations:,} evaluations, {len(d.faces):,} faces", flush=True)
            print(f"{R}³ speed-up dense/hierarchical: {td / th:.1f}x, evaluations {d.evaluations / h.evaluations:.0f}x "
                  f"fewer, identical triangles: {same}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
