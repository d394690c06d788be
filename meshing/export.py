"""One call from an SDF + colour callable to game-engine-ready files.

:func:`export_asset` extracts the surface once, cleans and decimates it, bakes a UV texture (for GLB
and OBJ) or vertex colours (PLY) and writes every requested file atomically; optionally the SDF grid
(``.npz``) and the SDF network (TorchScript / ONNX). ``neuhead export`` and ``neuhead fit`` both call it.

File frames (see :mod:`meshing.frames`): GLB is metres, +Y up, +Z front, as glTF requires; OBJ and
PLY use ``options.units`` and ``options.file_up``/``file_front``. The applied map is in the report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from meshing import cleanup
from meshing._files import atomic_paths, check_writable
from meshing.errors import ExportError
from meshing.extract import (ColorFn, MeshConfig, Surface, extract_surface, query_colors, transform_mesh,
                             vertex_normals)
from meshing.frames import Conversion, check_units, conversion, similarity_scale
from meshing.grid import SDFFn
from meshing.sdf_export import NET_FORMATS, export_sdf_network, interior_note, write_sdf_grid
from meshing.texture import PhotoView, ProjectionConfig, TextureConfig, bake_texture

log = logging.getLogger(__name__)

MESH_FORMATS = (".glb", ".obj", ".ply")
TEXTURE_SOURCES = ("photo", "field")


@dataclass(frozen=True)
class ExportOptions:
    """What to write and how."""

    mesh: MeshConfig = field(default_factory=MeshConfig)
    """surface extraction (resolution, hierarchical, largest component, hole filling)"""
    faces: int | None = 50_000
    """target face count of the quadric decimation; None keeps the marching-cubes mesh"""
    texture: TextureConfig = field(default_factory=TextureConfig)
    """atlas and bake settings (size 2048 by default) for GLB and OBJ"""
    texture_source: str = "photo"
    """"photo": project the input photos (``views``) where they see the surface, the field elsewhere;
    "field": the radiance field alone. Without photos the bake is the field's either way"""
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    """photo projection weights and the photo/field blend"""
    units: str = "m"
    """units of OBJ and PLY coordinates (mm, cm, m); GLB is always metres"""
    world_up: str = "+y"
    """axis of the scene's world frame that points up (e.g. -y for OpenCV-style worlds)"""
    world_front: str = "+z"
    """axis of the scene's world frame the face looks along"""
    file_up: str = "+y"
    """up axis in OBJ/PLY files (+y for most tools; +z for Z-up pipelines); GLB is always +y"""
    file_front: str = "+z"
    """front axis in OBJ/PLY files; GLB is always +z"""
    sdf_grid: int | None = None
    """samples per axis of the SDF grid written beside the mesh as <stem>_sdf.npz; None: no grid"""
    sdf_net: str | None = None
    """'torchscript' or 'onnx': write the SDF network as <stem>_sdf.pt / .onnx (needs sdf_module)"""


@dataclass(frozen=True)
class ExportReport:
    """What was written, in which frame, and how long it took."""

    files: list
    """every file written"""
    raw_faces: int
    """faces of the marching-cubes mesh after clean-up"""
    faces: int
    """faces after decimation"""
    vertices: int
    """vertices after decimation (before the atlas splits seams)"""
    texture_size: int | None
    """texture side in texels, None without a texture"""
    texture_coverage: float | None
    """fraction of texels inside charts"""
    conversions: dict
    """file suffix -> :class:`Conversion` as a dict (world frame → file frame)"""
    sdf_evaluations: int
    """SDF evaluations spent on meshing"""
    seconds: dict
    """wall time per step"""
    notes: list
    """things the user should know (e.g. unknown world units taken as metres)"""
    resigned_voxels: int = 0
    """meshing-grid points re-signed from positive to negative before marching cubes (enclosed hollows of
    the field; a health figure: large means the field is hollow)"""
    resigned_fraction: float = 0.0
    """resigned_voxels over all meshing-grid points"""
    texture_source: str | None = None
    """"photo" or "field": what the texture was baked from (None without a texture)"""
    photo_fraction: float | None = None
    """mean photo confidence over the charted texels (photo bakes only)"""
    textured: object = field(default=None, repr=False, compare=False)
    """the :class:`meshing.texture.TexturedMesh` in the unit frame (for previews); left out of :meth:`as_dict`"""

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(replace(self, textured=None)).items() if k != "textured"}


def options_from_flat(base: ExportOptions | None = None, **flat) -> ExportOptions:
    """``ExportOptions`` from flat keywords (what a CLI has): ``resolution``, ``hierarchical``,
    ``fill_holes`` (→ ``mesh``), ``texture`` as an int size (→ ``texture.size``), and any top-level
    field (``faces``, ``units``, ``world_up``, ``sdf_grid``, ``sdf_net``, ...)."""
    import dataclasses

    opts = base or ExportOptions()
    mesh_kw = {}
    if "resolution" in flat:
        mesh_kw["grid"] = dataclasses.replace(opts.mesh.grid, resolution=int(flat.pop("resolution")))
    for k in ("hierarchical", "fill_holes", "largest_component"):
        if k in flat:
            mesh_kw[k] = flat.pop(k)
    if mesh_kw:
        flat["mesh"] = dataclasses.replace(opts.mesh, **mesh_kw)
    if isinstance(flat.get("texture"), int):
        flat["texture"] = dataclasses.replace(opts.texture, size=flat["texture"])
    names = {f.name for f in dataclasses.fields(ExportOptions)}
    unknown = sorted(set(flat) - names)
    if unknown:
        raise TypeError(f"unknown export option(s): {', '.join(unknown)}")
    return dataclasses.replace(opts, **flat)


def _outputs(out: str | Path | Sequence[str | Path]) -> list[Path]:
    paths = [Path(out)] if isinstance(out, (str, Path)) else [Path(p) for p in out]
    if not paths:
        raise ExportError("no output file given")
    for p in paths:
        if p.suffix.lower() not in MESH_FORMATS:
            raise ExportError(f"{p}: unknown mesh format {p.suffix or '(no suffix)'!r}; "
                              f"expected one of {', '.join(MESH_FORMATS)}")
    return paths


def export_asset(
    sdf_fn: SDFFn,
    color_fn: ColorFn | None,
    to_world: np.ndarray,
    out: str | Path | Sequence[str | Path],
    options: ExportOptions = ExportOptions(),
    world_units: str = "unit",
    sdf_module=None,
    views: Sequence[PhotoView] | None = None,
    notes: Sequence[str] = (),
    surface: Surface | None = None,
    **flat,
) -> ExportReport:
    """Mesh the SDF and write ``out`` (one path or several; .glb, .obj, .ply by suffix).

    ``flat`` keywords override ``options`` (see :func:`options_from_flat`), e.g.
    ``export_asset(sdf, color, T, ["head.glb", "head.obj"], resolution=512, faces=50_000, texture=2048)``.
    Pass several paths in one call: the surface is extracted and the texture baked only once.
    ``views``: the input photos with their (refined) cameras in the unit frame of ``sdf_fn``; with
    ``texture_source="photo"`` (the default) the texture is projected from them (:mod:`meshing.projection`).
    ``notes``: lines added to the report's notes (e.g. how the world units were chosen).
    ``surface``: an extraction of ``sdf_fn`` with ``options.mesh`` already made (e.g. for mesh.ply), reused.

    Steps: :func:`_check_export` (everything checked before the work starts: formats, units, axes, writable
    folders, ``sdf_module`` when ``sdf_net`` is asked for) → :func:`_surface` (marching cubes, solid,
    decimation) → :func:`_colours` (texture bake / vertex colours) → :func:`_write_meshes` (each file appears
    only once fully written) → :func:`_write_sdf_files`. Raises :class:`meshing.errors.EmptyMeshError` when
    the SDF has no zero crossing.
    """
    if flat:
        options = options_from_flat(options, **flat)
    paths = _outputs(out)
    to_world = np.asarray(to_world, dtype=np.float64)
    convs = _check_export(paths, options, world_units, to_world, sdf_module)
    notes = list(notes)
    if world_units == "unit":
        notes.append("the scene's world units are unknown; one world unit was written as one metre")
    seconds: dict = {}
    surf, v, f, normals = _surface(sdf_fn, options, seconds, surface)
    suffixes = {p.suffix.lower() for p in paths}
    textured, vcolors = _colours(v, f, normals, color_fn, options, views, suffixes, seconds)
    t = time.perf_counter()
    written = _write_meshes(paths, convs, to_world, v, f, normals, textured, vcolors)
    seconds["write"] = time.perf_counter() - t
    if surf.resigned_voxels:
        notes.append(f"the fitted field is hollow: {100 * surf.resigned_fraction:.2f} % of the grid points "
                     f"({surf.resigned_voxels}) were positive inside the outer surface and were re-signed")
    written += _write_sdf_files(sdf_fn, sdf_module, to_world, paths[0].with_suffix(""), options, world_units,
                                surf.resigned_fraction, seconds)
    return ExportReport(
        files=written, raw_faces=len(surf.faces), faces=len(f), vertices=len(v),
        texture_size=options.texture.size if textured is not None else None,
        texture_coverage=textured.coverage if textured is not None else None,
        texture_source=textured.source if textured is not None else None,
        photo_fraction=textured.photo_fraction if textured is not None else None, textured=textured,
        conversions={s: convs[s].as_dict() for s in sorted(suffixes)},
        sdf_evaluations=surf.evaluations, seconds=seconds, notes=notes,
        resigned_voxels=surf.resigned_voxels, resigned_fraction=surf.resigned_fraction,
    )


def _check_export(paths: list[Path], options: ExportOptions, world_units: str, to_world: np.ndarray,
                  sdf_module) -> dict[str, Conversion]:
    """Every option and output checked before any work; returns the unit/axis conversion per suffix."""
    check_units(world_units, "world units")
    check_units(options.units)
    similarity_scale(to_world)
    convs = {".glb": conversion(world_units, "m", options.world_up, options.world_front, "+y", "+z")}
    for sfx in (".obj", ".ply"):
        convs[sfx] = conversion(world_units, options.units, options.world_up, options.world_front,
                                options.file_up, options.file_front)
    if options.sdf_net is not None:
        if options.sdf_net not in NET_FORMATS:
            raise ExportError(f"unknown SDF network format {options.sdf_net!r}; "
                              f"expected one of {', '.join(NET_FORMATS)}")
        if sdf_module is None:
            raise ExportError("an SDF network export was asked for but no SDF module was given")
    for p in paths:
        check_writable(p)
    if options.texture_source not in TEXTURE_SOURCES:
        raise ExportError(f"unknown texture source {options.texture_source!r}; expected one of "
                          f"{', '.join(TEXTURE_SOURCES)}")
    return convs


def _surface(sdf_fn: SDFFn, options: ExportOptions, seconds: dict, surface: Surface | None = None):
    """The (solid) surface (``surface`` if given), decimated to ``options.faces``; (surface, vertices, faces,
    unit-frame normals)."""
    t = time.perf_counter()
    surf = extract_surface(sdf_fn, options.mesh) if surface is None else surface
    seconds["mesh"] = time.perf_counter() - t
    v, f = surf.vertices, surf.faces
    t = time.perf_counter()
    if options.faces is not None:
        v, f = cleanup.decimate(v, f, options.faces)
    seconds["decimate"] = time.perf_counter() - t
    return surf, v, f, vertex_normals(v, f)  # normals before the atlas splits the seams


def _colours(v, f, normals, color_fn: ColorFn | None, options: ExportOptions, views, suffixes: set[str],
             seconds: dict):
    """(textured mesh for GLB/OBJ or None, per-vertex colours for PLY or None)."""
    textured = vcolors = None
    if color_fn is not None and suffixes & {".glb", ".obj"}:
        photos = list(views or []) if options.texture_source == "photo" else []
        textured = bake_texture(v, f, color_fn, options.texture, normals=normals, views=photos,
                                projection=options.projection)
        seconds.update({f"texture_{k}": s for k, s in textured.seconds.items()})
    if color_fn is not None and ".ply" in suffixes:
        t = time.perf_counter()
        vcolors = query_colors(color_fn, v, normals, options.mesh.chunk)
        seconds["vertex_colors"] = time.perf_counter() - t
    return textured, vcolors


def _write_meshes(paths: list[Path], convs: dict, to_world: np.ndarray, v, f, normals, textured, vcolors) -> list[str]:
    """Each mesh file in its own frame and units (unit frame → world → file); returns the files written."""
    written: list[str] = []
    for p in paths:
        sfx = p.suffix.lower()
        m = np.asarray(convs[sfx].matrix) @ to_world  # unit frame → file frame
        rot = m[:3, :3] / np.cbrt(abs(np.linalg.det(m[:3, :3])))
        if sfx == ".ply":
            vv, ff = transform_mesh(v, f, m)
            _write_ply(p, vv, ff, normals @ rot.T, vcolors)
            written.append(str(p))
            continue
        if textured is not None:
            um = textured.mesh
            vv, ff = transform_mesh(um.vertices, um.faces, m)
            nn, uv, tex = normals[um.source] @ rot.T, um.uv, textured.texture
        else:
            vv, ff = transform_mesh(v, f, m)
            nn, uv, tex = normals @ rot.T, None, None
        if sfx == ".glb":
            _write_glb(p, vv, ff, nn, uv, tex)
            written.append(str(p))
        else:
            written.extend(_write_obj(p, vv, ff, nn, uv, tex))
    return written


def _write_sdf_files(sdf_fn: SDFFn, sdf_module, to_world: np.ndarray, stem: Path, options: ExportOptions,
                     world_units: str, resigned_fraction: float, seconds: dict) -> list[str]:
    """``<stem>_sdf.npz`` (the re-signed grid) and ``<stem>_sdf.pt|.onnx`` (the network) when asked for."""
    written: list[str] = []
    grid_file = None
    if options.sdf_grid is not None:
        t = time.perf_counter()
        info = write_sdf_grid(sdf_fn, to_world, f"{stem}_sdf.npz", options.sdf_grid, world_units,
                              solid=options.mesh.solid, seal=options.mesh.seal)
        written.append(info.path)
        grid_file = Path(info.path).name
        seconds["sdf_grid"] = time.perf_counter() - t
    if options.sdf_net is not None:
        t = time.perf_counter()
        net = export_sdf_network(sdf_module, to_world, f"{stem}_sdf{NET_FORMATS[options.sdf_net]}",
                                 options.sdf_net, interior=interior_note(resigned_fraction, grid_file))
        written.append(net.path)
        seconds["sdf_net"] = time.perf_counter() - t
    return written


def _png_bytes(texture: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(texture).save(buf, format="PNG")
    return buf.getvalue()


def _write_glb(path: Path, v, f, normals, uv, texture) -> None:
    import trimesh
    from PIL import Image

    if uv is not None:
        material = trimesh.visual.material.PBRMaterial(
            name=path.stem, baseColorTexture=Image.fromarray(texture), metallicFactor=0.0,
            roughnessFactor=1.0)
        visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    else:
        visual = None
    mesh = trimesh.Trimesh(vertices=v, faces=f, vertex_normals=normals, visual=visual, process=False)
    data = _set_buffer_view_targets(trimesh.exchange.gltf.export_glb(mesh, include_normals=True))
    with atomic_paths([path]) as (tmp,):
        tmp.write_bytes(data)


def _set_buffer_view_targets(glb: bytes) -> bytes:
    """Set ``bufferView.target`` (ARRAY_BUFFER / ELEMENT_ARRAY_BUFFER) on vertex and index data, which
    trimesh leaves out (the Khronos validator hints BUFFER_VIEW_TARGET_MISSING), by rewriting the JSON chunk."""
    import json
    import struct

    magic, version, _ = struct.unpack_from("<4sII", glb, 0)
    json_len, json_type = struct.unpack_from("<I4s", glb, 12)
    if magic != b"glTF" or version != 2 or json_type != b"JSON":
        return glb
    doc = json.loads(glb[20 : 20 + json_len])
    views, accessors = doc.get("bufferViews", []), doc.get("accessors", [])
    for mesh in doc.get("meshes", []):
        for prim in mesh.get("primitives", []):
            for acc, target in [(prim.get("indices"), 34963)] + [(a, 34962) for a in prim.get("attributes", {}).values()]:
                if acc is not None and "bufferView" in accessors[acc]:
                    views[accessors[acc]["bufferView"]]["target"] = target
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    rest = glb[20 + json_len :]
    return struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(text) + len(rest)) + struct.pack("<I4s", len(text), b"JSON") + text + rest


def _write_obj(path: Path, v, f, normals, uv, texture) -> list[str]:
    """OBJ (+ MTL + PNG named after the OBJ: head.obj → head.mtl, head_texture.png), written by hand so
    two exports in one folder never share a material or texture file."""
    lines = ["# neuhead export\n"]
    files = [path]
    if uv is not None:
        mtl, png = path.with_suffix(".mtl"), path.with_name(f"{path.stem}_texture.png")
        files += [mtl, png]
        lines.append(f"mtllib {mtl.name}\nusemtl {path.stem}\n")
    body = [
        "".join(f"v {a:.7g} {b:.7g} {c:.7g}\n" for a, b, c in v.tolist()),
        "".join(f"vn {a:.6f} {b:.6f} {c:.6f}\n" for a, b, c in normals.tolist()),
    ]
    if uv is not None:
        body.append("".join(f"vt {a:.7f} {b:.7f}\n" for a, b in uv.tolist()))
        body.append("".join(f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}\n" for a, b, c in (f + 1).tolist()))
    else:
        body.append("".join(f"f {a}//{a} {b}//{b} {c}//{c}\n" for a, b, c in (f + 1).tolist()))
    with atomic_paths(files) as tmps:
        tmps[0].write_text("".join(lines + body))
        if uv is not None:
            tmps[1].write_text(
                f"newmtl {path.stem}\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\nmap_Kd {files[2].name}\n")
            tmps[2].write_bytes(_png_bytes(texture))
    return [str(p) for p in files]


def _write_ply(path: Path, v, f, normals, colors) -> None:
    import trimesh

    vc = None
    if colors is not None:
        vc = np.concatenate([(colors * 255 + 0.5).astype(np.uint8), np.full((len(v), 1), 255, np.uint8)], 1)
    mesh = trimesh.Trimesh(vertices=v, faces=f, vertex_normals=normals, vertex_colors=vc, process=False)
    data = trimesh.exchange.ply.export_ply(mesh, encoding="binary", vertex_normal=True)
    with atomic_paths([path]) as (tmp,):
        tmp.write_bytes(data)
