"""A fitted head: the model of one scene plus its frame, with numpy callables for meshing/export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from meshing.extract import OUTPUT_RESOLUTION
from meshing.frames import UNITS_PER_MM
from neuhead.cameras import Cameras, rays_for_pixels
from neuhead.config import FitConfig, RenderConfig, from_dict
from neuhead.errors import InputError
from neuhead.model.multineus import MultiNeuS, SDFModule
from neuhead.render import model_fns, render_image
from neuhead.train.checkpoint import load_checkpoint
from neuhead.train.fit import CHECKPOINT_NAME


UNIT_GUESS_FACTOR = 2.0
"""a head may be this many times smaller or larger than the canonical one and still say its units"""


def guess_units(world_units_per_mm: float) -> str | None:
    """The unit ("mm", "cm", "m") whose size makes the head head-sized, or None when none fits.

    ``world_units_per_mm``: world units per millimetre of head, e.g. ``scene.world_scale / CANONICAL_SCALE_MM``
    for a head placed in the canonical frame (the unit sphere is 200 mm of head). A unit is named when the
    value is within a factor ``UNIT_GUESS_FACTOR`` of its size (≈ 1 → mm, ≈ 0.1 → cm, ≈ 0.001 → m).
    """
    x = float(world_units_per_mm)
    if not np.isfinite(x) or x <= 0:
        return None
    for name, per_mm in UNITS_PER_MM.items():
        if abs(np.log(x / per_mm)) <= np.log(UNIT_GUESS_FACTOR):
            return name
    return None


@dataclass(frozen=True)
class RenderedView:
    """One camera rendered from the field: rgb (H, W, 3) (no background), opacity (H, W), depth (H, W) (unit frame)."""

    rgb: np.ndarray
    opacity: np.ndarray
    depth: np.ndarray


@dataclass
class Reconstruction:
    """One fitted scene of a MultiNeuS model.

    to_world: (4, 4) unit-sphere frame -> the input's world frame; world_units: "mm", "cm", "m" or "unit".
    cameras: the (refined) input cameras in the unit-sphere frame, if known.
    """

    model: MultiNeuS
    scene_index: int
    to_world: np.ndarray
    world_units: str = "unit"
    render_cfg: RenderConfig = field(default_factory=RenderConfig)
    cameras: Cameras | None = None
    report: dict = field(default_factory=dict)
    chunk: int = 65536
    scene: object = None
    """the input Scene when known (``neuhead fit`` / the API set it): its photos texture :meth:`export`"""
    _mesh: object = None

    # --- numpy callables in the unit-sphere frame (what meshing/ takes) ---------------------------
    def sdf_fn(self, points: np.ndarray) -> np.ndarray:
        """SDF (n,) at unit-frame points (n, 3), in unit-frame units."""
        x = torch.as_tensor(np.asarray(points, dtype=np.float32))
        if len(x) == 0:
            return np.zeros(0, np.float32)
        with torch.no_grad():
            return torch.cat([self.model.sdf(c, self.scene_index) for c in x.split(self.chunk)]).numpy()

    def color_fn(self, points: np.ndarray, normals: np.ndarray | None = None) -> np.ndarray:
        """Radiance (n, 3) at unit-frame surface points seen along -normal.

        With ``normals`` (unit, outward, e.g. the mesh's) they stand in for the SDF gradient the radiance
        network was trained with (|∇f| ≈ 1 by the eikonal loss) and only a forward pass is needed;
        without, the SDF gradient is computed by autograd.
        """
        out = []
        x_all = torch.as_tensor(np.asarray(points, dtype=np.float32))
        n_all = None if normals is None else torch.as_tensor(np.asarray(normals, dtype=np.float32))
        for i in range(0, len(x_all), self.chunk):
            x = x_all[i:i + self.chunk]
            if n_all is None:
                _, feat, grad = self.model.sdf_features_gradient(x, self.scene_index, create_graph=False)
            else:
                grad = n_all[i:i + self.chunk]
                with torch.no_grad():
                    feat = self.model.sdf_net(x, self.scene_index)[1]
            with torch.no_grad():
                d = -grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-8)
                out.append(self.model.color(x, grad, feat, d, self.scene_index))
        return torch.cat(out).numpy() if out else np.zeros((0, 3), np.float32)

    def sdf_module(self) -> torch.nn.Module:
        """This scene's SDF as a standalone ``nn.Module`` (unit-frame points (n, 3) -> (n,))."""
        return SDFModule(self.model, self.scene_index).eval()

    # --- world-frame API --------------------------------------------------------------------------
    @property
    def world_scale(self) -> float:
        return float(np.cbrt(abs(np.linalg.det(self.to_world[:3, :3]))))

    def to_unit(self, points_world: np.ndarray) -> np.ndarray:
        inv = np.linalg.inv(self.to_world)
        return np.asarray(points_world, dtype=np.float64) @ inv[:3, :3].T + inv[:3, 3]

    def sdf(self, points_world: np.ndarray) -> np.ndarray:
        """Signed distance in world units at world points (n, 3)."""
        return self.sdf_fn(self.to_unit(points_world)) * self.world_scale

    def extract_mesh(self, resolution: int = OUTPUT_RESOLUTION):
        """Marching-cubes mesh in the world frame with vertex colours (trimesh.Trimesh)."""
        from meshing.extract import MeshConfig, extract_mesh
        from meshing.grid import GridConfig

        return extract_mesh(self.sdf_fn, self.color_fn, self.to_world, MeshConfig(grid=GridConfig(resolution=resolution)))

    @property
    def mesh(self):
        """The world-frame mesh at ``OUTPUT_RESOLUTION`` (extracted once)."""
        if self._mesh is None:
            self._mesh = self.extract_mesh()
        return self._mesh

    def render(self, cameras: Cameras, index: int = 0, world: bool = True) -> "RenderedView":
        """Render one camera of the field (world-frame cameras unless ``world=False``)."""
        cams = cameras.transformed(np.linalg.inv(self.to_world)) if world else cameras
        H, W = cams.height, cams.width
        v, u = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
        rays = rays_for_pixels(cams, np.full(H * W, index), u.ravel(), v.ravel())
        with torch.no_grad():
            out = render_image(model_fns(self.model, self.scene_index), rays, self.render_cfg)
        return RenderedView(out.rgb.numpy().reshape(H, W, 3), out.opacity.numpy().reshape(H, W),
                            out.depth.numpy().reshape(H, W))

    def render_fn(self, width: int, height: int, background: float = 1.0):
        """A differentiable ``render_fn(K (3, 3), c2w (4, 4)) -> (H, W, 3)`` torch image for unit-frame
        cameras (what ``eval.images`` refines control cameras with). Background: a constant grey level."""
        from neuhead.cameras import Rays, pixel_rays, sphere_near_far
        from neuhead.render import render_rays

        v, u = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        fns = model_fns(self.model, self.scene_index)

        def fn(K: torch.Tensor, c2w: torch.Tensor) -> torch.Tensor:
            o, d = pixel_rays(K.double(), c2w.double(), u.reshape(-1), v.reshape(-1))
            near, far, _ = sphere_near_far(o.detach(), d.detach())
            out = render_rays(Rays(o.float(), d.float(), near.float(), far.float()), fns, self.render_cfg,
                              training=False)
            rgb = out.rgb + (1.0 - out.opacity) * background
            return rgb.reshape(height, width, 3)

        return fn

    def export_units(self, override: str | None = None) -> tuple[str, list[str]]:
        """World units for the export and the notes that say how they were chosen.

        ``override`` ("mm", "cm", "m") wins; known units are kept; unknown ("unit") ones are guessed from
        the head's size in the canonical frame (:func:`guess_units`), and stay "unit" when no unit fits.
        """
        from neuhead.data.canonical import CANONICAL_SCALE_MM

        if override is not None:
            if override not in UNITS_PER_MM:
                raise InputError(f"--world-units {override!r}: expected one of {', '.join(UNITS_PER_MM)}")
            return override, [f"world units set to {override} by the user"]
        if self.world_units != "unit":
            return self.world_units, []
        per_mm = self.world_scale / CANONICAL_SCALE_MM
        guess = guess_units(per_mm)
        if guess is None:
            return "unit", []
        return guess, [f"the input's world units are unknown; the head's size ({per_mm:.3g} world units per mm of "
                       f"the canonical head) says {guess}, so they were taken as {guess} (GLB in metres); "
                       "pass --world-units to override"]

    def photo_views(self, scene) -> list:
        """The scene's images and masks with this fit's (refined) cameras, as :class:`meshing.texture.PhotoView`
        in the unit frame — what a photo texture bake projects."""
        from meshing.texture import PhotoView

        cams = self.cameras if self.cameras is not None else scene.cameras
        if len(cams) != len(scene) or (cams.width, cams.height) != (scene.width, scene.height):
            raise InputError(f"the scene's {len(scene)} images of {scene.width}x{scene.height} do not match the fit's "
                             f"{len(cams)} cameras of {cams.width}x{cams.height}")
        return [PhotoView(scene.images[i], cams.K[i], cams.c2w[i], None if scene.masks is None else scene.masks[i])
                for i in range(len(scene))]

    def export(self, path: str | Path, scene=None, texture_source: str = "photo", world_units: str | None = None,
               **options):
        """Write the head to ``path`` (.glb, .obj or .ply) with the export pipeline of ``meshing``.

        ``scene``: the input Scene (default: :attr:`scene`); with it and ``texture_source="photo"`` the texture
        is projected from its photos at the refined cameras (the field fills the rest); without, the field
        alone. ``world_units`` overrides unknown units.
        """
        from meshing.export import export_asset

        scene = self.scene if scene is None else scene
        units, notes = self.export_units(world_units)
        views = self.photo_views(scene) if scene is not None and texture_source == "photo" else None
        return export_asset(self.sdf_fn, self.color_fn, self.to_world, path, world_units=units, views=views,
                            notes=notes, texture_source=texture_source, **options)


def load_reconstruction(path: str | Path) -> Reconstruction:
    """A Reconstruction from a checkpoint file or a run folder holding ``checkpoint.safetensors``."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    ckpt = load_checkpoint(path)
    meta = ckpt.meta
    try:
        cfg = from_dict(FitConfig, meta["config"])
        model = MultiNeuS(cfg.model, n_scenes=int(meta["n_scenes"]),
                          background=any(k.startswith("background.") for k in ckpt.model_state()))
        model.load_state_dict(ckpt.model_state())
    except (KeyError, ValueError, RuntimeError) as e:
        raise InputError(f"{path}: checkpoint does not match the model ({e.__class__.__name__}: {e})") from None
    model.eval()
    cams = None
    if "cameras" in meta:
        c = meta["cameras"]
        cams = Cameras(np.asarray(c["K"]), np.asarray(c["c2w"]), c["width"], c["height"])
    return Reconstruction(model, int(meta["scene_index"]), np.asarray(meta["to_world"]), meta.get("world_units", "unit"),
                          cfg.render, cams, meta.get("report", {}))
