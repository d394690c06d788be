"""NeuS volume rendering as small pure functions.

uniform_z → up_sample_z (NeuS hierarchical) → sdf_to_alpha → weights_from_alpha → composite; or, the fast path,
uniform_z → first_surface_z → band_z (a narrow band around each ray's first surface) → the same compositing.
Shapes: ``(n_rays, n_samples)`` for per-sample scalars, ``(n_rays, n_samples, 3)`` for vectors.
The samplers take an ``sdf_fn``; ``render_rays`` takes ``FieldFns`` (callables), never the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from neuhead.cameras import Rays
from neuhead.config import RenderConfig


@dataclass
class FieldFns:
    """The callables the renderer needs from a model, for one scene.

    sdf: x (n, 3) -> (n,); sdf_grad: (x, create_graph) -> (sdf (n,), features (n, F), grad (n, 3));
    color: (x, normals, features, dirs) -> (n, 3); inv_s: () -> scalar tensor;
    background: optional NeRF++ field (x (n, 3) outside the sphere, dirs) -> (density (n,), rgb (n, 3)).
    """

    sdf: Callable[[torch.Tensor], torch.Tensor]
    sdf_grad: Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    color: Callable[..., torch.Tensor]
    inv_s: Callable[[], torch.Tensor]
    background: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None


@dataclass
class RenderOutputs:
    """rgb (n, 3), opacity (n, 1), depth (n, 1) along the unit ray, normal (n, 3) (world, weighted),
    gradients (n, s, 3) and radius (n, s) (|x| of each sample) for the eikonal loss, weights (n, s), z (n, s)."""

    rgb: torch.Tensor
    opacity: torch.Tensor
    depth: torch.Tensor
    normal: torch.Tensor
    gradients: torch.Tensor
    radius: torch.Tensor
    weights: torch.Tensor
    z: torch.Tensor


def uniform_z(near: torch.Tensor, far: torch.Tensor, n: int, perturb: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """n stratified depths per ray in [near, far]; one random shift per ray when ``perturb``.

    near, far: (n_rays, 1) -> z: (n_rays, n).
    """
    t = torch.linspace(0.0, 1.0, n + 1, dtype=near.dtype, device=near.device)[:-1]  # (n,) left edges
    # random numbers are drawn on the generator's (CPU) device, so a seed gives the same rays on any device
    shift = (torch.rand(near.shape, generator=generator, dtype=near.dtype).to(near.device) if perturb
             else torch.full_like(near, 0.5))
    t = t[None] + shift / n
    return near + (far - near) * t


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, n: int, det: bool = True,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverse-CDF sampling of n depths from a piecewise-constant pdf.

    bins: (n_rays, m + 1) edges, weights: (n_rays, m) -> samples (n_rays, n).
    """
    w = weights + 1e-5
    pdf = w / w.sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], -1)  # (n_rays, m + 1)
    if det:
        u = torch.linspace(0.5 / n, 1 - 0.5 / n, n, dtype=bins.dtype, device=bins.device).expand(len(bins), n).contiguous()
    else:
        u = torch.rand(len(bins), n, generator=generator, dtype=bins.dtype).to(bins.device)
    idx = torch.searchsorted(cdf.contiguous(), u, right=True)
    below = (idx - 1).clamp_min(0)
    above = idx.clamp_max(cdf.shape[-1] - 1)
    cdf_b, cdf_a = cdf.gather(1, below), cdf.gather(1, above)
    bin_b, bin_a = bins.gather(1, below), bins.gather(1, above)
    denom = torch.where(cdf_a - cdf_b < 1e-5, torch.ones_like(cdf_a), cdf_a - cdf_b)
    return bin_b + (u - cdf_b) / denom * (bin_a - bin_b)


def up_sample_z(origins: torch.Tensor, dirs: torch.Tensor, z: torch.Tensor, sdf: torch.Tensor,
                n_importance: int, inv_s: float) -> torch.Tensor:
    """NeuS up-sampling: new depths where the SDF (at z, (n_rays, s)) crosses zero, with a fixed inv_s.

    The cosine between ray and surface is estimated from consecutive samples (the min of this and the
    previous section, clipped to [-1e3, 0]); section alphas give weights; sample_pdf draws n_importance.
    """
    pts = origins[:, None] + dirs[:, None] * z[..., None]
    radius = pts.norm(dim=-1)
    inside = ((radius[:, :-1] < 1.0) | (radius[:, 1:] < 1.0)).to(z.dtype)
    prev_sdf, next_sdf = sdf[:, :-1], sdf[:, 1:]
    prev_z, next_z = z[:, :-1], z[:, 1:]
    mid_sdf = 0.5 * (prev_sdf + next_sdf)
    cos = (next_sdf - prev_sdf) / (next_z - prev_z + 1e-5)
    prev_cos = torch.cat([torch.zeros_like(cos[:, :1]), cos[:, :-1]], -1)
    cos = torch.minimum(prev_cos, cos).clamp(-1e3, 0.0) * inside
    dist = next_z - prev_z
    prev_cdf = torch.sigmoid((mid_sdf - cos * dist * 0.5) * inv_s)
    next_cdf = torch.sigmoid((mid_sdf + cos * dist * 0.5) * inv_s)
    alpha = (prev_cdf - next_cdf + 1e-5) / (prev_cdf + 1e-5)
    w = weights_from_alpha(alpha)
    return sample_pdf(z, w, n_importance, det=True)


def sdf_to_alpha(sdf: torch.Tensor, cos: torch.Tensor, dists: torch.Tensor, inv_s: torch.Tensor,
                 cos_anneal_ratio: float = 1.0) -> torch.Tensor:
    """NeuS opacity of each section from the SDF at its midpoint.

    ``iter_cos = -(relu(-cos/2 + 1/2)(1 - r) + relu(-cos) r)`` (r = cos_anneal_ratio);
    section ends ``f± = f ± iter_cos · δ/2``; ``Φ = sigmoid(inv_s ·)``;
    ``α = clip((Φ(f-) - Φ(f+) + 1e-5) / (Φ(f-) + 1e-5), 0, 1)``.
    sdf, cos (= dir · ∇f), dists: (n_rays, s) -> alpha (n_rays, s).
    """
    iter_cos = -(torch.relu(-cos * 0.5 + 0.5) * (1.0 - cos_anneal_ratio) + torch.relu(-cos) * cos_anneal_ratio)
    prev_cdf = torch.sigmoid((sdf - iter_cos * dists * 0.5) * inv_s)
    next_cdf = torch.sigmoid((sdf + iter_cos * dists * 0.5) * inv_s)
    return ((prev_cdf - next_cdf + 1e-5) / (prev_cdf + 1e-5)).clamp(0.0, 1.0)


def weights_from_alpha(alpha: torch.Tensor) -> torch.Tensor:
    """``w_i = α_i ∏_{j<i} (1 - α_j)``. alpha: (n_rays, s) -> (n_rays, s)."""
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha + 1e-7], -1), -1)[:, :-1]
    return alpha * trans


def composite(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``sum_i w_i v_i``. weights (n_rays, s), values (n_rays, s[, c]) -> (n_rays, c) or (n_rays, 1)."""
    if values.dim() == 2:
        values = values[..., None]
    return (weights[..., None] * values).sum(1)


def background_color(kind: str, n: int, generator: torch.Generator | None = None,
                     dtype=torch.float32, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """(n, 3) background colours for masked training on ``device``: white, black, random per ray, or None."""
    if kind == "white":
        return torch.ones(n, 3, dtype=dtype, device=device)
    if kind == "black":
        return torch.zeros(n, 3, dtype=dtype, device=device)
    if kind == "random":
        return torch.rand(n, 3, generator=generator, dtype=dtype).to(device)
    if kind == "none":
        return None
    raise ValueError(f"unknown background {kind!r} (white, black, random, none)")


def _sorted_merge(z: torch.Tensor, sdf: torch.Tensor, z_new: torch.Tensor, sdf_new: torch.Tensor):
    z_all = torch.cat([z, z_new], -1)
    z_all, order = torch.sort(z_all, -1)
    return z_all, torch.cat([sdf, sdf_new], -1).gather(1, order)


def sample_along_rays(rays: Rays, sdf_fn: Callable[[torch.Tensor], torch.Tensor], cfg: RenderConfig,
                      perturb: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform samples + NeuS up-sampling (no gradients). Returns sorted z (n_rays, n_samples + n_importance)."""
    z = uniform_z(rays.near, rays.far, cfg.n_samples, perturb, generator)
    if cfg.n_importance <= 0:
        return z
    n_rays = len(z)
    with torch.no_grad():
        pts = rays.origins[:, None] + rays.dirs[:, None] * z[..., None]
        sdf = sdf_fn(pts.reshape(-1, 3)).reshape(n_rays, -1)
        per_step = cfg.n_importance // cfg.up_sample_steps
        for i in range(cfg.up_sample_steps):
            z_new = up_sample_z(rays.origins, rays.dirs, z, sdf, per_step, 64.0 * 2**i)
            if i + 1 < cfg.up_sample_steps:
                pts = rays.origins[:, None] + rays.dirs[:, None] * z_new[..., None]
                sdf_new = sdf_fn(pts.reshape(-1, 3)).reshape(n_rays, -1)
            else:
                sdf_new = torch.zeros_like(z_new)
            z, sdf = _sorted_merge(z, sdf, z_new, sdf_new)
    return z


BAND_MIN_COS = 0.25
"""the narrow band is ``band_width`` of SDF either side of the surface: ``band_width / |cos|`` along a ray that
meets it at an angle, at most ``band_width / BAND_MIN_COS`` (grazing rays and misses)"""


def first_surface_z(rays: Rays, sdf_fn: Callable[[torch.Tensor], torch.Tensor], n: int, perturb: bool,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each ray's first surface from ``n`` uniform samples of the SDF (no gradients): (depth, |cos|), both
    (n_rays, 1). The depth of the first outside-to-inside sign change, linearly interpolated, and the SDF's slope
    along the ray there (clamped to [``BAND_MIN_COS``, 1]); a ray that never crosses gets the depth of its smallest
    SDF (where it grazes the surface, which the mask loss needs) and ``BAND_MIN_COS``."""
    z = uniform_z(rays.near, rays.far, n, perturb, generator)
    with torch.no_grad():
        pts = rays.origins[:, None] + rays.dirs[:, None] * z[..., None]
        sdf = sdf_fn(pts.reshape(-1, 3)).reshape(len(z), -1)
        cross = (sdf[:, :-1] > 0) & (sdf[:, 1:] <= 0)
        i = cross.to(z.dtype).argmax(1, keepdim=True)  # the first crossing (0 where there is none)
        s0, s1 = sdf.gather(1, i), sdf.gather(1, i + 1)
        z0, z1 = z.gather(1, i), z.gather(1, i + 1)
        hit = z0 + (z1 - z0) * s0 / (s0 - s1).clamp_min(1e-12)
        cos = ((s0 - s1) / (z1 - z0).clamp_min(1e-12)).clamp(BAND_MIN_COS, 1.0)
        graze = z.gather(1, sdf.argmin(1, keepdim=True))
        crossed = cross.any(1, keepdim=True)
        return torch.where(crossed, hit, graze), torch.where(crossed, cos, torch.full_like(cos, BAND_MIN_COS))


def band_z(rays: Rays, sdf_fn: Callable[[torch.Tensor], torch.Tensor], cfg: RenderConfig, perturb: bool,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """The narrow-band sampler: ``cfg.band_samples`` depths per ray, evenly spaced (one random shift per ray when
    ``perturb``) over ``cfg.band_width`` of SDF either side of ``first_surface_z`` (so ``band_width / |cos|`` along
    the ray), kept within [near, far]. Returns sorted z (n_rays, band_samples)."""
    centre, cos = first_surface_z(rays, sdf_fn, cfg.n_samples, perturb, generator)
    w = cfg.band_width / cos
    band = uniform_z(centre - w, centre + w, cfg.band_samples, perturb, generator)
    return torch.minimum(torch.maximum(band, rays.near), rays.far)


def render_rays(rays: Rays, fns: FieldFns, cfg: RenderConfig, *, training: bool = True,
                cos_anneal_ratio: float = 1.0, bg_rgb: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> RenderOutputs:
    """Render a batch of rays inside the unit sphere.

    Behind the object: the NeRF++ background field if ``fns.background`` is set, else ``bg_rgb`` (n, 3)
    if given, else nothing (black). ``training`` perturbs samples and keeps the graph for the eikonal term.
    """
    perturb = training and cfg.perturb
    if cfg.band_samples > 0:
        z = band_z(rays, fns.sdf, cfg, perturb, generator)
        sample_dist = (z[:, -1:] - z[:, :1]) / max(cfg.band_samples - 1, 1)  # (n_rays, 1): the band's spacing
    else:
        z = sample_along_rays(rays, fns.sdf, cfg, perturb=perturb, generator=generator)
        sample_dist = (rays.far - rays.near) / cfg.n_samples  # (n_rays, 1)
    n_rays, s = z.shape
    dists = torch.cat([z[:, 1:] - z[:, :-1], sample_dist], -1)
    mid_z = z + 0.5 * dists
    pts = rays.origins[:, None] + rays.dirs[:, None] * mid_z[..., None]  # (n_rays, s, 3)
    dirs = rays.dirs[:, None].expand(n_rays, s, 3)
    flat = pts.reshape(-1, 3)
    sdf, feat, grad = fns.sdf_grad(flat, create_graph=training)
    rgb = fns.color(flat, grad, feat, dirs.reshape(-1, 3)).reshape(n_rays, s, 3)
    grad = grad.reshape(n_rays, s, 3)
    cos = (dirs * grad).sum(-1)
    alpha = sdf_to_alpha(sdf.reshape(n_rays, s), cos, dists, fns.inv_s(), cos_anneal_ratio)
    weights = weights_from_alpha(alpha)
    opacity = weights.sum(-1, keepdim=True)
    color = composite(weights, rgb)
    if fns.background is not None:
        color = color + (1.0 - opacity) * render_background(rays, fns.background, cfg, training, generator)
    elif bg_rgb is not None:
        color = color + (1.0 - opacity) * bg_rgb
    normal = composite(weights, grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-8))
    radius = pts.norm(dim=-1)
    return RenderOutputs(
        rgb=color, opacity=opacity, depth=composite(weights, mid_z), normal=normal,
        gradients=grad, radius=radius, weights=weights, z=mid_z,
    )


def render_background(rays: Rays, bg_fn, cfg: RenderConfig, training: bool,
                      generator: torch.Generator | None = None, n: int | None = None) -> torch.Tensor:
    """NeRF++ outside volume: samples uniform in inverse depth from the sphere exit (far) to infinity.

    Returns the composited background colour (n_rays, 3) (alpha-composited, opaque at the end).
    """
    n = n or max(8, cfg.n_samples // 2)
    n_rays = len(rays.origins)
    # inverse radius 1/r from 1 down to ~0: points at z = far + (1/u - 1) along the ray
    u = uniform_z(torch.full_like(rays.near, 1e-3), torch.ones_like(rays.near), n, training and cfg.perturb, generator)
    u = torch.flip(u, [-1])  # from near the sphere (u ~ 1) outwards
    zb = rays.far + (1.0 / u - 1.0)
    pts = rays.origins[:, None] + rays.dirs[:, None] * zb[..., None]
    dirs = rays.dirs[:, None].expand(n_rays, n, 3)
    density, rgb = bg_fn(pts.reshape(-1, 3), dirs.reshape(-1, 3))
    dz = torch.cat([zb[:, 1:] - zb[:, :-1], torch.full_like(zb[:, :1], 1e10)], -1)
    alpha = 1.0 - torch.exp(-density.reshape(n_rays, n) * dz)
    w = weights_from_alpha(alpha)
    return composite(w, rgb.reshape(n_rays, n, 3))


def model_fns(model, scene: int = 0, background: bool = False) -> FieldFns:
    """``FieldFns`` of one scene of a ``MultiNeuS`` model."""
    return FieldFns(
        sdf=lambda x: model.sdf(x, scene),
        sdf_grad=lambda x, create_graph=True: model.sdf_features_gradient(x, scene, create_graph),
        color=lambda x, n, f, d: model.color(x, n, f, d, scene),
        inv_s=lambda: model.inv_s(scene),
        background=(lambda x, d: model.background(x, d, scene)) if background and model.background is not None else None,
    )


@dataclass
class ImageRender:
    """Rays rendered without gradients: rgb (n, 3), opacity (n, 1), depth (n, 1), normal (n, 3)."""

    rgb: torch.Tensor
    opacity: torch.Tensor
    depth: torch.Tensor
    normal: torch.Tensor


def render_image(fns: FieldFns, rays: Rays, cfg: RenderConfig, bg_rgb: torch.Tensor | None = None) -> ImageRender:
    """Render many rays in chunks of ``cfg.chunk`` without gradients to the parameters."""
    names = ("rgb", "opacity", "depth", "normal")
    out: dict[str, list[torch.Tensor]] = {k: [] for k in names}
    for i in range(0, len(rays.origins), cfg.chunk):
        sl = slice(i, i + cfg.chunk)
        chunk = Rays(rays.origins[sl], rays.dirs[sl], rays.near[sl], rays.far[sl])
        r = render_rays(chunk, fns, cfg, training=False, bg_rgb=None if bg_rgb is None else bg_rgb[sl])
        for k in names:
            out[k].append(getattr(r, k).detach())
    return ImageRender(*(torch.cat(out[k]) for k in names))
