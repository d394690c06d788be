"""H3DS-format head scenes: read the real H3DS v1/v2 downloads, write synthetic ones in the same layout.

A dataset root holds one folder per scene and (ours, or the toolbox's ``config.toml`` copied there)
a ``config.toml``::

    version = "0.4"
    [scenes.<scene_id>]
    tags = ["h3d-net"]
    views = 66
    [scenes.<scene_id>.default_views_configs]
    1 = [0]            # frontal
    3 = [0, 18, 65]    # frontal, left, right
    ...

A scene folder: ``full_head.obj`` (scan, mm), ``image/img_%04d.jpg``, ``mask/mask_%04d.png``,
``cameras.npz`` (``world_mat_%d``: world mm -> pixels, 3x4 or 4x4; ``scale_mat_%d``: unit sphere
-> mm), ``landmarks.txt`` (``name vertex_index`` lines: right_eye, left_eye, nose_tip, nose_base,
right_lips, left_lips), ``regions/{face,face_sphere,nose}.txt`` (one vertex index a line).
The downloads ship without ``config.toml`` (the toolbox keeps it in its package): without one the
scenes are the sub-folders that hold a ``cameras.npz`` and the views are the images found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from neuhead.cameras import Cameras
from neuhead.data.neus import decompose_projection, read_views
from neuhead.data.scene import Scene
from neuhead.errors import InputError
from neuhead.io import atomic_path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

REGIONS = ("face", "face_sphere", "nose")
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class H3DSSceneInfo:
    """One scene of a config: its id, number of views, tags and named view subsets."""

    scene_id: str
    views: int | None
    tags: tuple[str, ...] = ()
    views_configs: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class H3DSConfig:
    """A dataset root and its scenes (from ``config.toml`` or discovered)."""

    root: Path
    version: str
    scenes: dict[str, H3DSSceneInfo]
    path: Path | None = None


# ----------------------------------------------------------------------------------------- reading


def load_h3ds_config(root: str | Path, config_path: str | Path | None = None) -> H3DSConfig:
    """Read ``config_path`` (default ``root/config.toml``); without one, discover the scene folders."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder (expected an H3DS dataset root)")
    path = Path(config_path) if config_path is not None else root / "config.toml"
    if not path.is_file():
        if config_path is not None:
            raise InputError(f"{path}: config file missing")
        found = sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "cameras.npz").is_file())
        if not found:
            raise InputError(f"{root}: no config.toml and no scene folder with a cameras.npz")
        version = (root / "version.txt").read_text().strip() if (root / "version.txt").is_file() else "unknown"
        return H3DSConfig(root, version, {s: H3DSSceneInfo(s, None) for s in found}, None)
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid TOML ({e})") from None
    scenes_raw = data.get("scenes")
    if not isinstance(scenes_raw, dict) or not scenes_raw:
        raise InputError(f"{path}: no [scenes.<id>] tables")
    scenes = {}
    for sid, entry in scenes_raw.items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: scenes.{sid} is not a table")
        views = entry.get("views")
        if views is not None and (not isinstance(views, int) or views < 1):
            raise InputError(f"{path}: scenes.{sid}.views must be a positive integer, got {views!r}")
        cfgs = {}
        for k, v in (entry.get("default_views_configs") or {}).items():
            if not isinstance(v, list) or not all(isinstance(i, int) and i >= 0 for i in v):
                raise InputError(f"{path}: scenes.{sid}.default_views_configs.{k} must be a list of view indices")
            cfgs[str(k)] = list(v)
        scenes[str(sid)] = H3DSSceneInfo(str(sid), views, tuple(entry.get("tags", ())), cfgs)
    return H3DSConfig(root, str(data.get("version", "unknown")), scenes, path)


def _scene_dir(config: H3DSConfig, scene_id: str) -> Path:
    if scene_id not in config.scenes:
        where = config.path or config.root
        raise InputError(f"{where}: no scene {scene_id!r} (scenes: {', '.join(sorted(config.scenes)[:8])}...)")
    d = config.root / scene_id
    if not d.is_dir():
        raise InputError(f"{d}: scene {scene_id!r} is listed in {config.path or 'the config'} but its folder is missing")
    return d


def _view_files(folder: Path, prefix: str, n: int | None) -> list[Path]:
    """``prefix_%04d.<ext>`` for n views (or all found)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: missing")
    by_index = {}
    for p in folder.iterdir():
        if p.suffix.lower() in IMAGE_EXTS and p.stem.startswith(prefix + "_") and p.stem[len(prefix) + 1:].isdigit():
            by_index[int(p.stem[len(prefix) + 1:])] = p
    if n is None:
        n = (max(by_index) + 1) if by_index else 0
    missing = [i for i in range(n) if i not in by_index]
    if missing or n == 0:
        raise InputError(f"{folder}: missing {prefix}_{missing[0] if missing else 0:04d}.* ({len(missing) or 'no'} files missing)")
    return [by_index[i] for i in range(n)]


def _resolve_views(info: H3DSSceneInfo, views, n: int, where: Path) -> list[int]:
    if views is None:
        return list(range(n))
    if isinstance(views, str):
        if views not in info.views_configs:
            raise InputError(f"{where}: scene {info.scene_id} has no views config {views!r} "
                             f"(has {sorted(info.views_configs, key=lambda s: (len(s), s))})")
        idx = info.views_configs[views]
    else:
        idx = [int(v) for v in views]
    out = list(dict.fromkeys(idx))  # some published configs repeat a view: keep the first
    if len(out) != len(idx):
        log.warning("%s: views config repeats views %s; using each once", where, sorted({i for i in idx if idx.count(i) > 1}))
    bad = [v for v in out if not 0 <= v < n]
    if bad:
        raise InputError(f"{where}: view indices {bad} out of range (scene has {n} views)")
    return out


def load_h3ds_cameras(path: Path, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(scale_mat (4, 4), [world_mat_i (3, 4)])`` from a ``cameras.npz``."""
    if not path.is_file():
        raise InputError(f"{path}: missing (an H3DS scene needs cameras.npz)")
    try:
        with np.load(path, allow_pickle=False) as d:
            cams = {k: np.asarray(d[k], dtype=np.float64) for k in d.files}
    except Exception as e:  # zip / format errors come in many classes
        raise InputError(f"{path}: cannot read ({e.__class__.__name__}: {e})") from None
    world = []
    for i in range(n):
        W = cams.get(f"world_mat_{i}")
        if W is None or W.shape not in ((3, 4), (4, 4)):
            raise InputError(f"{path}: world_mat_{i} missing or not 3x4/4x4")
        world.append(W[:3])
    S = cams.get("scale_mat_0")
    if S is not None and S.shape != (4, 4):
        raise InputError(f"{path}: scale_mat_0 has shape {S.shape}, expected (4, 4)")
    return S, world


def read_obj_vertices(path: str | Path) -> np.ndarray:
    """(n, 3) vertex positions of an OBJ (``v`` lines only; fast, no faces)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing")
    rows = []
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(b"v "):
                    rows.append(line[2:].split()[:3])
        v = np.array(rows, dtype=np.float64)
    except (ValueError, OSError) as e:
        raise InputError(f"{path}: not an OBJ mesh ({e.__class__.__name__}: {e})") from None
    if v.ndim != 2 or len(v) == 0 or v.shape[1] != 3:
        raise InputError(f"{path}: not an OBJ mesh (no vertices)")
    return v


def load_h3ds_mesh(root: str | Path, scene_id: str, config: H3DSConfig | None = None):
    """The ground-truth scan (``trimesh.Trimesh``, mm, vertex order kept)."""
    import trimesh

    config = config or load_h3ds_config(root)
    path = _scene_dir(config, scene_id) / "full_head.obj"
    if not path.is_file():
        raise InputError(f"{path}: missing")
    try:
        mesh = trimesh.load(path, process=False, force="mesh", file_type="obj")
    except Exception as e:  # trimesh raises many kinds on garbage
        raise InputError(f"{path}: not a mesh ({e.__class__.__name__}: {e})") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0 or len(mesh.faces) == 0:
        raise InputError(f"{path}: not a triangle mesh (no vertices or faces)")
    return mesh


def load_h3ds_landmarks(root: str | Path, scene_id: str, config: H3DSConfig | None = None) -> dict[str, int]:
    """``landmarks.txt`` as name -> vertex index of ``full_head.obj``."""
    config = config or load_h3ds_config(root)
    path = _scene_dir(config, scene_id) / "landmarks.txt"
    if not path.is_file():
        raise InputError(f"{path}: missing")
    out = {}
    for k, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) < 0:
            raise InputError(f"{path}:{k}: expected 'name vertex_index', got {line!r}")
        out[parts[0]] = int(parts[1])
    return out


def load_h3ds_region(root: str | Path, scene_id: str, region: str, config: H3DSConfig | None = None) -> np.ndarray:
    """``regions/<region>.txt`` as an int64 array of vertex indices."""
    config = config or load_h3ds_config(root)
    path = _scene_dir(config, scene_id) / "regions" / f"{region}.txt"
    if not path.is_file():
        raise InputError(f"{path}: missing (regions are {', '.join(REGIONS)})")
    try:
        return np.array([int(float(s)) for s in path.read_text().split()], dtype=np.int64)
    except ValueError as e:
        raise InputError(f"{path}: not a list of vertex indices ({e})") from None


def load_h3ds_scene(root: str | Path, scene_id: str, views=None, config: H3DSConfig | None = None,
                    canonical: bool = False, with_landmarks: bool = True, require_scale_mat: bool = True) -> Scene:
    """An H3DS scene as a ``Scene``.

    views: None (all), a views-config id such as ``"3"``, or a list of view indices.
    The unit-sphere frame is the file's ``scale_mat_0`` (or, with ``canonical=True``, the canonical
    head frame from the ground-truth landmarks: for writing and checking data, never for fitting, which
    places the head from the images: ``neuhead.data.placement``); ``to_world`` maps it to the scan's mm
    frame. With ``with_landmarks``, ``Scene.landmarks`` are the landmark vertices of ``full_head.obj``
    in mm (ground truth: the fit path loads with ``with_landmarks=False``). Without ``scale_mat_0`` and
    ``require_scale_mat=False``, the unit frame is the mm frame itself (to be placed from the images).
    """
    config = config or load_h3ds_config(root)
    d = _scene_dir(config, scene_id)
    info = config.scenes[scene_id]
    image_files = _view_files(d / "image", "img", info.views)
    n = len(image_files)
    idx = _resolve_views(info, views, n, d)
    mask_dir = d / "mask"
    mask_files = _view_files(mask_dir, "mask", n) if mask_dir.is_dir() else None
    S, world = load_h3ds_cameras(d / "cameras.npz", n)

    landmarks = None
    if with_landmarks and (d / "landmarks.txt").is_file() and (d / "full_head.obj").is_file():
        ids = load_h3ds_landmarks(root, scene_id, config)
        verts = read_obj_vertices(d / "full_head.obj")
        bad = {k: i for k, i in ids.items() if i >= len(verts)}
        if bad:
            raise InputError(f"{d / 'landmarks.txt'}: vertex indices {bad} beyond the mesh's {len(verts)} vertices")
        landmarks = {k: verts[i].copy() for k, i in ids.items()}
    if S is None:
        if landmarks is None and require_scale_mat:
            raise InputError(f"{d / 'cameras.npz'}: no scale_mat_0 to place the unit sphere (use --frame auto)")
        canonical = landmarks is not None
        S = np.eye(4)

    Ks, c2ws = [], []
    for i in idx:
        try:
            K, c2w = decompose_projection(world[i] @ S)
        except (ValueError, cv2.error) as e:
            raise InputError(f"{d / 'cameras.npz'}: camera {i} is not valid ({e})") from None
        Ks.append(K)
        c2ws.append(c2w)
    images, masks = read_views(image_files, mask_files, idx)
    h, w = images.shape[1:3]
    scene = Scene(
        images=images, masks=masks,
        cameras=Cameras(np.stack(Ks), np.stack(c2ws), w, h), to_world=S,
        names=[image_files[i].stem for i in idx], landmarks=landmarks, units="mm",
    )
    if canonical:
        if landmarks is None:
            raise InputError(f"{d}: canonical frame needs landmarks.txt and full_head.obj")
        from neuhead.data.canonical import canonicalize

        scene = canonicalize(scene, landmarks)
    return scene


# ----------------------------------------------------------------------------------------- writing


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """A plain OBJ (``v``/``f`` lines, 1-based), written atomically."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64) + 1
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            fh.write("\n".join(f"v {a:.5f} {b:.5f} {c:.5f}" for a, b, c in v))
            fh.write("\n")
            fh.write("\n".join(f"f {a} {b} {c}" for a, b, c in f))
            fh.write("\n")


def _write_lines(path: Path, lines) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text("".join(f"{s}\n" for s in lines))


def _write_image(path: Path, a: np.ndarray, quality: int = 95) -> None:
    from PIL import Image

    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as tmp:
        Image.fromarray(a).save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))


def default_views_configs(scene: Scene, to_canonical: np.ndarray | None = None,
                          side_deg: float = 40.0) -> dict[str, list[int]]:
    """``1`` = the most frontal view, ``3`` = frontal, left (+x, the subject's left), right.

    Azimuths are measured in the canonical head frame: from the scene's unit sphere when
    ``to_canonical`` is None and the scene is canonical, otherwise world -> canonical.
    """
    from neuhead.data.canonical import CANONICAL_CENTER_MM, CANONICAL_TO_WORLD

    if to_canonical is None:
        c = scene.cameras.centers @ CANONICAL_TO_WORLD[:3, :3].T + CANONICAL_TO_WORLD[:3, 3]
    else:
        wc = scene.world_cameras().centers
        c = wc @ to_canonical[:3, :3].T + to_canonical[:3, 3]
    c = c - CANONICAL_CENTER_MM
    az = np.degrees(np.arctan2(c[:, 0], c[:, 2]))
    front = int(np.argmin(np.abs(az)))
    out = {"1": [front]}
    if len(scene) >= 3:
        left = int(np.argmin(np.abs(az - side_deg) + 1e9 * (np.arange(len(az)) == front)))
        right = int(np.argmin(np.abs(az + side_deg) + 1e9 * np.isin(np.arange(len(az)), [front, left])))
        out["3"] = [front, left, right]
    return out


def write_h3ds_scene(root: str | Path, scene_id: str, scene: Scene, vertices: np.ndarray, faces: np.ndarray,
                     landmark_ids: dict[str, int], regions: dict[str, np.ndarray],
                     tags: tuple[str, ...] = ("synthetic",), views_configs: dict[str, list[int]] | None = None,
                     jpeg_quality: int = 95) -> H3DSSceneInfo:
    """Write one scene folder (the mesh and landmarks/regions in the scene's world frame, mm).

    ``world_mat_i`` projects world (mm) points: ``P_unit_i @ inv(to_world)``; ``scale_mat_i`` = ``to_world``.
    Masks are written binary (coverage > 0.5), as in H3DS. Returns the config entry (write it with
    ``write_h3ds_config``).
    """
    d = Path(root) / scene_id
    (d / "image").mkdir(parents=True, exist_ok=True)
    write_obj(d / "full_head.obj", vertices, faces)
    for i, img in enumerate(scene.images):
        _write_image(d / "image" / f"img_{i:04d}.jpg", img, jpeg_quality)
    if scene.masks is not None:
        (d / "mask").mkdir(exist_ok=True)
        for i, m in enumerate(scene.masks):
            _write_image(d / "mask" / f"mask_{i:04d}.png", np.where(m > 0.5, 255, 0).astype(np.uint8))
    P = scene.cameras.projection()
    S_inv = np.linalg.inv(scene.to_world)
    arrays = {}
    for i in range(len(scene)):
        W = np.eye(4)
        W[:3] = P[i] @ S_inv
        arrays[f"world_mat_{i}"] = W
        arrays[f"scale_mat_{i}"] = scene.to_world.copy()
    with atomic_path(d / "cameras.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    _write_lines(d / "landmarks.txt", [f"{k} {int(v)}" for k, v in landmark_ids.items()])
    (d / "regions").mkdir(exist_ok=True)
    for name, ids in regions.items():
        _write_lines(d / "regions" / f"{name}.txt", [int(i) for i in ids])
    cfgs = views_configs if views_configs is not None else default_views_configs(scene)
    return H3DSSceneInfo(scene_id, len(scene), tuple(tags), cfgs)


def write_h3ds_config(root: str | Path, scenes: list[H3DSSceneInfo], version: str = "neuhead-synthetic-1") -> Path:
    """Write ``root/config.toml`` (the toolbox's layout) for the given scenes, atomically."""
    lines = [f'version = "{version}"', "", "[scenes]"]
    for s in scenes:
        lines += ["", f'[scenes."{s.scene_id}"]', "tags = [" + ", ".join(f'"{t}"' for t in s.tags) + "]"]
        if s.views is not None:
            lines.append(f"views = {int(s.views)}")
        if s.views_configs:
            lines.append(f'[scenes."{s.scene_id}".default_views_configs]')
            for k, v in sorted(s.views_configs.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 1 << 30):
                lines.append(f'"{k}" = [' + ", ".join(str(int(i)) for i in v) + "]")
    path = Path(root) / "config.toml"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path
