"""Where the placement's orientation error comes from: a diagnostic that reads the ground truth.

For each fresh synthetic head of the acceptance set (``benchmarks/bench_quality.py``'s renders: seeds
9 000 000 +, odd seeds bald, the NeuS folder's foreign ``scale_mat``), the rotation between an estimated canonical
frame and the ground-truth one (``bench_quality.frame_error``, degrees) for several estimators, fed either the
detector's six landmarks (``det``) or the true landmarks projected into the same cameras (``true``: what a
perfect detector would give):

- ``placed``: what ``place_scene`` does (one view: PnP; three views: robust triangulation + template fit);
- ``pnp_front``: PnP of the frontal view alone;
- ``triangulated``: the six landmarks triangulated from the views ``triangulate_robust`` keeps, then Umeyama;
- ``multiview_pnp``: the reference landmarks' similarity fitted to every view's six landmarks at once
  (reprojection, the PnP weights), started from the triangulation;
- ``mesh3d_front`` (detector only): the frontal PnP with its rotation replaced by the one of the detected face
  mesh's own 3D shape (``placement.face_mesh_rotation``; ``PlacementConfig(one_view_rotation="mesh")``).

The ``true`` rows separate what the six-landmark geometry of one identity costs (its landmarks are not the
reference's) from what the detector costs. Nothing here is used by a fit.

``--offsets`` prints instead, per head and look, the detector's six landmarks in the frontal view minus the true ones
projected into it, in % of the true outer-eye distance (x right, y down in the image).

    python scripts/placement_error.py [--heads 6] [--seed 9000000] [--looks train,other] [--configs 1,3] [--offsets]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path


def multiview_pnp(cams, views, points2d, init):
    """World -> canonical similarity whose reference landmarks reproject best onto ``points2d`` in ``views``
    (weighted least squares, ``data.pose.LANDMARK_WEIGHTS``), started from ``init``."""
    import cv2
    import numpy as np
    from scipy.optimize import least_squares

    from eval.align import Similarity
    from neuhead.data.canonical import LANDMARK_NAMES, reference_array
    from neuhead.data.pose import LANDMARK_WEIGHTS

    obj = reference_array()
    sw = np.sqrt([LANDMARK_WEIGHTS[n] for n in LANDMARK_NAMES])
    P = cams.projection()

    def unpack(p):
        return float(np.exp(p[6])), cv2.Rodrigues(p[:3])[0], p[3:6]

    def residuals(p):
        s, R, t = unpack(p)
        X = np.c_[s * obj @ R.T + t, np.ones(len(obj))]
        out = []
        for v in views:
            uvw = X @ P[v].T
            out.append(((uvw[:, :2] / uvw[:, 2:] - points2d[v]) * sw[:, None]).ravel())
        return np.concatenate(out)

    inv = init.inverse()
    fit = least_squares(residuals, np.r_[cv2.Rodrigues(inv.R)[0][:, 0], inv.t, np.log(inv.scale)], method="lm")
    s, R, t = unpack(fit.x)
    return Similarity(s, R, t, 0.0).inverse()


def print_offsets(look, seed, scene, front_scene) -> None:
    """One line: per landmark, detected - true position in the frontal view, in % of the true outer-eye distance."""
    import numpy as np

    from neuhead.data.canonical import LANDMARK_NAMES
    from neuhead.data.face import FaceDetection, canonical_points
    from neuhead.data.placement import detect_views

    cams = front_scene.world_cameras()
    mesh = detect_views(front_scene.images)[0]
    if mesh is None:
        print(f"{look} head {seed}: no face detected", flush=True)
        return
    det = canonical_points(FaceDetection(mesh))
    true = cams.project(np.stack([scene.landmarks[n] for n in LANDMARK_NAMES]))[0][0]
    eye = float(np.linalg.norm(true[0] - true[1]))
    off = (det - true) / eye * 100
    print(f"{look} head {seed} (eyes {eye:.0f} px): "
          + ", ".join(f"{n} {o[0]:+.1f} / {o[1]:+.1f}" for n, o in zip(LANDMARK_NAMES, off)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--seed", type=int, default=9_000_000)
    ap.add_argument("--looks", default="train,other")
    ap.add_argument("--configs", default="1,3")
    ap.add_argument("--offsets", action="store_true", help="print the frontal view's landmark offsets (det - true)")
    a = ap.parse_args()

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_quality import foreign_frame, frame_error, render_head
    from neuhead.data.canonical import LANDMARK_NAMES
    from neuhead.data.face import FaceDetection, canonical_points
    from neuhead.data.h3ds import default_views_configs
    from neuhead.data.placement import (Placement, canonical_similarity_from_points, detect_view_faces, face_mesh_rotation,
                                        place_scene, pose_from_one_view, triangulate_robust, with_canonical_frame)

    table: dict[tuple, list[float]] = {}
    for look in a.looks.split(","):
        for h in range(a.heads):
            seed = a.seed + h
            scene, _ = render_head(seed, look, 24, 256, 512, hair=seed % 2 == 0)
            configs = default_views_configs(scene)
            if a.offsets:
                print_offsets(look, seed, scene, foreign_frame(scene.subset(configs["1"])))
                continue
            for vc in a.configs.split(","):
                folder_scene = foreign_frame(scene.subset(configs[vc]))
                cams = folder_scene.world_cameras()
                faces = detect_view_faces(folder_scene.images)  # the mesh and its depth, detected once
                meshes = [None if f is None else f.points for f in faces]
                true2d = cams.project(np.stack([scene.landmarks[n] for n in LANDMARK_NAMES]))[0]
                sources = {"det": [None if m is None else canonical_points(FaceDetection(m)) for m in meshes],
                           "true": list(true2d)}
                line = []
                for src, pts in sources.items():
                    seen = [i for i, p in enumerate(pts) if p is not None]
                    sims = {}
                    if src == "det":
                        sims["placed"] = place_scene(folder_scene, detections=meshes).placement.similarity
                    front = configs[vc].index(configs["1"][0])
                    if pts[front] is not None:
                        sims["pnp_front"] = pose_from_one_view(folder_scene, front, pts[front])[0]
                        if src == "det":
                            sims["mesh3d_front"] = face_mesh_rotation(cams, front, faces[front], sims["pnp_front"])
                    if len(seen) >= 2:
                        X, _, _ = triangulate_robust(cams, pts)
                        sims["triangulated"] = canonical_similarity_from_points(X)
                        sims["multiview_pnp"] = multiview_pnp(cams, seen, pts, sims["triangulated"])
                    for name, sim in sims.items():
                        placed = with_canonical_frame(folder_scene, sim, Placement("diagnostic", sim))
                        deg = frame_error(scene.to_world, placed.to_world)["deg"]
                        table.setdefault((look, vc, src, name), []).append(deg)
                        line.append(f"{src}:{name} {deg:.1f}")
                print(f"{look} {vc} view(s) head {seed}: " + ", ".join(line), flush=True)
    if a.offsets:
        return
    print("\n| look | views | landmarks | estimator | rotation error per head (deg) | median |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (look, vc, src, name), v in table.items():
        print(f"| {look} | {vc} | {src} | {name} | {' / '.join(f'{x:.1f}' for x in v)} | {statistics.median(v):.1f} |")


if __name__ == "__main__":
    main()
