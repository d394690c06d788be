"""The one dataclass every loader produces and the fitting code consumes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from neuhead.cameras import Cameras


@dataclass
class Scene:
    """A multi-view scene in the unit-sphere frame.

    images: (n, H, W, 3) float32 RGB in [0, 1]; masks: (n, H, W) float32 in [0, 1] or None;
    cameras: in the unit-sphere frame; to_world: (4, 4) maps unit-sphere points to the input's own
    world frame (NeuS ``scale_mat``), so ``p_world = to_world @ p_unit``;
    landmarks: optional name -> (3,) position in the *world* frame; names: one per image.
    """

    images: np.ndarray
    masks: np.ndarray | None
    cameras: Cameras
    to_world: np.ndarray = field(default_factory=lambda: np.eye(4))
    names: list[str] = field(default_factory=list)
    landmarks: dict[str, np.ndarray] | None = None
    units: str = "unit"
    """units of the world frame: "mm", "cm", "m" or "unit" (unknown)"""
    placement: object | None = None
    """how the unit-sphere frame was found (``neuhead.data.placement.Placement``), or None"""

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"Scene.images must be (n, H, W, 3), got {self.images.shape}")
        if self.masks is not None and self.masks.shape != self.images.shape[:3]:
            raise ValueError(f"Scene.masks must be {self.images.shape[:3]}, got {self.masks.shape}")
        if len(self.cameras) != n:
            raise ValueError(f"Scene has {n} images but {len(self.cameras)} cameras")
        if not self.names:
            self.names = [f"{i:03d}" for i in range(n)]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def height(self) -> int:
        return self.images.shape[1]

    @property
    def width(self) -> int:
        return self.images.shape[2]

    def subset(self, views) -> "Scene":
        """The scene restricted to the given view indices (order kept as given)."""
        idx = np.asarray(list(views), dtype=np.int64)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= len(self):
            raise ValueError(f"view indices {list(views)} out of range for a scene of {len(self)} views")
        return replace(
            self,
            images=self.images[idx],
            masks=None if self.masks is None else self.masks[idx],
            cameras=self.cameras.subset(idx),
            names=[self.names[i] for i in idx],
        )

    @property
    def world_scale(self) -> float:
        """World units per unit-sphere unit (e.g. mm per unit for an H3DS scene)."""
        return float(np.cbrt(abs(np.linalg.det(self.to_world[:3, :3]))))

    def world_cameras(self) -> Cameras:
        """The cameras in the input's own world frame."""
        return self.cameras.transformed(self.to_world)
