"""One synthetic head scene: sample a head and its look, render a camera rig, put it in the canonical frame."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from neuhead.data.canonical import canonical_similarity, canonical_to_world
from neuhead.data.scene import Scene
from neuhead.data.synthetic.appearance import Appearance, albedo, albedo_fast, background, sample_appearance, shade, vertex_attributes
from neuhead.data.synthetic.head import (H3DS_LANDMARKS_68, Head, HeadConfig, HeadModel, load_head_model,
                                         sample_head, vertex_normals)
from neuhead.data.synthetic.render import HeadRenderer, SynthRenderConfig
from neuhead.data.synthetic.rigs import RIGS, RigConfig, sample_cameras

FACE_SPHERE_RADIUS_MM = 95.0


@dataclass(frozen=True)
class SynthConfig:
    """Everything that makes a synthetic scene, besides the seed."""

    head: HeadConfig = HeadConfig()
    """identity / expression / hair sampling"""
    render: SynthRenderConfig = SynthRenderConfig()
    """renderer settings"""
    unlit: bool = False
    """render the albedo texture without lighting or shadows (a look the training heads never have)"""
    lighting: str = "train"
    """the light's distribution (``appearance.LIGHTINGS``): "train", "varied" (``appearance.vary_lighting``) or
    "below" (``appearance.light_from_below``, a test look)"""


@dataclass(eq=False)
class HeadGroundTruth:
    """Exact geometry of a synthetic head in its world frame (mm; the ICT model frame).

    vertices: (n, 3) the rendered surface (watertight, hair volume included, eyes and mouth closed);
    faces: (f, 3) outward; labels: (n,) ``PART_*``; landmark_ids: the six H3DS names -> vertex id;
    landmarks: name -> (3,) mm; landmarks68: (68,) vertex ids (iBUG order); regions: ``face``
    (frontal face, ears, neck front), ``face_sphere`` (within 95 mm of the nose tip), ``nose`` ->
    vertex ids; hair: (n,) hair weight; bald: (n, 3) the skin without hair; to_canonical: (4, 4)
    world -> canonical mm similarity; info: the sampled parameters.
    """

    vertices: np.ndarray
    faces: np.ndarray
    labels: np.ndarray
    landmark_ids: dict[str, int]
    landmarks: dict[str, np.ndarray]
    landmarks68: np.ndarray
    regions: dict[str, np.ndarray]
    hair: np.ndarray
    bald: np.ndarray
    to_canonical: np.ndarray
    info: dict = field(default_factory=dict)

    def mesh(self):
        """The surface as a ``trimesh.Trimesh`` (mm)."""
        import trimesh

        return trimesh.Trimesh(self.vertices, self.faces, process=False)

    def scan(self) -> "HeadGroundTruth":
        """The ground truth a scanner would capture: the faces whose vertices are visible from outside
        (``eval.visibility.scan_visible``). Drops the inner faces of the closed mouth slit, the inside of the
        nostrils and the eyelid folds, which no image and no scan sees; the benchmarks score against this (the
        closed mesh stays what geometry samples and SDFs use). Regions and landmark ids are remapped; a hidden
        68-landmark vertex moves to the nearest kept one."""
        from scipy.spatial import cKDTree

        from eval.visibility import scan_visible, submesh

        keep = scan_visible(self.vertices, self.faces)
        ids = np.array(list(self.landmark_ids.values()))
        keep[ids] = True  # the six H3DS landmarks are on the outer skin
        # a landmark whose every face has a hidden vertex (an eye corner in a squint's eyelid fold) keeps its
        # one ring: the scan must hold every landmark, and this adds at most a few hidden vertices
        v, f, old_to_new = submesh(self.vertices, self.faces, keep)
        if (old_to_new[ids] < 0).any():
            ring = np.isin(self.faces, ids[old_to_new[ids] < 0]).any(1)
            keep[self.faces[ring].ravel()] = True
            v, f, old_to_new = submesh(self.vertices, self.faces, keep)
        used = old_to_new >= 0
        lost = [k for k, i in self.landmark_ids.items() if old_to_new[i] < 0]
        if lost:  # a landmark on no face at all: the scan would have no such point
            raise ValueError(f"HeadGroundTruth.scan: landmark(s) {', '.join(lost)} not on the visible surface")
        lm68 = old_to_new[self.landmarks68]
        if (lm68 < 0).any():
            lm68[lm68 < 0] = cKDTree(v).query(self.vertices[self.landmarks68[lm68 < 0]])[1]
        regions = {k: old_to_new[r][old_to_new[r] >= 0] for k, r in self.regions.items()}
        return replace(self, vertices=v, faces=f, labels=self.labels[used],
                       landmark_ids={k: int(old_to_new[i]) for k, i in self.landmark_ids.items()},
                       landmarks68=lm68, regions=regions, hair=self.hair[used], bald=self.bald[used],
                       info={**self.info, "scan": {"closed_vertices": int(len(self.vertices)),
                                                   "hidden_vertices": int((~used).sum())}})

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm, negative inside) of world points (m, 3) to the surface."""
        import open3d as o3d

        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(self.vertices.astype(np.float32)), o3d.core.Tensor(self.faces.astype(np.uint32)))
        q = o3d.core.Tensor(np.asarray(points, dtype=np.float32).reshape(-1, 3))
        return scene.compute_signed_distance(q).numpy().astype(np.float64)

    def head_breadth(self) -> float:
        """Maximum width (mm, along x) of the bald cranium above the ears (eye level + 15..60 mm)."""
        y_eye = 0.5 * (self.landmarks["right_eye"][1] + self.landmarks["left_eye"][1])
        b = self.bald
        sel = (b[:, 1] > y_eye + 15) & (b[:, 1] < y_eye + 60)
        return float(b[sel, 0].max() - b[sel, 0].min())


@dataclass(eq=False)
class SynthHead:
    """A rendered synthetic scene: the canonical-frame Scene, its ground truth, per-view depth (mm)
    and hard hit masks at pixel centres, and the sampled appearance."""

    scene: Scene
    gt: HeadGroundTruth
    depth: np.ndarray
    hit: np.ndarray
    appearance: Appearance


def ground_truth(model: HeadModel, head: Head, info: dict | None = None) -> HeadGroundTruth:
    ids = model.landmark_ids()
    lms = {k: head.vertices[i].copy() for k, i in ids.items()}
    tip = head.vertices[ids["nose_tip"]]
    sphere = np.flatnonzero(np.linalg.norm(head.vertices - tip, axis=1) < FACE_SPHERE_RADIUS_MM)
    return HeadGroundTruth(
        vertices=head.vertices, faces=model.faces, labels=model.labels, landmark_ids=ids, landmarks=lms,
        landmarks68=model.landmarks68.copy(),
        regions={"face": model.regions["face"], "face_sphere": sphere, "nose": model.regions["nose"]},
        hair=head.hair, bald=head.bald, to_canonical=canonical_similarity(lms).matrix, info=dict(info or {}),
    )


def synthesize(seed: int, n_views: int = 32, res: int = 256, rig: str | RigConfig = "portrait", hair: bool = True,
               config: SynthConfig = SynthConfig(), model: HeadModel | None = None) -> SynthHead:
    """Sample, render and canonicalise one head. Deterministic in ``seed``.

    The head, its look and the cameras come from three independent streams of ``seed``, so the same
    seed gives the same person whatever ``n_views``/``res``. The Scene's world frame is the head
    model's (mm); ``to_world`` = unit sphere -> canonical mm -> world (see ``neuhead.data.canonical``).
    """
    if isinstance(rig, str):
        if rig not in RIGS:
            raise ValueError(f"unknown rig {rig!r}; choose from {sorted(RIGS)}")
        rig_cfg = RIGS[rig]
    else:
        rig_cfg = rig
    if n_views < 1 or res < 8:
        raise ValueError(f"need n_views >= 1 and res >= 8, got {n_views}, {res}")
    model = model or load_head_model()
    r_head, r_look, r_cam = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
    head = sample_head(model, r_head, config.head, hair=hair)
    app = sample_appearance(r_look, head, config.lighting)
    cams = sample_cameras(rig_cfg, n_views, res, r_cam)

    attr = vertex_attributes(model, head, app)
    normals = vertex_normals(head.vertices, model.faces)
    renderer = HeadRenderer(head.vertices, model.faces, normals, config.render)

    # fast path: albedo per vertex, interpolated; per-pixel detail on eye and hair triangles
    vert_albedo = albedo(model, attr, app, hair=False)
    eye_faces = ((attr[:, 7] > 0) | (attr[:, 8] > 0))[model.faces].any(1)
    hair_faces = (attr[:, 3] > 0)[model.faces].any(1) & ~eye_faces

    def shade_fn(tri, bary, pts, nrm, lit):
        a = albedo_fast(model, attr, vert_albedo, tri, bary, eye_faces, hair_faces, app)
        return np.clip(a, 0, 1) if config.unlit else shade(a, nrm, lit, app)

    out = renderer.render(cams, shade_fn, app.light_dir, background(app, res, res))
    info = {"seed": int(seed), "rig": rig if isinstance(rig, str) else "custom", "identity": head.identity.tolist(),
            "expression": dict(zip(model.expression_names, head.expression.tolist())),
            "hair": head.hair_params is not None}
    gt = ground_truth(model, head, info)
    to_world = canonical_to_world(gt.landmarks)
    scene = Scene(
        images=out.images, masks=out.masks, cameras=cams.transformed(np.linalg.inv(to_world)), to_world=to_world,
        names=[f"{i:03d}" for i in range(n_views)], landmarks={k: v.copy() for k, v in gt.landmarks.items()},
        units="mm",
    )
    return SynthHead(scene, gt, out.depth, out.hit, app)


def make_head_scene(seed: int, n_views: int = 32, res: int = 256, rig: str | RigConfig = "portrait", hair: bool = True,
                    config: SynthConfig = SynthConfig()) -> tuple[Scene, HeadGroundTruth]:
    """A synthetic head scene in the canonical frame and its ground truth (see ``synthesize``)."""
    s = synthesize(seed, n_views, res, rig, hair, config)
    return s.scene, s.gt


__all__ = ["SynthConfig", "HeadGroundTruth", "SynthHead", "synthesize", "make_head_scene", "H3DS_LANDMARKS_68"]
