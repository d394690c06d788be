"""Build ``assets/face_template.npz``: where each of the face mesh's 468 points sits on a head, in the
canonical frame (mm), so placement can fit a similarity to hundreds of points instead of six.

For training identities (seeds 0..N-1, never the benchmark's 9 000 000+), portrait renders at 512²
(views within ±45° of frontal): the detector's points are lifted onto the rendered surface with the
render's depth, mapped to the canonical frame by each head's ground-truth similarity, and the per-point
median over all observations is kept, with the median absolute deviation (the point's reliability).
Derived from the ICT-FaceKit model (MIT; see assets/ict/LICENSE).

    python scripts/make_face_template.py --heads 24 --out assets/face_template.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=24)
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--res", type=int, default=512)
    ap.add_argument("--out", type=Path, default=Path("assets/face_template.npz"))
    a = ap.parse_args()

    from neuhead.data.photo import detect_faces
    from neuhead.data.synthetic.scene import synthesize
    from neuhead.io import atomic_path

    obs = [[] for _ in range(468)]
    for seed in range(a.heads):
        s = synthesize(seed, n_views=a.views, res=a.res, rig="portrait")
        cams = s.scene.world_cameras()
        to_can = s.gt.to_canonical
        for i in range(len(cams)):
            faces = detect_faces(s.scene.images[i])
            if not faces:
                continue
            uv = faces[0].points
            px = np.clip(np.floor(uv).astype(int), 0, a.res - 1)
            z = s.depth[i][px[:, 1], px[:, 0]]
            hit = s.hit[i][px[:, 1], px[:, 0]]
            K, c2w = cams.K[i], cams.c2w[i]
            ray = np.c_[uv, np.ones(len(uv))] @ np.linalg.inv(K).T  # camera z = 1
            p_world = (ray * z[:, None]) @ c2w[:3, :3].T + c2w[:3, 3]
            p_can = p_world @ to_can[:3, :3].T + to_can[:3, 3]
            for j in np.flatnonzero(hit):
                obs[j].append(p_can[j])
        print(f"head {seed}: {sum(len(o) > 0 for o in obs)} points observed", flush=True)
    pts = np.full((468, 3), np.nan)
    spread = np.full(468, np.nan)
    for j, o in enumerate(obs):
        if len(o) >= 3:
            o = np.asarray(o)
            pts[j] = np.median(o, axis=0)
            spread[j] = float(np.median(np.linalg.norm(o - pts[j], axis=1)))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(a.out) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, points_mm=pts.astype(np.float32), spread_mm=spread.astype(np.float32),
                                heads=np.int32(a.heads), views=np.int32(a.views), res=np.int32(a.res))
    ok = np.isfinite(spread)
    print(f"{a.out}: {ok.sum()} of 468 points, median spread {np.median(spread[ok]):.2f} mm")


if __name__ == "__main__":
    main()
