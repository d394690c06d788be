"""Dense vs hierarchical mesh extraction at 256³ and 512³ with a field of the quick preset's cost.

    python benchmarks/bench_meshing.py [--resolutions 256 512] [--repeats 3] [--dense-repeats 1]

Prints, per resolution, the median wall time of each path over its runs, the SDF evaluations, the
speed-up, and whether both paths gave identical triangles. torch uses 2 threads (the target CPU).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

from meshing.grid import GridConfig, HierarchyConfig, dense_marching_cubes, edge_keys, hierarchical_marching_cubes

# --- benchmark fields with the cost of the quick preset's networks: an analytic head-sized shape plus a
# small perturbation from a PE + 4×64 MLP, so every SDF query runs the MLP like a fitted model does ---


class QuickSDF(torch.nn.Module):
    """PE (6 frequencies, 39 inputs) → 4 hidden layers of 64 (skip at 2) → 1 SDF + 32 features."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.freqs = 2.0 ** torch.arange(6)
        dims = [(39, 64), (64, 64), (64 + 39, 64), (64, 64), (64, 33)]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in dims)
        for layer in self.layers:
            torch.nn.init.normal_(layer.weight, 0.0, (1.0 / layer.in_features) ** 0.5, generator=g)
            torch.nn.init.zeros_(layer.bias)
        self.act = torch.nn.Softplus(beta=100)

    def encode(self, x):
        xf = x[:, None, :] * self.freqs[None, :, None]  # (n, 6, 3)
        return torch.cat([x, torch.sin(xf).flatten(1), torch.cos(xf).flatten(1)], 1)  # (n, 39)

    def forward(self, x):
        e = self.encode(x)
        h = e
        for i, layer in enumerate(self.layers):
            if i == 2:
                h = torch.cat([h, e], 1) / 2**0.5
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.act(h)
        # head-sized analytic shape (ellipsoid-ish, radii 0.45/0.6/0.5) + a small learned-looking bump
        r = torch.linalg.norm(x / torch.tensor([0.45, 0.6, 0.5]), dim=1)
        return (r - 1.0) * 0.5 + 0.01 * torch.tanh(h[:, 0])


def sdf_fn(module: torch.nn.Module):
    def fn(p: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(p)).numpy()

    return fn


class QuickColor(torch.nn.Module):
    """Radiance-network cost of the quick preset: [x, n, 32 features] → 2 hidden of 64 → RGB."""

    def __init__(self, seed: int = 1):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(38, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                       torch.nn.ReLU(), torch.nn.Linear(64, 3))
        for m in self.net:
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, 0.0, (1.0 / m.in_features) ** 0.5, generator=g)

    def forward(self, x, n):
        feat = torch.sin(7.0 * x).repeat(1, 11)[:, :32]
        return torch.sigmoid(self.net(torch.cat([x, n, feat], 1)) + 2.0 * torch.sin(4.0 * x))


def color_fn(module: torch.nn.Module):
    def fn(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(p), torch.from_numpy(n)).numpy()

    return fn

# --- the benchmark ---------------------------------------------------------------------------------


def canonical(mesh, grid):
    keys = edge_keys((mesh.vertices + grid.bound) / grid.voxel, grid.resolution + 1)
    f = np.sort(keys[mesh.faces], axis=1)
    return np.sort(keys), f[np.lexsort(f.T[::-1])]


def timed(fn, repeats):
    """Median wall time, all wall times, median process CPU time (all threads), last result."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), times, statistics.median(cpu), out


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
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"field: PE6 + 4x64 MLP (quick-preset cost), {rate / 1e3:.0f}k SDF evaluations/s on {args.threads} threads")
    for R in args.resolutions:
        grid = GridConfig(resolution=R)
        hier = HierarchyConfig(lipschitz=args.lipschitz)
        th, th_all, ch, h = timed(lambda: hierarchical_marching_cubes(fn, grid, hier), args.repeats)
        print(f"{R}³ hierarchical: median {th:.2f} s of {[round(x, 2) for x in th_all]} (CPU {ch:.1f} s), "
              f"{h.evaluations:,} evaluations, {len(h.faces):,} faces", flush=True)
        if args.dense_repeats > 0:
            td, td_all, cd, d = timed(lambda: dense_marching_cubes(fn, grid), args.dense_repeats)
            same = all(np.array_equal(a, b) for a, b in zip(canonical(d, grid), canonical(h, grid)))
            print(f"{R}³ dense:        median {td:.2f} s of {[round(x, 2) for x in td_all]} (CPU {cd:.1f} s), "
                  f"{d.evaluations:,} evaluations, {len(d.faces):,} faces", flush=True)
            print(f"{R}³ speed-up dense/hierarchical: {td / th:.1f}x, evaluations {d.evaluations / h.evaluations:.0f}x "
                  f"fewer, identical triangles: {same}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
