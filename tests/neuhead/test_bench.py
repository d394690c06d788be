"""The H3DS benchmark runner's loop, resume and table logic, with an injected fitter."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import trimesh

from eval.chamfer import evaluate_h3ds
from eval.meshio import MeshData
from neuhead.bench import BenchConfig, read_h3ds_config, run_h3ds_bench
from neuhead.errors import InputError

ICT = next((p for p in (Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ict_facekit" / "ict_facekit.npz",
             Path("/work/shared/data/ict_facekit/ict_facekit.npz")) if p.is_file()),
     Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ict_facekit" / "ict_facekit.npz")
SHIFT = np.array([3.0, -2.0, 5.0])  # mm, removed by the ICP


def _head():
    d = np.load(ICT)
    v = d["neutral_vertices"][:11248].astype(np.float64) * 10.0  # cm -> mm
    f = d["faces"].astype(np.int64)
    f = f[(f < 11248).all(1)]
    lm = d["landmarks_multipie68"]
    return v, f, {"right_eye": lm[36], "left_eye": lm[45], "nose_tip": lm[30], "nose_base": lm[33],
                  "right_lips": lm[48], "left_lips": lm[54]}


@pytest.fixture(scope="module")
def h3ds_root(tmp_path_factory):
    """An H3DS-format root with two scenes (the same scan), F/L/R views = 0, 5, 9 and 1, 6, 8."""
    root = tmp_path_factory.mktemp("h3ds")
    v, f, lm = _head()
    nose = v[lm["nose_tip"]]
    toml = ["version = 0.2", "", "[scenes]"]
    for sid, three in (("sceneA", [0, 5, 9]), ("sceneB", [1, 6, 8])):
        d = root / sid
        (d / "regions").mkdir(parents=True)
        trimesh.Trimesh(v, f, process=False).export(d / "full_head.obj")
        (d / "landmarks.txt").write_text("".join(f"{k} {i}\n" for k, i in lm.items()))
        np.savetxt(d / "regions" / "face.txt", np.flatnonzero(np.linalg.norm(v - nose, axis=1) < 130), fmt="%d")
        np.savetxt(d / "regions" / "face_sphere.txt", np.flatnonzero(np.linalg.norm(v - nose, axis=1) <= 95), fmt="%d")
        toml += [f"    [scenes.{sid}]", "    views = 10", f"        [scenes.{sid}.default_views_configs]",
                 f"        3 = {three}", "        4 = [0, 1, 2, 3]"]
    (root / "config.toml").write_text("\n".join(toml) + "\n")
    return root, v, f


def _pred_vertices(v, views):
    """The injected fitter's mesh: the scan shifted (ICP removes it) and, except for a fit on view 0,
    deformed by a smooth wave whose amplitude depends on the views."""
    amp = 0.0 if tuple(views) == (0,) else 0.3 + 0.1 * sum(views)
    return v + amp * np.sin(v / 7.0) + SHIFT


class Fitter:
    def __init__(self, v, f, fail_on=()):
        self.v, self.f, self.fail_on, self.calls = v, f, fail_on, []

    def __call__(self, scene, preset):
        sid, views = scene
        self.calls.append((sid, tuple(views), preset))
        if sid in self.fail_on:
            raise RuntimeError("diverged")
        return trimesh.Trimesh(_pred_vertices(self.v, views), self.f, process=False)


def _load(root, scene_id, views):
    return (scene_id, list(views))


def test_read_config(h3ds_root):
    root, _, _ = h3ds_root
    specs = read_h3ds_config(root)
    assert [(s.scene_id, s.frontal_left_right) for s in specs] == [("sceneA", (0, 5, 9)), ("sceneB", (1, 6, 8))]


def test_one_view_table_scores_resume_and_agreement_with_neuhead_eval(h3ds_root, tmp_path, capsys):
    root, v, f = h3ds_root
    out = tmp_path / "out"
    fit = Fitter(v, f)
    table = run_h3ds_bench(root, out, BenchConfig(views=1, scenes=("sceneA",)), fit_fn=fit, load_scene_fn=_load)
    assert fit.calls == [("sceneA", (0,), "quick"), ("sceneA", (5,), "quick"), ("sceneA", (9,), "quick")]
    # F: a pure shift -> the toolbox ICP removes it, the score is 0 (PLY stores float32 -> ~1e-5 mm)
    assert table.value("sceneA", "face", "F") < 1e-3 and table.value("sceneA", "head", "F") < 1e-3
    # L, R: equal to the H3DS protocol run directly on the same arrays
    nose = v[int(np.load(ICT)["landmarks_multipie68"][30])]
    for label, views in (("L", (5,)), ("R", (9,))):
        ev = evaluate_h3ds(MeshData(_pred_vertices(v, views), f), MeshData(v, f), nose_tip=nose,
                           icp_region=np.flatnonzero(np.linalg.norm(v - nose, axis=1) < 130))
        assert table.value("sceneA", "face", label) == pytest.approx(ev.face_sphere.mean, rel=1e-4)
        assert table.value("sceneA", "head", label) == pytest.approx(ev.head.mean, rel=1e-4)
        assert table.value("sceneA", "head", label) > 0.3

    # the table files, Table-1 layout
    md = (out / "results.md").read_text()
    assert "| scene | face F | face L | face R | face mean | head F | head L | head R | head mean |" in md
    rows = list(csv.reader((out / "results.csv").open()))
    assert rows[0] == ["scene", "face F", "face L", "face R", "face mean", "head F", "head L", "head R", "head mean"]
    vals = [float(x) for x in rows[1][1:]]
    assert vals[3] == pytest.approx(np.mean(vals[:3]), abs=1e-5) and vals[7] == pytest.approx(np.mean(vals[4:7]), abs=1e-5)
    js = json.loads((out / "results.json").read_text())
    assert js["mean"]["head"]["L"] == pytest.approx(table.value("sceneA", "head", "L"))
    assert (out / "results.png").stat().st_size > 5000

    # numbers agree with `neuhead eval` on the same files (the command recorded per job)
    from neuhead.cli import main

    rec = json.loads((out / "scenes" / "sceneA" / "R" / "score.json").read_text())
    argv = rec["eval_command"].split()[1:] + ["--json"]
    capsys.readouterr()
    assert main(argv) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["head"]["mean"] == table.value("sceneA", "head", "R")
    assert cli["face_sphere"]["mean"] == table.value("sceneA", "face", "R")

    # resume: nothing is refitted
    def boom(scene, preset):
        raise AssertionError("refitted a finished job")

    again = run_h3ds_bench(root, out, BenchConfig(views=1, scenes=("sceneA",)), fit_fn=boom, load_scene_fn=_load)
    assert again.row("sceneA") == table.row("sceneA")
    # a lost score is recomputed from the saved mesh, a lost mesh is refitted
    (out / "scenes" / "sceneA" / "L" / "score.json").unlink()
    (out / "scenes" / "sceneA" / "R" / "score.json").unlink()
    (out / "scenes" / "sceneA" / "R" / "pred.ply").unlink()
    fit2 = Fitter(v, f)
    third = run_h3ds_bench(root, out, BenchConfig(views=1, scenes=("sceneA",)), fit_fn=fit2, load_scene_fn=_load)
    assert fit2.calls == [("sceneA", (9,), "quick")]
    np.testing.assert_allclose(third.row("sceneA"), table.row("sceneA"), rtol=1e-9)


def test_failed_scene_is_reported_and_retried_and_three_views(h3ds_root, tmp_path):
    root, v, f = h3ds_root
    out = tmp_path / "out3"
    fit = Fitter(v, f, fail_on=("sceneB",))
    table = run_h3ds_bench(root, out, BenchConfig(views=3), fit_fn=fit, load_scene_fn=_load)
    assert table.labels == ("3",) and [c for c in table.columns] == [("face", "3"), ("head", "3")]
    assert fit.calls == [("sceneA", (0, 5, 9), "quick"), ("sceneB", (1, 6, 8), "quick")]
    assert math.isnan(table.value("sceneB", "head", "3"))
    md = (out / "results.md").read_text()
    assert "sceneB 3: RuntimeError: diverged" in md and "(1/2 complete)" in md
    assert table.mean_row() == pytest.approx(table.row("sceneA"))
    assert not (out / "scenes" / "sceneB" / "3" / "score.json").exists()
    fit_ok = Fitter(v, f)
    table = run_h3ds_bench(root, out, BenchConfig(views=3), fit_fn=fit_ok, load_scene_fn=_load)
    assert fit_ok.calls == [("sceneB", (1, 6, 8), "quick")]
    assert np.isfinite(table.row("sceneB")).all()


def test_bad_root_and_unknown_scene(h3ds_root, tmp_path):
    root, v, f = h3ds_root
    with pytest.raises(InputError, match="no config.toml"):
        run_h3ds_bench(tmp_path, tmp_path / "o", fit_fn=Fitter(v, f), load_scene_fn=_load)
    with pytest.raises(InputError, match="unknown scene"):
        run_h3ds_bench(root, tmp_path / "o", BenchConfig(scenes=("nope",)), fit_fn=Fitter(v, f), load_scene_fn=_load)


def test_far_off_scale_is_a_warning_with_a_score_in_the_bench(h3ds_root, tmp_path):
    root, v, f = h3ds_root

    def half_size(scene, preset):  # same shape at 0.45x: the toolbox ICP (similarity) undoes it
        return trimesh.Trimesh(0.45 * v + SHIFT, f, process=False)

    table = run_h3ds_bench(root, tmp_path / "o", BenchConfig(views=3, scenes=("sceneA",)), fit_fn=half_size,
                           load_scene_fn=_load)
    job = table.jobs[0]
    assert job.error is None and job.head < 1e-3 and job.face < 1e-3
    assert any("far from 1" in w for w in job.warnings)
    assert "Warnings (the scores stand" in (tmp_path / "o" / "results.md").read_text()
