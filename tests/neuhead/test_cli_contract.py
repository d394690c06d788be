"""The CLI contract, table-driven: every subcommand x every kind of bad option or input.

Each bad case must end with exit code 2, exactly one line on stderr that names the culprit (the
option or the file), and the working folder exactly as it was (file names and sizes). Disk-full
cases write to a 300 KB tmpfs (root only; skipped elsewhere). Internal errors (bugs) are exit 1 with
one line and a hint to rerun with -v.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuhead.cli import main
from neuhead.config import SCRATCH_PRESETS, to_dict
from neuhead.data.analytic import make_sample_scene
from neuhead.data.neus import write_neus
from neuhead.model.multineus import MultiNeuS
from neuhead.train.checkpoint import load_checkpoint, save_checkpoint

T = np.diag([100.0, 100.0, 100.0, 1.0])
T[:3, 3] = [30.0, -20.0, 550.0]


def _save_model_checkpoint(path: Path) -> Path:
    cfg = SCRATCH_PRESETS["quick"]
    model = MultiNeuS(cfg.model, n_scenes=1)
    meta = {"config": to_dict(cfg), "n_scenes": 1, "scene_index": 0, "to_world": T.tolist(), "world_units": "mm"}
    return save_checkpoint(path, model, meta)


def _png(path: Path, a: np.ndarray) -> Path:
    Image.fromarray(a).save(path)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Every input file the table refers to as {name} (built once; never written by a case)."""
    import shutil

    import trimesh
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("inputs")
    run = d / "run"
    run.mkdir()
    ckpt = _save_model_checkpoint(run / "checkpoint.safetensors")
    data = d / "data"
    case = write_neus(make_sample_scene(n_views=3, res=32, seed=1), data / "case")

    hole = d / "data_hole" / "case"  # one view's mask is empty
    shutil.copytree(case, hole)
    _png(hole / "mask" / "001.png", np.zeros((32, 32), np.uint8))
    nomask = d / "data_white" / "case"  # all-white masks: the NeuS 'no mask' convention
    shutil.copytree(case, nomask)
    for f in (nomask / "mask").iterdir():
        _png(f, np.full((32, 32), 255, np.uint8))

    rng = np.random.default_rng(0)
    photo = _png(d / "photo.png", rng.integers(0, 255, (128, 96, 3), dtype=np.uint8))
    black = _png(d / "black.png", np.zeros((128, 96), np.uint8))
    white = _png(d / "white.png", np.full((128, 96), 255, np.uint8))
    tiny_a = np.zeros((128, 96), np.uint8)
    tiny_a[60:66, 40:46] = 255  # 36 px = 0.3 % of the photo
    tiny = _png(d / "tiny.png", tiny_a)
    small = _png(d / "small.png", np.full((64, 48), 255, np.uint8))

    # a prior whose weights are truncated / not safetensors at all / whose config is not JSON
    good_prior = d / "prior_ok"
    good_prior.mkdir()
    save_file({"x": __import__("torch").zeros(1000)}, str(good_prior / "prior.safetensors"))
    (good_prior / "config.json").write_text("{}")
    trunc = d / "prior_truncated"
    trunc.mkdir()
    (trunc / "prior.safetensors").write_bytes((good_prior / "prior.safetensors").read_bytes()[:200])
    (trunc / "config.json").write_text('{"meta_config": {}, "n_scenes": 1}')
    junk = d / "prior_junk"
    junk.mkdir()
    (junk / "prior.safetensors").write_bytes(b"\x80\x04\x95 this is a pickle, not safetensors" * 10)
    (junk / "config.json").write_text('{"meta_config": {}, "n_scenes": 1}')
    badjson = d / "prior_badjson"
    shutil.copytree(good_prior, badjson)
    (badjson / "config.json").write_text("{not json")

    # checkpoints: metadata that is not JSON; a truncated file
    badmeta = d / "badmeta.safetensors"
    save_file({"model.x": __import__("torch").zeros(3)}, str(badmeta), metadata={"neuhead": "{oops"})
    truncated = d / "truncated.safetensors"
    truncated.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 3])

    sphere = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
    pred = d / "pred.ply"
    sphere.export(pred)
    far = d / "far.ply"  # the same sphere 5 m away: ICP cannot align it
    sphere.copy().apply_translation([5000.0, 0, 0]).export(far)
    gt = d / "gt.obj"
    sphere.export(gt)
    h3ds = d / "h3ds"
    h3ds.mkdir()
    empty = d / "empty"
    empty.mkdir()
    return dict(run=run, ckpt=ckpt, data=data, case=case, hole=hole, nomask=nomask, photo=photo, black=black, white=white, tiny=tiny,
                small=small, trunc=trunc, junk=junk, badjson=badjson, badmeta=badmeta, truncated=truncated,
                pred=pred, far=far, gt=gt, h3ds=h3ds, empty=empty)


def snapshot(root: Path) -> dict[str, int]:
    """Every file and folder under ``root`` with its size (folders: -1)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def run_cli(argv: list[str], capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return rc, err


# (id, argv with {input} and {w} (the case's empty work folder) placeholders, text the one line must hold)
F = ["fit", "{case}", "--out", "{w}/out", "--no-prior", "--no-progress"]
P = ["fit", "{photo}", "--out", "{w}/out", "--no-prior", "--no-progress"]
M = ["mesh", "{ckpt}", "--out", "{w}/m.ply"]
E = ["export", "{run}", "--out", "{w}/head.glb"]
V = ["eval", "{pred}", "{gt}", "--nose-tip", "0,0,100"]
B = ["bench", "h3ds", "--root", "{h3ds}", "--out", "{w}/bench", "--no-prior"]
R = ["train", "{data}", "--out", "{w}/run", "--no-progress"]
CASES = [
    # --- fit
    ("fit-resolution-0", F + ["--resolution", "0"], "--resolution 0"),
    ("fit-resolution-5", F + ["--resolution", "5"], "--resolution 5"),
    ("fit-iters-neg", F + ["--iters", "-1"], "--iters -1"),
    ("fit-iters-0", F + ["--iters", "0"], "--iters 0"),
    ("fit-views-comma", F + ["--views", ","], "--views"),
    ("fit-views-repeated", F + ["--views", "0,0"], "--views"),
    ("fit-views-negative", F + ["--views=-1"], "--views"),
    ("fit-views-out-of-range", F + ["--views", "0,99"], "[99] out of range"),
    ("fit-device-foo", F + ["--device", "foo"], "--device 'foo'"),
    ("fit-device-cuda", F + ["--device", "cuda:7"], "--device cuda:7"),
    ("fit-out-under-file", ["fit", "{case}", "--out", "{w}/blocker/sub", "--no-prior"], "cannot be written"),
    ("fit-out-is-file", ["fit", "{case}", "--out", "{w}/blocker", "--no-prior"], "is a file"),
    ("fit-input-missing", ["fit", "{w}/nope.jpg", "--out", "{w}/out", "--no-prior"], "nope.jpg: no such file"),
    ("fit-mask-black", P + ["--mask", "{black}"], "black.png: mask is empty"),
    ("fit-mask-white", P + ["--mask", "{white}"], "white.png: mask is all white"),
    ("fit-mask-tiny", P + ["--mask", "{tiny}"], "tiny.png: mask covers 0.29 % of the photo (< 2 %)"),
    ("fit-mask-wrong-size", P + ["--mask", "{small}"], "small.png: mask is 48x64 px"),
    ("fit-mask-missing", P + ["--mask", "{w}/m.png"], "--mask"),
    ("fit-mask-with-folder", F + ["--mask", "{black}"], "--mask"),
    ("fit-views-with-photo", P + ["--views", "0"], "--views"),
    ("fit-fov-0", P + ["--fov", "0"], "--fov 0.0: the vertical field of view must be within 0.5-120 degrees"),
    ("fit-fov-with-folder", F + ["--fov", "30"], "--fov 30.0: only a single photo takes --fov"),
    ("fit-prior-and-no-prior", F + ["--prior", "{trunc}"], "--no-prior"),
    ("fit-resume-nothing", F + ["--resume"], "--resume"),
    ("fit-prior-truncated", ["fit", "{case}", "--out", "{w}/out", "--prior", "{trunc}"], "prior.safetensors: not a valid safetensors"),
    ("fit-prior-junk", ["fit", "{case}", "--out", "{w}/out", "--prior", "{junk}"], "prior.safetensors: not a valid safetensors"),
    ("fit-prior-config-json", ["fit", "{case}", "--out", "{w}/out", "--prior", "{badjson}"], "config.json: prior config is not"),
    ("fit-folder-empty-mask", ["fit", "{hole}", "--out", "{w}/out", "--no-prior"], "001.png: mask is empty"),
    ("fit-folder-white-masks", ["fit", "{nomask}", "--out", "{w}/out", "--no-prior"], "000.png: mask is all white"),
    ("fit-folder-empty-mask-selected", ["fit", "{hole}", "--out", "{w}/out", "--no-prior", "--views", "1,2"],
     "001.png: mask is empty"),
    ("demo-out-under-file", ["demo", "--out", "{w}/blocker/demo"], "cannot be written"),
    ("fit-prior-missing", ["fit", "{case}", "--out", "{w}/out", "--prior", "{empty}"], "no prior here"),
    # --- mesh
    ("mesh-resolution-5", M + ["--resolution", "5"], "--resolution 5"),
    ("mesh-resolution-0", M + ["--resolution", "0"], "--resolution 0"),
    ("mesh-resolution-neg", M + ["--resolution", "-3"], "--resolution -3"),
    ("mesh-out-under-file", ["mesh", "{ckpt}", "--out", "{w}/blocker/m.ply"], "cannot be written"),
    ("mesh-out-is-folder", ["mesh", "{ckpt}", "--out", "{w}/folder.ply"], "is a folder"),
    ("mesh-out-format", ["mesh", "{ckpt}", "--out", "{w}/m.stl"], "unknown mesh format"),
    ("mesh-meta-not-json", ["mesh", "{badmeta}", "--out", "{w}/m.ply"], "metadata is not valid JSON"),
    ("mesh-truncated", ["mesh", "{truncated}", "--out", "{w}/m.ply"], "truncated.safetensors: not a neuhead checkpoint"),
    ("mesh-missing", ["mesh", "{w}/none.safetensors", "--out", "{w}/m.ply"], "none.safetensors: checkpoint not found"),
    # --- export
    ("export-faces-0", E + ["--faces", "0"], "--faces 0"),
    ("export-faces-neg", E + ["--faces=-5"], "--faces -5"),
    ("export-faces-word", E + ["--faces", "many"], "--faces 'many'"),
    ("export-sdf-grid-neg", E + ["--sdf-grid=-1"], "--sdf-grid -1"),
    ("export-sdf-grid-huge", E + ["--sdf-grid", "5000"], "--sdf-grid 5000"),
    ("export-report-under-file", E + ["--report", "{w}/blocker/r.json"], "--report"),
    ("export-report-is-folder", E + ["--report", "{w}/folder.ply"], "--report"),
    ("export-resolution-0", E + ["--resolution", "0"], "--resolution 0"),
    ("export-texture-huge", E + ["--texture", "100000"], "--texture 100000"),
    ("export-same-out-twice", E + ["--out", "{w}/head.glb"], "the same file"),
    ("export-report-is-out", E + ["--report", "{w}/head.glb"], "the same file"),
    ("export-out-under-file", ["export", "{run}", "--out", "{w}/blocker/h.glb"], "cannot be written"),
    ("export-meta-not-json", ["export", "{badmeta}", "--out", "{w}/h.glb"], "metadata is not valid JSON"),
    # --- eval
    ("eval-samples-0", V + ["--protocol", "surface", "--samples", "0"], "--samples 0"),
    ("eval-face-radius-neg", V + ["--face-radius=-1"], "--face-radius -1"),
    ("eval-threshold-0", V + ["--threshold", "0"], "--threshold 0"),
    ("eval-max-scale", V + ["--max-scale", "0.5"], "--max-scale 0.5"),
    ("eval-out-under-file", V + ["--out", "{w}/blocker/s.json"], "--out"),
    ("eval-heatmap-under-file", V + ["--heatmap", "{w}/blocker/h.png"], "--heatmap"),
    ("eval-heatmap-suffix", V + ["--heatmap", "{w}/h.txt"], "--heatmap"),
    ("eval-out-is-heatmap", V + ["--out", "{w}/h.png", "--heatmap", "{w}/h.png"], "the same file"),
    ("eval-landmarks-missing", ["eval", "{pred}", "{gt}", "--landmarks", "{w}/lm.txt"], "--landmarks"),
    ("eval-meshes-far-apart", ["eval", "{far}", "{gt}", "--nose-tip", "0,0,100"], "far.ply vs"),
    ("eval-out-is-gt", V + ["--out", "{gt}"], "would overwrite the input GT_MESH"),
    ("export-report-is-checkpoint", E + ["--report", "{ckpt}"], "would overwrite the input RUN_OR_CHECKPOINT"),
    ("bench-root-empty", ["bench", "h3ds", "--root", "{empty}", "--out", "{w}/b", "--no-prior"], "no config.toml"),
    # --- bench
    ("bench-prior-bad", ["bench", "h3ds", "--root", "{h3ds}", "--out", "{w}/b", "--prior", "{junk}"], "--prior"),
    ("bench-resolution-0", B + ["--resolution", "0"], "--resolution 0"),
    ("bench-iters-0", B + ["--iters", "0"], "--iters 0"),
    ("bench-face-radius-0", B + ["--face-radius", "0"], "--face-radius 0"),
    ("bench-device-foo", B + ["--device", "foo"], "--device"),
    ("bench-out-under-file", ["bench", "h3ds", "--root", "{h3ds}", "--out", "{w}/blocker/b", "--no-prior"], "cannot be written"),
    ("bench-root-missing", ["bench", "h3ds", "--root", "{w}/none", "--out", "{w}/b", "--no-prior"], "--root"),
    # --- train
    ("train-limit-0", R + ["--limit", "0"], "--limit 0"),
    ("train-iters-0", R + ["--iters", "0"], "--iters 0"),
    ("train-views-0", R + ["--views", "0"], "--views 0"),
    ("train-workers-0", R + ["--workers", "0"], "--workers 0"),
    ("train-out-under-file", ["train", "{data}", "--out", "{w}/blocker/r"], "cannot be written"),
    ("train-export-under-file", R + ["--export", "{w}/blocker/p"], "--export"),
    ("train-resume-nothing", R + ["--resume"], "--resume"),
    ("train-no-scenes", ["train", "{empty}", "--out", "{w}/run"], "no NeuS scene folders"),
    # --- synth
    ("synth-n-0", ["synth", "--out", "{w}/s", "--n", "0"], "--n 0"),
    ("synth-out-under-file", ["synth", "--out", "{w}/blocker/s", "--n", "1"], "cannot be written"),
    # --- parsing
    ("parse-unknown-option", ["fit", "{case}", "--out", "{w}/out", "--frobnicate"], "--frobnicate"),
    ("parse-not-an-int", F + ["--iters", "ten"], "--iters"),
]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if not _cuda():  # on a CUDA machine plain --device cuda is valid
    CASES.append(("fit-device-cuda-without-cuda", F + ["--device", "cuda"], "--device cuda: CUDA is not available"))
    CASES.append(("bench-device-cuda-without-cuda", B + ["--device", "cuda"], "--device cuda: CUDA is not available"))


@pytest.mark.parametrize("argv, needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(inputs, tmp_path, capsys, argv, needle):
    (tmp_path / "blocker").write_text("a file where a folder is expected")
    (tmp_path / "folder.ply").mkdir()
    before = snapshot(tmp_path)
    args = [a.format(w=tmp_path, **inputs) for a in argv]
    rc, err = run_cli(args, capsys)
    assert rc == 2, (rc, err)
    assert len(err) == 1, err
    assert needle in err[0], err
    assert snapshot(tmp_path) == before


def test_internal_errors_are_exit_1_with_a_hint(inputs, tmp_path, capsys, monkeypatch):
    from neuhead.commands import mesh

    def boom(path):
        raise KeyError("a bug")

    monkeypatch.setattr("neuhead.reconstruction.load_reconstruction", boom)
    rc, err = run_cli(["mesh", str(inputs["ckpt"]), "--out", str(tmp_path / "m.ply")], capsys)
    assert rc == 1 and len(err) == 1 and "internal error: KeyError" in err[0] and "rerun with -v" in err[0], err
    rc, err = run_cli(["-v", "mesh", str(inputs["ckpt"]), "--out", str(tmp_path / "m.ply")], capsys)
    assert rc == 1 and any("Traceback" in line for line in err) and "internal error: KeyError" in err[-1]
    # a plain ValueError or OSError from inside is a bug too, not bad input
    monkeypatch.setattr("neuhead.reconstruction.load_reconstruction", lambda p: (_ for _ in ()).throw(OSError("x")))
    assert run_cli(["mesh", str(inputs["ckpt"]), "--out", str(tmp_path / "m.ply")], capsys)[0] == 1
    assert mesh  # the module whose import the monkeypatch relies on


# ----------------------------------------------------------------------------- disk full


@pytest.fixture
def full_disk(tmp_path):
    """A 300 KB tmpfs (root only) with all but ~``free`` bytes taken by a filler file."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "full"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def _fill(mnt: Path, leave: int) -> None:
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    (mnt / "filler").write_bytes(b"\0" * max(free - leave, 0))


def test_disk_full_checkpoint_is_one_line_and_the_old_one_survives(inputs, full_disk, capsys):
    import torch

    from neuhead.errors import WriteError

    ck = full_disk / "checkpoint.safetensors"
    ck.write_bytes(inputs["ckpt"].read_bytes())  # a complete checkpoint from an earlier save
    _fill(full_disk, 8192)
    before = snapshot(full_disk)
    model = MultiNeuS(SCRATCH_PRESETS["quick"].model, n_scenes=1)
    with pytest.raises(WriteError, match=r"checkpoint.safetensors: cannot be written \(No space left on device\)"):
        save_checkpoint(ck, model, {"n": 1})
    assert snapshot(full_disk) == before  # no temp file, the old checkpoint untouched
    old, new = load_checkpoint(ck), load_checkpoint(inputs["ckpt"])
    assert all(torch.equal(old.tensors[k], new.tensors[k]) for k in new.tensors)


@pytest.mark.parametrize("what", ["mesh", "export-glb", "export-obj", "eval-json", "eval-heatmap"])
def test_disk_full_cli_writes_are_one_line_naming_the_file(inputs, full_disk, capsys, what):
    _fill(full_disk, 0)
    before = snapshot(full_disk)
    argv, name = {
        "mesh": (["mesh", str(inputs["ckpt"]), "--resolution", "48", "--no-color", "--out", str(full_disk / "m.ply")], "m.ply"),
        "export-glb": (["export", str(inputs["run"]), "--resolution", "32", "--texture", "64", "--faces", "500",
                        "--out", str(full_disk / "h.glb")], "h.glb"),
        "export-obj": (["export", str(inputs["run"]), "--resolution", "32", "--texture", "64", "--faces", "500",
                        "--out", str(full_disk / "h.obj")], "h.obj"),
        "eval-json": (["eval", str(inputs["pred"]), str(inputs["gt"]), "--nose-tip", "0,0,100",
                       "--out", str(full_disk / "s.json")], "s.json"),
        "eval-heatmap": (["eval", str(inputs["pred"]), str(inputs["gt"]), "--nose-tip", "0,0,100",
                          "--heatmap", str(full_disk / "h.png")], "h.png"),
    }[what]
    rc, err = run_cli(argv, capsys)
    err = [line for line in err if "neuhead" in line]  # logged notes (export) are not the error line
    assert rc == 2 and len(err) == 1, (rc, err)
    assert name in err[0] and "No space left on device" in err[0], err
    assert snapshot(full_disk) == before


def test_disk_full_fit_names_the_checkpoint_and_leaves_no_temp_file(inputs, full_disk, capsys):
    rc, err = run_cli(["fit", str(inputs["case"]), "--out", str(full_disk / "out"), "--no-prior", "--iters", "2",
                       "--resolution", "32", "--no-progress"], capsys)
    err = [line for line in err if line.startswith("neuhead")]
    assert rc == 2 and len(err) == 1 and "checkpoint.safetensors: cannot be written (No space left on device)" in err[0], err
    left = [p.name for p in (full_disk / "out").iterdir()]
    assert not [n for n in left if ".tmp" in n], left
    for name in left:  # whatever was written before the disk filled is complete
        if name.endswith(".safetensors"):
            load_checkpoint(full_disk / "out" / name)


def test_disk_full_png_and_npz_writers(full_disk):
    from neuhead.cameras import Cameras
    from neuhead.data.neus import write_cameras_npz
    from neuhead.errors import WriteError
    from neuhead.io import write_png

    _fill(full_disk, 2048)
    before = snapshot(full_disk)
    with pytest.raises(WriteError, match=r"p.png: cannot be written \(No space left on device\)"):
        write_png(full_disk / "p.png", np.random.default_rng(0).random((256, 256, 3)))
    cams = Cameras(np.repeat(np.eye(3)[None], 400, 0), np.repeat(np.eye(4)[None], 400, 0), 64, 64)
    with pytest.raises(WriteError, match=r"c.npz: cannot be written"):
        write_cameras_npz(full_disk / "c.npz", cams, np.eye(4))
    assert snapshot(full_disk) == before


# ----------------------------------------------------------------------------- large photos


def test_a_12000px_jpeg_is_read_downsampled_under_2_gb(tmp_path):
    from neuhead.data.photo import MAX_SIDE_PX

    path = tmp_path / "big.jpg"
    im = Image.new("RGB", (12000, 12000), (180, 140, 120))
    im.paste((40, 60, 200), (3000, 2000, 9000, 11000))
    im.save(path, quality=80)
    del im
    code = textwrap.dedent(f"""
        import resource, sys
        from neuhead.data.photo import read_photo
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        img = read_photo({str(path)!r})
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(img.shape[0], img.shape[1], base, peak, float(img[6000 * {MAX_SIDE_PX} // 12000, 500 * {MAX_SIDE_PX} // 12000, 0]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    h, w, base_kb, peak_kb, red = out.stdout.split()
    assert (int(h), int(w)) == (MAX_SIDE_PX, MAX_SIDE_PX)
    assert int(peak_kb) < 2 * 1024 * 1024, f"peak RSS {int(peak_kb) / 1024:.0f} MB"
    assert abs(float(red) - 180 / 255) < 0.05  # the picture survived the downsampling


def test_capped_photo_keeps_aspect_and_a_photo_size_mask_follows(tmp_path):
    from neuhead.data.photo import capped_size, read_photo, read_user_mask

    assert capped_size(800, 600) == (800, 600)
    assert capped_size(8192, 6144) == (4096, 3072)
    path = tmp_path / "wide.png"
    Image.new("RGB", (5000, 2500), (10, 20, 30)).save(path)
    img = read_photo(path)
    assert img.shape == (2048, 4096, 3)
    m = np.zeros((2500, 5000), np.uint8)
    m[500:2000, 1500:3500] = 255
    mask = read_user_mask(_png(tmp_path / "mask.png", m), img.shape[:2], str(path))
    assert mask.shape == (2048, 4096) and abs(mask.mean() - m.mean() / 255) < 0.01


def test_small_but_legitimate_masks_are_kept():
    from neuhead.data.photo import read_user_mask

    m = np.zeros((100, 100), np.float32)
    m[40:55, 40:55] = 1.0  # 2.25 %
    assert read_user_mask(m, (100, 100), "photo").sum() == 225


def test_the_checks_accept_what_is_valid(tmp_path):
    from neuhead.commands import _checks as check
    from neuhead.commands.export import _faces

    assert _faces("all") is None and _faces("ALL") is None and _faces("1200") == 1200
    assert check.device("cpu") == "cpu" and check.device("auto") in ("cpu", "cuda")
    check.resolution("--resolution", 32)
    check.output_dir("--out", tmp_path / "new" / "deeper")  # creatable, and not created
    check.output_file("--report", tmp_path / "a" / "r.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt, name", [("torchscript", "n.pt"), ("onnx", "n.onnx")])
def test_disk_full_sdf_network_is_an_export_error_not_an_abort(full_disk, fmt, name):
    import torch

    from meshing.errors import ExportError
    from meshing.sdf_export import export_sdf_network

    _fill(full_disk, 0)
    before = snapshot(full_disk)
    net = torch.nn.Sequential(torch.nn.Linear(3, 300), torch.nn.Linear(300, 300), torch.nn.Linear(300, 1))
    with pytest.raises(ExportError, match=rf"{name}: cannot be written \(No space left on device\)"):
        export_sdf_network(net, np.eye(4), full_disk / name, fmt)
    assert snapshot(full_disk) == before


def test_disk_full_train_is_one_line_naming_the_run_folder(inputs, full_disk, capsys):
    _fill(full_disk, 0)
    rc, err = run_cli(["train", str(inputs["data"]), "--out", str(full_disk / "run"), "--iters", "1", "--no-progress"],
                      capsys)
    err = [line for line in err if line.startswith("neuhead")]
    assert rc == 2 and len(err) == 1 and "run" in err[0] and "No space left on device" in err[0], err
    assert not [p for p in full_disk.rglob("*") if ".tmp" in p.name]


def test_a_large_rotated_jpeg_is_capped_after_its_exif_orientation(tmp_path):
    from neuhead.data.photo import read_photo

    im = Image.new("RGB", (6000, 4000), (200, 10, 10))
    im.paste((10, 10, 200), (0, 0, 3000, 4000))  # left half blue
    exif = im.getexif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: 4000 wide, 6000 high, the blue half on top
    im.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=85)
    a = read_photo(tmp_path / "rot.jpg")
    assert a.shape == (4096, 2731, 3)
    assert a[100, 1000, 2] > 0.7 and a[-100, 1000, 0] > 0.7
