"""Cameras, rays and the ray-sphere bounds. The one place the camera convention is written.

Convention (everywhere in neuhead): OpenCV camera axes (x right, y down, z forward),
``c2w`` is a 4x4 camera-to-world matrix for column vectors, ``p_world = c2w @ p_cam``.
Pixel (u, v) has its centre at (u + 0.5, v + 0.5) in the intrinsics' pixel frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from meshing.camera import look_at  # noqa: F401  (one copy, in the lowest package; re-exported here)


@dataclass(frozen=True)
class Cameras:
    """A set of pinhole cameras.

    K: (n, 3, 3) intrinsics in pixels; c2w: (n, 4, 4) camera-to-world; width/height in pixels.
    """

    K: np.ndarray
    c2w: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        c2w = np.asarray(self.c2w, dtype=np.float64)
        if K.ndim != 3 or K.shape[1:] != (3, 3):
            raise ValueError(f"Cameras.K must have shape (n, 3, 3), got {K.shape}")
        if c2w.ndim != 3 or c2w.shape[1:] != (4, 4) or len(c2w) != len(K):
            raise ValueError(f"Cameras.c2w must have shape ({len(K)}, 4, 4), got {c2w.shape}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "c2w", c2w)

    def __len__(self) -> int:
        return len(self.K)

    def subset(self, idx) -> "Cameras":
        idx = np.asarray(idx, dtype=np.int64)
        return Cameras(self.K[idx], self.c2w[idx], self.width, self.height)

    @property
    def centers(self) -> np.ndarray:
        """(n, 3) camera centres in world coordinates."""
        return self.c2w[:, :3, 3]

    def projection(self) -> np.ndarray:
        """(n, 3, 4) world -> pixel projection matrices ``K [R | t]`` (w2c = inv(c2w))."""
        w2c = np.linalg.inv(self.c2w)
        return self.K @ w2c[:, :3, :]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points (m, 3) into every camera -> (pixels (n, m, 2), depth (n, m))."""
        P = self.projection()
        ph = np.concatenate([points, np.ones((len(points), 1))], axis=1)  # (m, 4)
        uvw = np.einsum("nij,mj->nmi", P, ph)
        depth = uvw[..., 2]
        return uvw[..., :2] / depth[..., None], depth

    def transformed(self, T: np.ndarray) -> "Cameras":
        """Cameras after the world is mapped by the 4x4 similarity ``T`` (new = T @ old).

        The scale of ``T`` is removed from the rotation part so c2w stays rigid.
        """
        T = np.asarray(T, dtype=np.float64)
        s = np.cbrt(np.linalg.det(T[:3, :3]))
        if not np.isfinite(s) or s <= 0:
            raise ValueError("transformed: T must be a similarity with positive scale")
        c2w = T[None] @ self.c2w
        c2w[:, :3, :3] /= s
        return Cameras(self.K.copy(), c2w, self.width, self.height)


@dataclass
class Rays:
    """A batch of rays. origins/dirs: (n, 3) (dirs unit length); near/far: (n, 1)."""

    origins: torch.Tensor
    dirs: torch.Tensor
    near: torch.Tensor
    far: torch.Tensor


def pixel_rays(K: torch.Tensor, c2w: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through pixel centres.

    K: (n, 3, 3) or (3, 3); c2w: (n, 4, 4) or (4, 4) (per ray or shared); u, v: (n,) integer pixel
    indices (column, row). Returns origins (n, 3) and unit directions (n, 3) in world space.
    """
    u = u.to(c2w.dtype) + 0.5
    v = v.to(c2w.dtype) + 0.5
    if K.dim() == 2:
        K = K.expand(len(u), 3, 3)
    if c2w.dim() == 2:
        c2w = c2w.expand(len(u), 4, 4)
    x = (u - K[:, 0, 2] - K[:, 0, 1] * (v - K[:, 1, 2]) / K[:, 1, 1]) / K[:, 0, 0]
    y = (v - K[:, 1, 2]) / K[:, 1, 1]
    d_cam = torch.stack([x, y, torch.ones_like(x)], dim=-1)  # (n, 3)
    d = torch.einsum("nij,nj->ni", c2w[:, :3, :3], d_cam)
    d = d / d.norm(dim=-1, keepdim=True)
    return c2w[:, :3, 3].clone(), d


def sphere_near_far(origins: torch.Tensor, dirs: torch.Tensor, radius: float = 1.0,
                    min_near: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ray / sphere-at-origin intersection for unit ``dirs``.

    Returns near (n, 1), far (n, 1) and hit (n,) bool. Rays that miss get the chord around the
    closest point to the centre (near = far - eps is avoided: they get [mid - 0.01, mid + 0.01]).
    """
    b = (origins * dirs).sum(-1, keepdim=True)  # (n, 1) = o.d
    c = (origins * origins).sum(-1, keepdim=True) - radius**2
    disc = b * b - c
    hit = disc[:, 0] > 0
    sq = disc.clamp_min(0).sqrt()
    near = (-b - sq).clamp_min(min_near)
    far = -b + sq
    far = torch.where(far > near + 1e-2, far, near + 1e-2)
    return near, far, hit


def pixels_near_point(K: np.ndarray, c2w: np.ndarray, height: int, width: int, point, radius: float) -> np.ndarray:
    """(n, H, W) bool: the pixels (centres) of each camera whose ray passes within ``radius`` of ``point``
    in front of the camera (the image of a sphere). K (n, 3, 3), c2w (n, 4, 4), world units."""
    n = len(K)
    v, u = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    u_t, v_t = torch.as_tensor(u.ravel()), torch.as_tensor(v.ravel())
    c = torch.as_tensor(np.asarray(point, np.float64))
    out = np.zeros((n, height, width), bool)
    for i in range(n):
        o, d = pixel_rays(torch.as_tensor(K[i], dtype=torch.float64), torch.as_tensor(c2w[i], dtype=torch.float64), u_t, v_t)
        t = ((c - o) * d).sum(-1)  # along the ray to the closest point
        dist = ((c - o) - t[:, None] * d).norm(dim=-1)
        out[i] = ((dist < radius) & (t > 0)).numpy().reshape(height, width)
    return out


def rays_for_pixels(cams: Cameras, cam_idx: np.ndarray, u: np.ndarray, v: np.ndarray,
                    dtype=torch.float32, device="cpu") -> Rays:
    """Build ``Rays`` for pixel indices of given cameras (all numpy int arrays of shape (n,))."""
    K = torch.as_tensor(cams.K[cam_idx], dtype=torch.float64)
    c2w = torch.as_tensor(cams.c2w[cam_idx], dtype=torch.float64)
    o, d = pixel_rays(K, c2w, torch.as_tensor(u), torch.as_tensor(v))
    near, far, _ = sphere_near_far(o, d)
    f = lambda t: t.to(dtype=dtype, device=device)
    return Rays(f(o), f(d), f(near), f(far))


def intrinsics(fov_y_deg: float, width: int, height: int) -> np.ndarray:
    """(3, 3) pinhole intrinsics with square pixels and the principal point at the image centre."""
    f = 0.5 * height / np.tan(np.deg2rad(fov_y_deg) / 2)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])


def skew(w: torch.Tensor) -> torch.Tensor:
    """(n, 3) -> (n, 3, 3) cross-product matrices."""
    z = torch.zeros_like(w[:, 0])
    return torch.stack([
        torch.stack([z, -w[:, 2], w[:, 1]], -1),
        torch.stack([w[:, 2], z, -w[:, 0]], -1),
        torch.stack([-w[:, 1], w[:, 0], z], -1),
    ], -2)


def so3_exp(w: torch.Tensor) -> torch.Tensor:
    """Rotation matrices exp([w]x) for axis-angle vectors w (n, 3)."""
    return torch.linalg.matrix_exp(skew(w))


class CameraRefinement(torch.nn.Module):
    """Per-camera pose and focal corrections and one head pose shared by all cameras, zero-initialised (identity).

    ``R = R0 exp([ω]x)`` (rotation update in the camera frame), ``t = t0 + δt``, ``f = f0 exp(δ)``; then every
    camera is moved by the head pose ``G = [exp([ω_h]x) | δt_h]`` about the unit frame's origin (the canonical
    head centre): ``c2w = G @ c2w``. ``G`` is the placement's correction, the same for every view, so a few
    degrees of a wrong head orientation can be undone by orbiting all cameras together (the per-camera terms
    would have to move a rotation and a translation in step). Its parameters get their own learning rate
    (``StageConfig.head_pose_lr_ratio``; 0 leaves them at identity).
    ``forward(K0 (n,3,3), c2w0 (n,4,4)) -> (K, c2w)`` differentiable in ω, δt, δ, ω_h, δt_h.
    """

    def __init__(self, n_cameras: int) -> None:
        super().__init__()
        self.rotation = torch.nn.Parameter(torch.zeros(n_cameras, 3, dtype=torch.float64))
        self.translation = torch.nn.Parameter(torch.zeros(n_cameras, 3, dtype=torch.float64))
        self.log_focal = torch.nn.Parameter(torch.zeros(n_cameras, dtype=torch.float64))
        self.head_rotation = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        self.head_translation = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))

    def camera_parameters(self) -> list[torch.nn.Parameter]:
        """The per-camera corrections (pose and focal)."""
        return [self.rotation, self.translation, self.log_focal]

    def head_parameters(self) -> list[torch.nn.Parameter]:
        """The head pose shared by every camera."""
        return [self.head_rotation, self.head_translation]

    def forward(self, K0: torch.Tensor, c2w0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        R = c2w0[:, :3, :3] @ so3_exp(self.rotation.to(c2w0.dtype))
        t = c2w0[:, :3, 3] + self.translation.to(c2w0.dtype)
        Rh = so3_exp(self.head_rotation.to(c2w0.dtype)[None])[0]
        th = self.head_translation.to(c2w0.dtype)
        R, t = Rh @ R, t @ Rh.T + th
        bottom = c2w0[:, 3:, :]
        c2w = torch.cat([torch.cat([R, t[:, :, None]], 2), bottom], 1)
        scale = torch.exp(self.log_focal.to(K0.dtype))[:, None, None]
        E = torch.zeros(3, 3, dtype=K0.dtype, device=K0.device)
        E[:2, :2] = 1.0  # fx, skew, fy scale; the principal point does not
        K = K0 * (1.0 + (scale - 1.0) * E)
        return K, c2w

    @torch.no_grad()
    def head_pose(self) -> np.ndarray:
        """(4, 4) the head pose ``G`` (float64): the fitted frame's cameras are ``G @`` the placed ones, so the
        scene's ``to_world`` becomes ``to_world @ inv(G)`` to keep the input's cameras where they were."""
        G = np.eye(4)
        G[:3, :3] = so3_exp(self.head_rotation.detach().double().cpu()[None])[0].numpy()
        G[:3, 3] = self.head_translation.detach().double().cpu().numpy()
        return G

    def load_state_dict(self, state, strict: bool = True, assign: bool = False):
        """As ``Module.load_state_dict``; a state saved before the head pose existed loads with it at identity."""
        state = dict(state)
        for name in ("head_rotation", "head_translation"):
            state.setdefault(name, torch.zeros(3, dtype=torch.float64))
        return super().load_state_dict(state, strict=strict, assign=assign)

    @torch.no_grad()
    def apply_to(self, cams: Cameras) -> Cameras:
        K, c2w = self(torch.as_tensor(cams.K), torch.as_tensor(cams.c2w))
        return Cameras(K.numpy(), c2w.numpy(), cams.width, cams.height)
