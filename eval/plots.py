"""Plots (matplotlib, Agg): per-vertex error heatmaps on a mesh, and the benchmark bar chart.

No imports from neuhead; files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.meshio import atomic_output


def _figure(figsize):
    # a bare Figure renders with Agg on savefig: no pyplot, no global backend switch in library code
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=100)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
    return path


def view_basis(front, up) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal (right, up, front) from a front direction (towards the viewer) and a rough up."""
    f = np.asarray(front, dtype=np.float64)
    f = f / np.linalg.norm(f)
    u = np.asarray(up, dtype=np.float64)
    u = u - (u @ f) * f
    if np.linalg.norm(u) < 1e-9:
        raise ValueError("view_basis: 'up' is parallel to 'front'")
    u = u / np.linalg.norm(u)
    return np.cross(u, f), u, f


def _draw_mesh(ax, vertices, faces, face_rgb, toward_viewer, right, up):
    """Orthographic painter's-algorithm drawing of the faces turned towards the viewer."""
    from matplotlib.collections import PolyCollection

    tri = vertices[faces]  # (m, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    nn = np.linalg.norm(n, axis=1)
    ok = nn > 0
    cosv = np.zeros(len(faces))
    cosv[ok] = (n[ok] @ toward_viewer) / nn[ok]
    # unknown winding: shade by |cos| and keep every face, back faces are hidden by the depth sort
    depth = tri.mean(1) @ toward_viewer
    order = np.argsort(depth)
    xy = np.stack([tri @ right, tri @ up], -1)[order]  # (m, 3, 2)
    shade = (0.35 + 0.65 * np.abs(cosv))[order, None]
    col = np.clip(face_rgb[order] * shade, 0, 1)
    pc = PolyCollection(xy, facecolors=col, edgecolors="none", antialiased=False)
    ax.add_collection(pc)
    lo, hi = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    pad = 0.03 * (hi - lo).max()
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.axis("off")


def error_heatmap(vertices, faces, errors, path: str | Path, *, front=(0.0, 0.0, 1.0), up=(0.0, 1.0, 0.0),
                  vmax: float | None = None, title: str | None = None, units: str = "mm") -> Path:
    """Per-vertex errors (n,) on the mesh, drawn from the front and from the side, to a PNG.

    Vertices whose error is NaN (not scored) are grey. ``front`` points from the head towards a
    viewer in front of it; ``up`` roughly to the top of the head. ``vmax`` clips the colour scale
    (default: the 95th percentile of the errors).
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    e = np.asarray(errors, dtype=np.float64)
    if e.shape != (len(v),):
        raise ValueError(f"error_heatmap: expected one error per vertex ({len(v)}), got {e.shape}")
    if len(f) == 0:
        raise ValueError("error_heatmap: the mesh has no faces to draw")
    finite = e[np.isfinite(e)]
    if vmax is None:
        vmax = float(np.percentile(finite, 95)) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    norm = Normalize(0.0, vmax)
    cmap = colormaps["inferno"]
    fe = e[f]  # (m, 3)
    known = np.isfinite(fe).all(1)
    face_rgb = np.full((len(f), 3), 0.6)
    face_rgb[known] = cmap(norm(fe[known].mean(1)))[:, :3]

    right, upv, fr = view_basis(front, up)
    fig = _figure((10, 5.4))
    axes = fig.subplots(1, 2)
    _draw_mesh(axes[0], v, f, face_rgb, fr, right, upv)
    axes[0].set_title("front")
    # side: seen from the head's right-hand side (the viewer's left in the front view)
    _draw_mesh(axes[1], v, f, face_rgb, -right, fr, upv)
    axes[1].set_title("side")
    sm = ScalarMappable(norm=norm, cmap=cmap)
    cb = fig.colorbar(sm, ax=axes, shrink=0.8, extend="max")
    cb.set_label(f"distance to prediction ({units})")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def bar_chart(groups: dict[str, dict[str, float]], path: str | Path, *, title: str | None = None,
              units: str = "mm", reference: dict[str, dict[str, float]] | None = None) -> Path:
    """One panel per group (e.g. ``{"face": {"F": 1.9, "L": 2.1, "R": 2.0, "mean": 2.0}, "head": ...}``),
    one bar per column; ``reference`` draws dashed lines labelled by name (e.g. published numbers:
    ``{"Multi-NeuS (paper)": {"face": 1.84, "head": 12.74}}``). NaN values are drawn as 'n/a'."""
    if not groups:
        raise ValueError("bar_chart: nothing to plot")
    fig = _figure((4.2 * len(groups), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    for ax, (gname, cols) in zip(axes, groups.items()):
        names = list(cols)
        vals = np.array([cols[c] for c in names], dtype=np.float64)
        xs = np.arange(len(names))
        colours = ["#4C72B0" if n != "mean" else "#C44E52" for n in names]
        bars = ax.bar(xs, np.nan_to_num(vals), color=colours)
        for b, val in zip(bars, vals):
            ax.annotate("n/a" if not np.isfinite(val) else f"{val:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=8)
        for i, (rname, rvals) in enumerate((reference or {}).items()):
            if gname in rvals:
                ax.axhline(rvals[gname], ls="--", lw=1, color=f"C{i + 2}", label=rname)
        if reference and any(gname in r for r in reference.values()):
            ax.legend(fontsize=7, loc="best")
        ax.set_xticks(xs, names)
        ax.set_title(gname)
        ax.set_ylabel(f"mean distance ({units})")
        top = np.nanmax(np.r_[vals, [r.get(gname, np.nan) for r in (reference or {}).values()], 0.0])
        ax.set_ylim(0, 1.15 * top if top > 0 else 1)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def head_view_axes(vertices, nose_tip=None, eyes_mid=None, mouth_mid=None) -> tuple[np.ndarray, np.ndarray]:
    """(front, up) for ``error_heatmap`` from landmarks: front = nose tip − centroid of the mesh,
    up = eyes − mouth (orthogonalised); without landmarks +z / +y."""
    v = np.asarray(vertices, dtype=np.float64)
    if nose_tip is None:
        return np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    front = np.asarray(nose_tip, dtype=np.float64) - v.mean(0)
    front /= np.linalg.norm(front)
    if eyes_mid is not None and mouth_mid is not None:
        up = np.asarray(eyes_mid, dtype=np.float64) - np.asarray(mouth_mid, dtype=np.float64)
    else:
        up = np.array([0.0, 1.0, 0.0])
    up = up - (up @ front) * front
    if np.linalg.norm(up) < 1e-6:
        up = np.array([0.0, 0.0, 1.0]) - front[2] * front
    return front, up / np.linalg.norm(up)
