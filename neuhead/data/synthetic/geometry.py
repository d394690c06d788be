"""3D supervision for a synthetic head: exact signed distance, normals and surface colour in the unit sphere.

For the seed of a synthetic scene (``synthesize(seed)``) this regenerates the same head and look (the
same random streams) without rendering and returns, in the scene's CANONICAL unit-sphere frame
(``Scene.to_world`` maps it to the head model's mm frame):

- ``points`` / ``sdf``: points near the surface (Gaussian offsets at two scales) and uniform in the
  unit ball, with the exact signed distance in unit-sphere units (negative inside). The ground-truth
  surface is one closed, consistently wound mesh (the ICT skin with the eyes, mouth and neck closed
  by fills, the hair volume moved out along the normals). Inside is where the winding number is >= 1
  (signed ray crossings, ``HeadGeometry.winding``): the eye fills overlap the lids by up to ~0.2 mm, where
  plain ray parity (Open3D's ``compute_signed_distance``) would call a point inside both "outside".
  The neck ends in a flat cap, which the SDF treats as surface like any other.
- ``surface`` / ``normals`` / ``color``: points on the surface (area-uniform), the renderer's
  interpolated unit normals there, and the sRGB colour the renderer shows at that point (albedo with
  the scene's light, wrap shading and the cast shadow; the renders have no view-dependent terms).

It costs well under a second per head (no images), so the samples are made on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuhead import sh
from neuhead.data.canonical import canonical_to_world
from neuhead.data.synthetic.appearance import GAMMA, LIGHTINGS, albedo, albedo_fast, sample_appearance, shade, vertex_attributes
from neuhead.data.synthetic.head import Head, HeadModel, load_head_model, sample_head, vertex_normals
from neuhead.data.synthetic.scene import SynthConfig, ground_truth


@dataclass(frozen=True)
class GeometryConfig:
    """How many geometry samples a head gets and where."""

    n_surface: int = 8192
    """points on the surface (with normal and colour)"""
    n_near: int = 12288
    """points near the surface: surface points plus a Gaussian offset (half at each of the two scales)"""
    near_sigma_mm: tuple[float, float] = (2.0, 12.0)
    """standard deviations (mm) of the two near-surface offset scales"""
    n_uniform: int = 4096
    """points uniform in the unit ball"""
    seed_offset: int = 17
    """the sample positions use ``np.random.default_rng((seed, seed_offset))`` (independent of the head's streams)"""


@dataclass(eq=False)
class GeometrySamples:
    """Geometry of one head in its unit-sphere frame (float32).

    points: (m, 3), sdf: (m,) signed distance in units of the unit sphere (negative inside);
    surface: (k, 3) surface points, normals: (k, 3) unit outward, color: (k, 3) rendered sRGB;
    mm_per_unit: the unit sphere's radius in mm (sdf * mm_per_unit is the distance in mm);
    light_sh: (9, 3) the head's lighting as SH irradiance coefficients in the unit frame (``neuhead.sh``; shadows
    not included), None where not known.
    """

    points: np.ndarray
    sdf: np.ndarray
    surface: np.ndarray
    normals: np.ndarray
    color: np.ndarray
    mm_per_unit: float
    light_sh: np.ndarray | None = None

    def save(self, path) -> None:
        """Write as ``.npz`` (atomic)."""
        from neuhead.io import atomic_path

        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                extra = {} if self.light_sh is None else {"light_sh": self.light_sh}
                np.savez(f, points=self.points, sdf=self.sdf, surface=self.surface, normals=self.normals,
                         color=self.color, mm_per_unit=np.float64(self.mm_per_unit), **extra)

    @classmethod
    def load(cls, path) -> "GeometrySamples":
        with np.load(path, allow_pickle=False) as d:
            return cls(d["points"], d["sdf"], d["surface"], d["normals"], d["color"], float(d["mm_per_unit"]),
                       d["light_sh"] if "light_sh" in d.files else None)


#: ray directions (not axis-aligned, so they rarely graze the mesh's edges) voting on the winding number
SIGN_RAYS = (np.array([0.5773, 0.5774, 0.5773]), np.array([-0.30, 0.90, 0.31]), np.array([0.70, -0.20, -0.68]))


class HeadGeometry:
    """One synthetic head (by seed) as an exact field: signed distance, closest-point normal and colour.

    Everything is in the scene's unit-sphere frame; ``to_world`` (4, 4) is the scene's (unit -> mm).
    """

    def __init__(self, seed: int, hair: bool = True, config: SynthConfig = SynthConfig(),
                 model: HeadModel | None = None, head: Head | None = None) -> None:
        import open3d as o3d

        self._o3d = o3d
        self.seed = int(seed)
        model = model or load_head_model()
        # the same three streams as ``synthesize``: head, look (cameras unused)
        r_head, r_look, _ = (np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(3))
        if head is None:  # else a given head (the mean head: ``neutral_geometry``) with the seed's look
            head = sample_head(model, r_head, config.head, hair=hair)
        self.app = sample_appearance(r_look, head, config.lighting)
        self.model, self.head = model, head
        self.gt = ground_truth(model, head, {"seed": int(seed)})
        self.to_world = canonical_to_world(self.gt.landmarks)
        A = self.to_world[:3, :3]
        self.mm_per_unit = float(np.cbrt(np.linalg.det(A)))
        self._R = A / self.mm_per_unit  # rotation unit -> world
        self._t = self.to_world[:3, 3]
        self.vertex_normals = vertex_normals(head.vertices, model.faces)
        self.attr = vertex_attributes(model, head, self.app)
        self.vert_albedo = albedo(model, self.attr, self.app, hair=False)
        self.eye_faces = ((self.attr[:, 7] > 0) | (self.attr[:, 8] > 0))[model.faces].any(1)
        self.hair_faces = (self.attr[:, 3] > 0)[model.faces].any(1) & ~self.eye_faces
        self.scene = o3d.t.geometry.RaycastingScene()
        self.scene.add_triangles(o3d.core.Tensor(head.vertices.astype(np.float32)),
                                 o3d.core.Tensor(model.faces.astype(np.uint32)))
        self.config = config
        self.shadow_offset_mm = config.render.shadow_offset_mm
        self.shadows = config.render.shadows
        self.threads = config.render.threads
        V, F = head.vertices, model.faces
        self._face_normals = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])  # outward, unnormalised

    # --- frames -----------------------------------------------------------------------------------
    def to_mm(self, x: np.ndarray) -> np.ndarray:
        """Unit-sphere points (n, 3) -> world mm."""
        return x @ (self._R * self.mm_per_unit).T + self._t

    def to_unit(self, p: np.ndarray) -> np.ndarray:
        """World mm points (n, 3) -> unit sphere."""
        return ((p - self._t) @ self._R) / self.mm_per_unit

    # --- fields -----------------------------------------------------------------------------------
    def sdf(self, x: np.ndarray) -> np.ndarray:
        """Exact signed distance (n,) in unit-sphere units at unit-sphere points (n, 3), negative inside.

        |d| is the distance to the closest triangle; the sign comes from ``winding`` (inside where
        the winding number is >= 1), not from the ray parity of Open3D's ``compute_signed_distance``,
        which calls the thin (<= 0.2 mm) overlaps of the eye fills with the lids "outside"."""
        p = np.ascontiguousarray(self.to_mm(np.asarray(x, np.float64)), dtype=np.float32)
        d = self.scene.compute_distance(self._o3d.core.Tensor(p), nthreads=self.threads).numpy().astype(np.float64)
        inside = self.winding(x) >= 0.5
        return np.where(inside, -d, d) / self.mm_per_unit

    def winding(self, x: np.ndarray) -> np.ndarray:
        """Winding number (n,) of unit-sphere points: the median over ``SIGN_RAYS`` directions of the
        signed count of crossings (+1 leaving through a face, -1 entering) along a ray to infinity.
        0 outside, 1 inside, 2 where two closed layers overlap; the median outvotes a ray that grazes
        an edge or vertex. Reference: ``_winding_reference`` (solid angles) in the tests."""
        o3d = self._o3d
        p = self.to_mm(np.asarray(x, np.float64))
        out = np.empty((len(SIGN_RAYS), len(p)))
        for k, d in enumerate(SIGN_RAYS):
            d = d / np.linalg.norm(d)
            rays = np.ascontiguousarray(np.concatenate([p, np.broadcast_to(d, p.shape)], 1), dtype=np.float32)
            r = self.scene.list_intersections(o3d.core.Tensor(rays), nthreads=self.threads)
            ray = r["ray_ids"].numpy().astype(np.int64)
            sign = np.sign(self._face_normals[r["primitive_ids"].numpy().astype(np.int64)] @ d)
            out[k] = np.bincount(ray, weights=sign, minlength=len(p))
        return np.median(out, axis=0)

    def _shade(self, tri: np.ndarray, bary: np.ndarray, pts_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unit normals (n, 3) in world, sRGB colour (n, 3)) at surface points given by triangle + barycentrics."""
        f = self.model.faces[tri]
        nrm = (bary[:, :, None] * self.vertex_normals[f]).sum(1)
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        lit = np.ones(len(tri))
        if self.shadows:
            rays = np.concatenate([pts_mm + nrm * self.shadow_offset_mm, np.broadcast_to(self.app.light_dir, pts_mm.shape)], 1)
            occ = self.scene.test_occlusions(self._o3d.core.Tensor(np.ascontiguousarray(rays, dtype=np.float32)),
                                             nthreads=self.threads).numpy()
            lit = (~occ.astype(bool)).astype(np.float64)
        a = albedo_fast(self.model, self.attr, self.vert_albedo, tri, bary, self.eye_faces, self.hair_faces, self.app)
        if getattr(self.config, "unlit", False):  # the renderer's unlit look: the albedo itself
            return nrm, np.clip(a, 0, 1)
        return nrm, shade(a, nrm, lit, self.app)

    def light_sh(self) -> np.ndarray:
        """(9, 3) the head's light (ambient + directional, wrap-Lambert, the renderer's ``shade`` without its shadow)
        as SH irradiance coefficients over unit-frame normals; the unlit look is E = 1."""
        n_unit = sh.sphere_directions()
        if getattr(self.config, "unlit", False):
            irradiance = np.ones((len(n_unit), 3))
        else:  # the renderer's colour of a mid grey, back to linear light over the grey's own
            grey = np.full((len(n_unit), 3), 0.5)
            irradiance = shade(grey, n_unit @ self._R.T, np.ones(len(n_unit)), self.app) ** GAMMA / 0.5**GAMMA
        return sh.fit_coefficients(n_unit, irradiance)

    def surface_at(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(closest surface points (n, 3) unit frame, their unit normals, their rendered colour) for unit points x."""
        q = self._o3d.core.Tensor(np.ascontiguousarray(self.to_mm(np.asarray(x, np.float64)), dtype=np.float32))
        r = self.scene.compute_closest_points(q, nthreads=self.threads)
        tri = r["primitive_ids"].numpy().astype(np.int64)
        uv = r["primitive_uvs"].numpy().astype(np.float64)
        bary = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], 1)
        pts = (bary[:, :, None] * self.head.vertices[self.model.faces[tri]]).sum(1)
        nrm, col = self._shade(tri, bary, pts)
        return self.to_unit(pts), nrm @ self._R, col

    # --- samples ----------------------------------------------------------------------------------
    def sample_surface(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """n area-uniform surface points: (points (n, 3) unit frame, unit normals, rendered sRGB colour)."""
        V, F = self.head.vertices, self.model.faces
        area = 0.5 * np.linalg.norm(np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]]), axis=1)
        tri = rng.choice(len(F), size=n, p=area / area.sum())
        r1, r2 = rng.uniform(size=(2, n))
        s = np.sqrt(r1)
        bary = np.stack([1 - s, s * (1 - r2), s * r2], 1)  # uniform on the triangle
        pts = (bary[:, :, None] * V[F[tri]]).sum(1)
        nrm, col = self._shade(tri, bary, pts)
        return self.to_unit(pts), nrm @ self._R, col

    def samples(self, cfg: GeometryConfig = GeometryConfig(), seed: int = 0) -> GeometrySamples:
        """Surface, near-surface and uniform samples (see ``GeometryConfig``); deterministic in ``seed``."""
        rng = np.random.default_rng((int(seed), cfg.seed_offset))
        surf, nrm, col = self.sample_surface(cfg.n_surface, rng)
        base, _, _ = self.sample_surface(cfg.n_near, rng)
        sig = np.where(np.arange(cfg.n_near) % 2 == 0, cfg.near_sigma_mm[0], cfg.near_sigma_mm[1]) / self.mm_per_unit
        near = base + rng.normal(size=base.shape) * sig[:, None]
        d = rng.normal(size=(cfg.n_uniform, 3))
        uni = d / np.linalg.norm(d, axis=1, keepdims=True) * rng.uniform(size=(cfg.n_uniform, 1)) ** (1 / 3)
        pts = np.concatenate([near, uni])
        sdf = self.sdf(pts)
        f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
        return GeometrySamples(f32(pts), f32(sdf), f32(surf), f32(nrm), f32(col), self.mm_per_unit, f32(self.light_sh()))


def neutral_geometry(model: HeadModel | None = None) -> HeadGeometry:
    """The ICT neutral head (no identity, expression or hair) as an exact field, in its canonical frame."""
    model = model or load_head_model()
    v = model.neutral.astype(np.float64)
    head = Head(v, v, model.faces, np.zeros(len(v)), np.zeros(model.n_modes), np.zeros(len(model.expression)), None)
    return HeadGeometry(0, hair=False, model=model, head=head)


def neutral_sdf_grid(voxel: float = 0.01, lo=(-0.62, -0.80, -0.62), hi=(0.62, 0.82, 0.82), chunk: int = 400_000):
    """The neutral head's exact SDF on a regular grid (``neuhead.model.base_sdf.SDFGrid``), unit-sphere units.

    The default box holds the neutral head (x +-0.46, y -0.68..0.60, z -0.43..0.65) with room for hair."""
    from neuhead.model.base_sdf import SDFGrid

    geo = neutral_geometry()
    lo = np.asarray(lo, np.float64)
    n = np.floor((np.asarray(hi) - lo) / voxel + 1e-9).astype(int) + 1
    axes = [lo[k] + voxel * np.arange(n[k]) for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    vals = np.concatenate([geo.sdf(pts[i:i + chunk]) for i in range(0, len(pts), chunk)])
    return SDFGrid(vals.reshape(*n).astype(np.float32), lo, float(voxel))


def head_geometry(seed: int, cfg: GeometryConfig = GeometryConfig(), hair: bool = True,
                  config: SynthConfig = SynthConfig(), model: HeadModel | None = None) -> GeometrySamples:
    """Geometry samples of the head ``synthesize(seed, hair=hair, config=config)`` renders."""
    return HeadGeometry(seed, hair, config, model).samples(cfg, seed)


def scene_dir_head(scene_dir, model: HeadModel | None = None) -> HeadGeometry:
    """The head a ``neuhead synth`` scene folder shows, regenerated from its seed.

    Reads ``ground_truth.json`` (the seed) and the data set's ``synth.json`` (whether hair was on, the lighting);
    InputError when the folder has no seed or ``synth.json`` names a lighting this generator does not know.
    """
    import json
    from pathlib import Path

    from neuhead.errors import InputError

    scene_dir = Path(scene_dir)
    gt_file = scene_dir / "ground_truth.json"
    try:
        seed = int(json.loads(gt_file.read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{gt_file}: no synthetic-head seed here ({e.__class__.__name__}); the geometry phase "
                         "needs folders written by `neuhead synth`") from None
    hair, lighting = True, "train"
    synth = scene_dir.parent / "synth.json"
    if synth.is_file():
        written = json.loads(synth.read_text()).get("config", {})
        hair, lighting = bool(written.get("hair", True)), written.get("lighting", "train")
        if lighting not in LIGHTINGS:
            raise InputError(f"{synth}: unknown lighting {lighting!r} (choose from {', '.join(LIGHTINGS)})")
    return HeadGeometry(seed, hair=hair, config=SynthConfig(lighting=lighting), model=model)


def scene_dir_geometry(scene_dir, to_world: np.ndarray | None = None, cfg: GeometryConfig = GeometryConfig(),
                       model: HeadModel | None = None) -> GeometrySamples:
    """Geometry samples of a ``neuhead synth`` scene folder, regenerated from its seed (``scene_dir_head``).

    ``to_world``: the loaded scene's unit sphere -> mm (its ``scale_mat``); the regenerated head must
    sit exactly there, else the folder was not written by this generator (InputError).
    """
    from neuhead.errors import InputError

    head = scene_dir_head(scene_dir, model)
    if to_world is not None and not np.allclose(head.to_world, to_world, rtol=1e-5, atol=1e-3):
        raise InputError(f"{scene_dir}: the head regenerated from seed {head.seed} does not sit where the scene's "
                         "scale_mat puts it (written by another generator version?)")
    return head.samples(cfg, head.seed)


__all__ = ["GeometryConfig", "GeometrySamples", "HeadGeometry", "head_geometry", "scene_dir_geometry", "scene_dir_head"]
