"""Geometry quality on fresh synthetic heads (identities NOT in the prior's training set), H3DS protocol.

For each head and each view configuration (1 = frontal, 3 = frontal/left/right) it scores, with the
H3DS toolbox metric of ``eval`` (GT vertex -> nearest predicted vertex after ICP, mm):
(i) the prior's mean head, (ii) ``--no-prior`` NeuS on the same views, (iii) stage 1 only (the mesh at the
end of stage 1 of the full fit), (iv) full two-stage fitting. Prints a Markdown table (median over heads)
and writes JSON.

    python benchmarks/bench_quality.py --heads 2 --out runs/quality [--seed 9000000] [--resolution 256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def score(mesh, gt) -> dict[str, float]:
    from eval.chamfer import evaluate_h3ds
    from eval.meshio import MeshData

    ev = evaluate_h3ds(MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), "pred"),
                       MeshData(gt.vertices, gt.faces, "gt"), nose_tip=gt.landmarks["nose_tip"],
                       icp_region=gt.regions["face"])
    return {"face": ev.face_sphere.mean, "head": ev.head.mean}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--views", type=int, default=24, help="rendered views per head (360 rig) to pick F/L/R from")
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution of every mesh")
    ap.add_argument("--prior", default=None, help="prior folder (default: shipped)")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--configs", default="1,3")
    ap.add_argument("--fit-iters", type=int, default=None, help="total iterations of the prior fit (default: the preset's)")
    ap.add_argument("--only-full", action="store_true", help="run only (iii)/(iv), e.g. to try another --fit-iters")
    ap.add_argument("--scratch-from", type=Path, default=None,
                    help="quality.json of an earlier run: reuse its (ii) rows (same seed and views) instead of refitting")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()

    from neuhead.api import fit_config
    from neuhead.data.h3ds import default_views_configs
    from neuhead.data.synthetic.scene import make_head_scene
    from neuhead.pipeline import result_reconstruction
    from neuhead.prior import load_prior
    from neuhead.reconstruction import Reconstruction
    from neuhead.train.fit import fit_scene

    a.out.mkdir(parents=True, exist_ok=True)
    earlier = {}
    if a.scratch_from is not None:
        earlier = {(r["seed"], r["views"]): r for r in json.loads(a.scratch_from.read_text()) if "scratch" in r}
    rows = []
    for h in range(a.heads):
        seed = a.seed + h
        scene, gt = make_head_scene(seed, n_views=a.views, res=a.res, rig="360")
        configs = default_views_configs(scene)
        for vc in a.configs.split(","):
            views = configs[vc]
            sub = scene.subset(views)
            row = {"seed": seed, "views": vc, "view_idx": views, "fit_iters": a.fit_iters}
            if not a.only_full:
                # (i) mean head
                prior = load_prior(a.prior)
                k = prior.model.add_scene()
                row["mean"] = score(Reconstruction(prior.model, k, scene.to_world, "mm").extract_mesh(a.resolution), gt)
                # (ii) no prior (the scratch fit does not depend on the prior, so an earlier run can be reused)
                if (seed, vc) in earlier:
                    row["scratch"], row["scratch_s"] = earlier[seed, vc]["scratch"], earlier[seed, vc]["scratch_s"]
                    row["scratch_from"] = str(a.scratch_from)
                else:
                    t = time.perf_counter()
                    cfg = fit_config(a.preset, None, None, seed=0)
                    res = fit_scene(sub, cfg, progress=False)
                    row["scratch"] = score(result_reconstruction(res, cfg).extract_mesh(a.resolution), gt)
                    row["scratch_s"] = time.perf_counter() - t
            # (iii) stage 1 and (iv) full fitting, one run
            prior = load_prior(a.prior)
            prior.model.add_scene()
            cfg = fit_config(a.preset, prior.config.model, a.fit_iters, seed=0)
            stage1 = {}

            def on_end(stage, model):
                if stage.name == "stage1":
                    stage1["mesh"] = Reconstruction(model, model.n_scenes - 1, scene.to_world, "mm").extract_mesh(a.resolution)

            t = time.perf_counter()
            res = fit_scene(sub, cfg, model=prior.model, progress=False, on_stage_end=on_end)
            row["full_s"] = time.perf_counter() - t
            row["stage1"] = score(stage1["mesh"], gt)
            rec = result_reconstruction(res, cfg)
            mesh = rec.extract_mesh(a.resolution)
            row["full"] = score(mesh, gt)
            mesh.export(a.out / f"head{seed}_v{vc}_full.ply")
            rows.append(row)
            print(json.dumps(row), flush=True)
            (a.out / "quality.json").write_text(json.dumps(rows, indent=2))

    print("\n| views | method | face_sphere (mm) | full head (mm) |\n| --- | --- | --- | --- |")
    names = {"mean": "(i) prior mean head", "scratch": "(ii) no prior (NeuS)", "stage1": "(iii) stage 1 only",
             "full": "(iv) full fitting"}
    for vc in a.configs.split(","):
        sel = [r for r in rows if r["views"] == vc]
        for key, label in names.items():
            if key not in sel[0]:
                continue
            f = statistics.median(r[key]["face"] for r in sel)
            hh = statistics.median(r[key]["head"] for r in sel)
            print(f"| {vc} | {label} | {f:.2f} | {hh:.2f} |")


if __name__ == "__main__":
    main()
