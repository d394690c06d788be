"""Evaluate a trained prior and write its model card.

    python scripts/prior_card.py --run RUN_DIR --prior assets/prior --data DATA_DIR [--views 2] [--res 64]

Per training scene: masked PSNR of the prior's own scene (renders of ``--views`` training views,
downsampled to ``--res``). Mean scene (``add_scene`` = mean of the scene-specific parameters):
mesh at 128³ and its Chamfer (mm) to the ICT-FaceKit neutral head in the canonical frame, and the
H3DS score (ICP on the face region, GT -> nearest predicted vertex, mesh at ``--resolution``) against
the neutral head (bald) and against the mean of the training heads' own meshes (mostly with hair).
Training identities: the first ``--identities`` scenes' meshes (``--resolution``) against their
ground truth (synthetic folders: regenerated from the seed), H3DS score and the unaligned distance.
H3DS scores are against the scan surface (the vertices an outside ray reaches: no closed mouth slit,
``eval.visibility``), with the closed mesh's as ``face_closed`` / ``head_closed``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from eval.images import masked_psnr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--prior", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--views", type=int, default=2)
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--identities", type=int, default=8, help="training identities reconstructed and scored")
    ap.add_argument("--psnr-scenes", type=int, default=None, help="per-scene PSNR of only the first N scenes (default all)")
    ap.add_argument("--resolution", type=int, default=256, help="marching-cubes resolution of scored meshes")
    a = ap.parse_args()

    from neuhead.cameras import Cameras
    from neuhead.commands.train import find_scenes
    from neuhead.data.canonical import CANONICAL_TO_WORLD, canonical_similarity
    from neuhead.data.neus import load_neus
    from neuhead.data.synthetic.head import load_head_model
    from neuhead.prior import load_prior
    from neuhead.reconstruction import Reconstruction

    prior = load_prior(a.prior)
    model = prior.model
    dirs = find_scenes(a.data)[: model.n_scenes]
    psnrs = []
    for k, d in enumerate(dirs[: a.psnr_scenes]):
        scene = load_neus(d, views=range(a.views))
        f = a.res / scene.width
        K = scene.cameras.K.copy()
        K[:, :2] *= f
        cams = Cameras(K, scene.cameras.c2w, a.res, a.res)
        rec = Reconstruction(model, k, scene.to_world, "mm", prior.config.render)
        vals = []
        for i in range(a.views):
            out = rec.render(cams, index=i, world=False)
            img = torch.nn.functional.interpolate(torch.as_tensor(scene.images[i]).permute(2, 0, 1)[None], size=(a.res, a.res), mode="area")[0].permute(1, 2, 0).numpy()
            msk = torch.nn.functional.interpolate(torch.as_tensor(scene.masks[i])[None, None], size=(a.res, a.res), mode="area")[0, 0].numpy()
            # the render has no background (black), the photo is cut out by its mask
            vals.append(masked_psnr(out.rgb * msk[..., None], img * msk[..., None], msk))
        psnrs.append(float(np.mean(vals)))

    # training identities vs their ground truth (H3DS protocol, and unaligned GT -> prediction)
    from eval.chamfer import evaluate_h3ds, nearest_distances
    from eval.meshio import MeshData
    from neuhead.data.synthetic.geometry import HeadGeometry

    from eval.visibility import scan_visible, submesh

    def h3ds_closed(mesh, verts, faces, nose, face_region):
        ev = evaluate_h3ds(MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), "pred"),
                           MeshData(verts, faces, "gt"), nose_tip=nose, icp_region=face_region)
        return {"face": ev.face_sphere.mean, "head": ev.head.mean}

    def h3ds(mesh, verts, faces, nose, face_region):
        """Against the scan surface (the vertices an outside ray reaches, as bench_quality); the closed mesh's
        scores (with the hidden mouth slit) as face_closed / head_closed."""
        v, f, old_to_new = submesh(verts, faces, scan_visible(verts, faces))
        region = old_to_new[face_region]
        scan = h3ds_closed(mesh, v, f, nose, region[region >= 0])
        closed = h3ds_closed(mesh, verts, faces, nose, face_region)
        return {**scan, "face_closed": closed["face"], "head_closed": closed["head"]}

    identities = []
    for k, d in enumerate(dirs[: a.identities]):
        seed = int(json.loads((d / "ground_truth.json").read_text())["seed"])
        gt_head = HeadGeometry(seed).gt
        scene = load_neus(d, views=range(1))
        mesh_k = Reconstruction(model, k, scene.to_world, "mm", prior.config.render).extract_mesh(a.resolution)
        row = {"scene": d.name, "seed": seed, "hair": gt_head.hair.max() > 0,
               **h3ds(mesh_k, gt_head.vertices, gt_head.faces, gt_head.landmarks["nose_tip"], gt_head.regions["face"])}
        dn = nearest_distances(gt_head.vertices, np.asarray(mesh_k.vertices))
        row["face_unaligned"] = float(dn[gt_head.regions["face_sphere"]].mean())
        row["head_unaligned"] = float(dn.mean())
        row["hair"] = bool(row["hair"])
        identities.append(row)

    # the mean scene vs the ICT neutral head, canonical frame (mm)
    model.add_scene()
    mean = Reconstruction(model, model.n_scenes - 1, CANONICAL_TO_WORLD, "mm", prior.config.render)
    mesh = mean.extract_mesh(128)
    hm = load_head_model()
    ids = hm.landmark_ids()
    sim = canonical_similarity({n: hm.neutral[i] for n, i in ids.items()})
    import trimesh

    gt = trimesh.Trimesh(sim.apply(hm.neutral), hm.faces, process=False)
    p = np.asarray(trimesh.sample.sample_surface(mesh, 100_000, seed=0)[0])
    g = np.asarray(trimesh.sample.sample_surface(gt, 100_000, seed=0)[0])
    d_pg, d_gp = cKDTree(g).query(p)[0], cKDTree(p).query(g)[0]
    nose = sim.apply(hm.neutral[ids["nose_tip"]][None])[0]
    face = np.linalg.norm(g - nose, axis=1) < 95
    mesh_hi = mean.extract_mesh(a.resolution)
    neutral_canon = sim.apply(hm.neutral)
    face_region = hm.regions["face"]
    mean_vs_neutral = h3ds(mesh_hi, neutral_canon, hm.faces, nose, face_region)
    # the mean of the scored training heads' ground-truth vertices (same topology), canonical frame
    canon = []
    for row in identities:
        g_ = HeadGeometry(row["seed"]).gt
        canon.append(np.asarray(g_.vertices) @ g_.to_canonical[:3, :3].T + g_.to_canonical[:3, 3])
    mean_vs_train = h3ds(mesh_hi, np.mean(canon, 0), hm.faces, nose, face_region) if canon else None
    card = {
        "per_scene_psnr": psnrs,
        "psnr_mean": float(np.mean(psnrs)),
        "psnr_min": float(np.min(psnrs)),
        "mean_head_chamfer_mm": float((d_pg.mean() + d_gp.mean()) / 2),
        "mean_head_gt_to_pred_mm": float(d_gp.mean()),
        "mean_head_face_sphere_gt_to_pred_mm": float(d_gp[face].mean()),
        "mean_head_h3ds_vs_neutral_mm": mean_vs_neutral,
        "mean_head_h3ds_vs_mean_of_scored_training_heads_mm": mean_vs_train,
        "training_identities": identities,
        "training_identities_face_median_mm": float(np.median([r["face"] for r in identities])) if identities else None,
        "training_identities_head_median_mm": float(np.median([r["head"] for r in identities])) if identities else None,
    }
    mesh.export(a.prior / "mean_head.ply")
    print(json.dumps(card, indent=2))
    (a.run / "card_eval.json").write_text(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
