"""How well a prior's coefficient space holds fresh heads: a diagnostic that reads the ground truth.

For each fresh synthetic head (seeds never trained on; ``--bald-half``: odd seeds bald, as the acceptance
set), a new scene is added at the mean of the training scenes and only its own parameters are optimised on the
head's *exact* geometry loss (the meta-training's ``geometry_loss``: SDF, surface, normals, eikonal, colour),
then meshed in the ground-truth frame and scored with the H3DS protocol against the scan surface (and the
closed mesh). This is the ceiling of stage 1 with a perfect signal: an image fit restricted to the scene's
coefficients cannot do better than this on average. ``--all-weights`` moves every weight instead (the
network's capacity, not the coefficient space).

``--image-fit train,other``: then, per look, the default one-view image fit (quick preset, the frontal render in
the ground-truth canonical frame with its true camera) is run twice, started from the coefficients reached and
from the mean, and both are scored: does the image loss keep a head that is already right?

    python scripts/coefficient_ceiling.py [--prior DIR] [--heads 6] [--steps 0,1500] [--all-weights]
                                          [--resolution 512] [--image-fit train,other]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", default=None, help="prior folder (default: shipped)")
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--steps", default="0,1500", help="comma-separated step counts at which the head is scored")
    ap.add_argument("--lr", type=float, default=None, help="Adam rate (default 1e-3, 3e-4 with --all-weights)")
    ap.add_argument("--all-weights", action="store_true")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--subspace", type=int, default=0, metavar="K",
                    help="keep the new scene's SDF coefficients in the training scenes' first K principal "
                         "directions (neuhead.model.subspace; 0: free)")
    ap.add_argument("--out", type=Path, default=None, help="write the rows here as JSON")
    ap.add_argument("--image-fit", default="", metavar="LOOKS",
                    help="comma-separated looks (train, other) to image-fit from the ceiling and from the mean")
    a = ap.parse_args()
    try:
        steps = sorted(int(x) for x in a.steps.split(","))
    except ValueError:
        raise SystemExit(f"--steps {a.steps!r}: expected comma-separated integers, e.g. 0,1500") from None
    if not steps or steps[0] < 0 or a.heads < 1:
        raise SystemExit("--steps must be >= 0 and --heads >= 1")
    if a.subspace < 0 or (a.subspace and a.all_weights):
        raise SystemExit("--subspace must be >= 0 and cannot go with --all-weights")
    if (a.lr is not None and not a.lr > 0) or a.resolution < 16:
        raise SystemExit("--lr must be > 0 and --resolution >= 16")
    looks = [x for x in a.image_fit.split(",") if x]
    if any(x not in ("train", "other") for x in looks):
        raise SystemExit(f"--image-fit {a.image_fit!r}: expected looks among train, other")

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_quality import render_head, score

    from neuhead.config import GeometryLossConfig
    from neuhead.data.synthetic.geometry import head_geometry
    from neuhead.model.subspace import CoefficientSubspace
    from neuhead.pipeline import prepare_prior
    from neuhead.prior import load_prior
    from neuhead.reconstruction import Reconstruction
    from neuhead.train.fit import _keep_scene_rows
    from neuhead.train.meta import GeometrySampler, geometry_loss

    try:
        prior = load_prior(a.prior)
    except Exception as e:  # checked before any head is rendered
        raise SystemExit(f"--prior: {e}") from None
    loss_cfg = GeometryLossConfig()
    lr = a.lr if a.lr is not None else (3e-4 if a.all_weights else 1e-3)
    rows = []
    for h in range(a.heads):
        seed = a.seed + h
        hair = seed % 2 == 0
        scene, closed = render_head(seed, "train", 1, 64, 64, hair=hair)  # only the GT frame and mesh are used
        gt = closed.scan()
        samples = GeometrySampler(head_geometry(seed, hair=hair))
        model = prepare_prior(prior.model)
        k = model.n_scenes - 1
        sub = CoefficientSubspace(model, k, a.subspace) if a.subspace else None
        if sub is not None and h == 0:
            print(f"subspace: {a.subspace} directions, {sub.explained:.0%} of the training coefficients' variance")
        opt = torch.optim.Adam(list(model.parameters()) if a.all_weights else model.scene_parameters(), lr=lr)
        gen = torch.Generator().manual_seed(0)
        row, done, t0 = {"seed": seed, "hair": hair}, 0, time.perf_counter()
        for target in steps:
            while done < target:
                loss, _ = geometry_loss(model, k, samples.sample(1024, 512, gen), loss_cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if not a.all_weights:
                    _keep_scene_rows(model, k)
                opt.step()
                if sub is not None:
                    sub.project()
                done += 1
            mesh = Reconstruction(model, k, scene.to_world, "mm").extract_mesh(a.resolution)
            row[str(target)] = score(mesh, gt, scene.to_world, closed)
            sc = row[str(target)]
            print(f"{seed} steps {target}: face {sc['face']:.2f} head {sc['head']:.2f} (closed mesh "
                  f"{sc['face_closed']:.2f} / {sc['head_closed']:.2f}), ICP scale {sc['icp_scale']:.3f}, "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
        for look in looks:
            row[f"image_{look}"] = image_fits(prior, model, seed, hair, look, a.resolution, a.subspace)
            print(f"{seed} {look} look, image fit: " + ", ".join(
                f"{start} {r['face']:.2f} / {r['head']:.2f} (loss {r['loss']:.4f})"
                for start, r in row[f"image_{look}"].items()), flush=True)
        rows.append(row)
    for target in steps:
        med = lambda key: statistics.median(r[str(target)][key] for r in rows)  # noqa: E731
        print(f"median, {target} steps: face {med('face'):.2f} head {med('head'):.2f} "
              f"(closed mesh {med('face_closed'):.2f} / {med('head_closed'):.2f})")
    if a.out is not None:
        a.out.write_text(json.dumps(rows, indent=1))


def image_fits(prior, ceiling_model, seed: int, hair: bool, look: str, resolution: int, subspace: int = 0) -> dict:
    """The default one-view fit of ``look``'s frontal render (ground-truth frame, true camera), from the
    ceiling's coefficients and from the mean; each scored, with the fit's last total loss (no ground truth).
    ``subspace``: the fit's ``FitConfig.scene_subspace``."""
    import copy
    from dataclasses import replace

    from bench_quality import render_head, score

    from neuhead.api import fit_config
    from neuhead.config import for_views
    from neuhead.data.h3ds import default_views_configs
    from neuhead.pipeline import prepare_prior
    from neuhead.reconstruction import Reconstruction
    from neuhead.train.fit import run_stages

    scene, closed = render_head(seed, look, 24, 256, 512, hair=hair)
    one = scene.subset(default_views_configs(scene)["1"])
    cfg = replace(for_views(fit_config("quick", prior.config.model, None, seed=0), 1), scene_subspace=subspace)
    gt = closed.scan()  # once: the visibility ray casting is the same for both starts
    out = {}
    for start, model in (("from the ceiling", copy.deepcopy(ceiling_model)), ("from the mean", prepare_prior(prior.model))):
        res = run_stages(one, cfg, model=model, progress=False)
        mesh = Reconstruction(res.model, res.model.n_scenes - 1, one.to_world, "mm").extract_mesh(resolution)
        last = [h[-1][1]["total"] for h in res.history.values() if h][-1]
        out[start] = {**score(mesh, gt, one.to_world, closed), "loss": last}
    return out


if __name__ == "__main__":
    main()
