"""Build the compact ICT-FaceKit head asset shipped in ``assets/ict/`` (run once, offline).

``python -m neuhead.data.synthetic.build_asset SRC.npz OUT.npz`` reads the full ICT-FaceKit arrays
(see ``../shared/data/ict_facekit/README.md``) and writes a closed, linear head model in mm:

- the skin (face + head_neck, ICT vertices 0-11247) with the neck cut at ``NECK_CUT_Y_MM`` (neutral),
- the two eye openings filled with three rings on the fitted eyeball sphere, the mouth slit and the
  neck cut closed with fans, so the surface is watertight (a clean ground truth and a valid SDF),
- the first ``n_modes`` identity modes and a few expression targets as float16 mm deltas. Fill
  vertices are non-linear functions of the model (sphere projection); their deltas are the central
  finite difference of that function per mode (exact for the boundary rings, < 0.1 mm elsewhere).
- vertex labels (``PART_*``), the 68 Multi-PIE landmark vertex ids and the ``face``/``nose`` regions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

NECK_CUT_Y_MM = -110.0
SKIN_LAST = 11247
EYEBALL_R = (21451, 23020)  # ICT "eyeball_L" range; which side it is, is decided by x below
EYEBALL_L = (23021, 24590)
EXPRESSIONS = (
    "browDown_L", "browDown_R", "browInnerUp_L", "browInnerUp_R", "browOuterUp_L", "browOuterUp_R",
    "cheekPuff_L", "cheekPuff_R", "cheekSquint_L", "cheekSquint_R", "eyeSquint_L", "eyeSquint_R",
    "mouthSmile_L", "mouthSmile_R", "mouthFrown_L", "mouthFrown_R", "mouthPucker", "mouthFunnel",
    "mouthDimple_L", "mouthDimple_R", "noseSneer_L", "noseSneer_R", "jawOpen", "mouthClose",
)
PART_SKIN, PART_EYE_R, PART_EYE_L, PART_MOUTH, PART_NECK = 0, 1, 2, 3, 4
EYE_RINGS = (0.72, 0.42, 0.0)  # ring radii as a fraction of the opening (0 = the centre point)


def _boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Ordered boundary loops, each following the faces' own edge direction (a -> b)."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    keys = set(map(tuple, directed.tolist()))
    nxt = {a: b for a, b in directed.tolist() if (b, a) not in keys}
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, a = [], start
        while a not in seen:
            seen.add(a)
            loop.append(a)
            a = nxt[a]
        loops.append(np.array(loop))
    return loops


def _fit_sphere(p: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere: |p|^2 = 2 p.c + (r^2 - |c|^2)."""
    A = np.concatenate([2 * p, np.ones((len(p), 1))], axis=1)
    sol = np.linalg.lstsq(A, (p**2).sum(1), rcond=None)[0]
    c = sol[:3]
    return c, float(np.sqrt(sol[3] + c @ c))


class _Closer:
    """Topology of the closed skin; ``positions(full_vertices)`` gives every closed-mesh vertex."""

    def __init__(self, neutral_mm: np.ndarray, faces: np.ndarray):
        skin_faces = faces[(faces <= SKIN_LAST).all(1)]
        keep = (neutral_mm[skin_faces, 1] > NECK_CUT_Y_MM).all(1)
        skin_faces = skin_faces[keep]
        used = np.unique(skin_faces)
        self.src = used  # closed-mesh vertex i < len(used) is ICT vertex used[i]
        self.neutral_y = neutral_mm[used, 1]
        remap = -np.ones(SKIN_LAST + 1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        self.remap = remap
        f = remap[skin_faces]
        loops = _boundary_loops(f)
        if len(loops) != 4:
            raise RuntimeError(f"expected 4 boundary loops (eyes, mouth, neck), got {len(loops)}")
        p = neutral_mm[used]
        cen = [p[l].mean(0) for l in loops]
        neck = int(np.argmin([c[1] for c in cen]))
        rest = [i for i in range(4) if i != neck]
        mouth = min(rest, key=lambda i: cen[i][1])
        eyes = sorted([i for i in rest if i != mouth], key=lambda i: cen[i][0])  # -x first = right eye
        self.loops = {"eye_r": loops[eyes[0]], "eye_l": loops[eyes[1]], "mouth": loops[mouth], "neck": loops[neck]}
        eb = [np.arange(*EYEBALL_R), np.arange(*EYEBALL_L)]
        eb.sort(key=lambda idx: neutral_mm[idx, 0].mean())
        self.eyeballs = {"eye_r": eb[0], "eye_l": eb[1]}
        n = len(used)
        faces_out = [f]
        labels = [np.zeros(n, np.uint8)]
        self.fill_plan = []  # (kind, loop name, first new vertex index)
        for name, part in (("eye_r", PART_EYE_R), ("eye_l", PART_EYE_L), ("mouth", PART_MOUTH), ("neck", PART_NECK)):
            loop = self.loops[name]
            m = len(loop)
            rings = EYE_RINGS if name.startswith("eye") else ((0.5, 0.0) if name == "mouth" else (0.0,))
            self.fill_plan.append((name, rings, n))
            prev = loop
            for t in rings:
                if t == 0.0:
                    c = n
                    n += 1
                    # fan: boundary edge a->b of the mesh becomes b->a in the cap
                    faces_out.append(np.stack([prev[(np.arange(m) + 1) % m], prev, np.full(m, c)], 1))
                    labels.append(np.full(1, part, np.uint8))
                else:
                    ring = np.arange(n, n + m)
                    n += m
                    a, b = prev, prev[(np.arange(m) + 1) % m]
                    ra, rb = ring, ring[(np.arange(m) + 1) % m]
                    faces_out.append(np.stack([b, a, ra], 1))
                    faces_out.append(np.stack([b, ra, rb], 1))
                    labels.append(np.full(m, part, np.uint8))
                    prev = ring
        self.n = n
        self.faces = np.concatenate(faces_out).astype(np.int32)
        self.labels = np.concatenate(labels)

    def positions(self, full: np.ndarray) -> np.ndarray:
        """Closed-mesh vertices (n, 3) from full ICT vertices (26719, 3)."""
        skin = full[self.src].copy()
        # a clean, planar neck cut: the cut loop goes to the cut plane, moved by its mean delta
        neck = self.loops["neck"]
        skin[neck, 1] = NECK_CUT_Y_MM + (full[self.src[neck], 1] - self.neutral_y[neck]).mean()
        out = [skin]
        for name, rings, _ in self.fill_plan:
            loop = self.loops[name]
            b = skin[loop]
            c = b.mean(0)
            if name.startswith("eye"):
                o, r = _fit_sphere(full[self.eyeballs[name]])
            for t in rings:
                q = c + t * (b - c) if t > 0 else c[None]
                if name.startswith("eye"):
                    d = q - o
                    q = o + r * d / np.linalg.norm(d, axis=1, keepdims=True)
                out.append(q)
        return np.concatenate(out)


def build_asset(src: str | Path, out: str | Path, n_modes: int = 60) -> dict:
    d = np.load(src)
    neutral = d["neutral_vertices"].astype(np.float64) * 10.0  # cm -> mm
    closer = _Closer(neutral, d["faces"])
    V0 = closer.positions(neutral)

    def deltas(stack: np.ndarray) -> np.ndarray:
        out = np.empty((len(stack), len(V0), 3), np.float16)
        for k, dk in enumerate(stack):
            dk = dk.astype(np.float64) * 10.0
            out[k] = 0.5 * (closer.positions(neutral + dk) - closer.positions(neutral - dk))
        return out

    ident = deltas(d["identity_deltas"][:n_modes])
    names = list(d["expression_names"])
    sel = [names.index(e) for e in EXPRESSIONS]
    # expressions are used with weights in [0, ~0.5]: a one-sided difference is the right linearisation
    expr = np.empty((len(sel), len(V0), 3), np.float16)
    for j, k in enumerate(sel):
        expr[j] = closer.positions(neutral + d["expression_deltas"][k].astype(np.float64) * 10.0) - V0

    lm68 = closer.remap[d["landmarks_multipie68"]]
    if (lm68 < 0).any():
        raise RuntimeError("a landmark vertex was cut away")
    p = V0
    labels = closer.labels
    brow_y = p[lm68[17:27], 1].max()
    face = np.flatnonzero((p[:, 1] < brow_y + 30.0) & (p[:, 2] > -35.0) & (labels != PART_NECK))
    a, b = p[lm68[27]], p[lm68[30]]
    ab = b - a
    t = np.clip((p - a) @ ab / (ab @ ab), 0, 1)
    dist = np.linalg.norm(p - (a + t[:, None] * ab), axis=1)
    nose = np.flatnonzero((dist < 22.0) & (p[:, 1] > p[lm68[33], 1] - 4.0) & (p[:, 2] > p[lm68[33], 2] - 12.0)
                          & (labels == PART_SKIN))
    arrays = dict(
        neutral=V0.astype(np.float32),
        faces=closer.faces,
        identity_deltas=ident,
        expression_deltas=expr,
        expression_names=np.array(EXPRESSIONS),
        labels=labels,
        landmarks68=lm68.astype(np.int32),
        region_face=face.astype(np.int32),
        region_nose=nose.astype(np.int32),
        source_vertex=np.concatenate([closer.src, -np.ones(closer.n - len(closer.src), np.int64)]).astype(np.int32),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return arrays


if __name__ == "__main__":  # pragma: no cover - a one-off build step
    build_asset(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
