"""Fit speed of the narrow-band sampler against the NeuS sampler (``RenderConfig.band_samples``), in one process.

    python benchmarks/bench_band.py [--views 1] [--iters 40] [--repeats 3] [--band 16] [--band-width 0.05]
                                    [--seed 9000010]

One fresh synthetic head (train look, 256²) as a NeuS folder of the frontal view (or the frontal and ±40° views)
under a foreign ``scale_mat``, placed from its images as ``neuhead fit FOLDER`` does; the shipped prior's new scene
is fitted for ``--iters`` iterations (both stages) with the NeuS sampler (the quick preset: 32 uniform + 32
up-sampled samples a ray, all rendered with gradients) and with the narrow band (the same 32 uniform samples, SDF
only, then ``--band`` rendered samples), alternating, ``--repeats`` times each. Prints the median seconds per
fitting iteration of each and their ratio. Only the fit's stages are timed (no meshing or outputs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", choices=("1", "3"), default="1")
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--band", type=int, default=16, help="rendered samples a ray in the band")
    ap.add_argument("--band-width", type=float, default=0.05, help="half-width of the band (unit-sphere SDF units)")
    ap.add_argument("--seed", type=int, default=9_000_010)
    a = ap.parse_args()
    if a.iters < 2 or a.repeats < 1 or a.band < 2 or a.band_width <= 0:
        raise SystemExit("--iters >= 2, --repeats >= 1, --band >= 2 and --band-width > 0, please")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from bench_quality import foreign_frame, render_head

    from neuhead.api import fit_config
    from neuhead.data.h3ds import default_views_configs
    from neuhead.data.load import load_input
    from neuhead.data.neus import write_neus
    from neuhead.pipeline import fit
    from neuhead.prior import load_prior

    scene, _ = render_head(a.seed, "train", 24, 256, 512)
    folder = write_neus(foreign_frame(scene.subset(default_views_configs(scene)[a.views])),
                        Path(tempfile.mkdtemp(prefix="bench_band_")) / "scene")
    placed = load_input(folder)
    prior = load_prior()
    full = fit_config("quick", prior.config.model, a.iters, seed=0)
    band = replace(full, render=replace(full.render, band_samples=a.band, band_width=a.band_width))
    print(f"threads={torch.get_num_threads()} head seed {a.seed}, {a.views} view(s), {a.iters} iterations a fit; "
          f"NeuS sampler {full.render.n_samples} + {full.render.n_importance} rendered samples a ray, band "
          f"{full.render.n_samples} SDF-only + {a.band} rendered (half-width {a.band_width})")
    per_iter: dict[str, list[float]] = {"neus": [], "band": []}
    for r in range(a.repeats):
        for name, cfg in (("neus", full), ("band", band)):
            recon = fit(placed, cfg, prior.model, progress=False)
            t = recon.report["timings_s"]
            s = sum(t[stage] for stage in recon.report["stages"]) / a.iters
            per_iter[name].append(s)
            print(f"run {r} {name}: {1000 * s:.0f} ms an iteration", flush=True)
    m = {k: statistics.median(v) for k, v in per_iter.items()}
    print(f"median: NeuS sampler {1000 * m['neus']:.0f} ms, band {1000 * m['band']:.0f} ms an iteration; "
          f"band / NeuS = {m['band'] / m['neus']:.2f}")


if __name__ == "__main__":
    main()
