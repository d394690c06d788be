"""``neuhead eval`` end to end on files."""

import json

import numpy as np
import pytest
import trimesh

from evalhelpers import ICT

from neuhead.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from evalhelpers import ict_head_mm

    d = tmp_path_factory.mktemp("evalcli")
    v, f, nose = ict_head_mm()
    lm = np.load(ICT)["landmarks_multipie68"]
    trimesh.Trimesh(v, f, process=False).export(d / "gt.obj")
    trimesh.Trimesh(v + 0.5 * np.sin(v / 9.0) + [1.0, 2.0, 3.0], f, process=False).export(d / "pred.ply")
    (d / "landmarks.txt").write_text(f"right_eye {lm[36]}\nleft_eye {lm[45]}\nnose_tip {lm[30]}\n"
                                     f"nose_base {lm[33]}\nright_lips {lm[48]}\nleft_lips {lm[54]}\n")
    np.savetxt(d / "nose.txt", np.flatnonzero(np.linalg.norm(v - nose, axis=1) < 30), fmt="%d")
    np.savetxt(d / "bad.txt", [0, 1, len(v) + 5], fmt="%d")
    return d, nose


def test_eval_json_landmarks_region_heatmap(files, capsys):
    d, nose = files
    rc = main(["eval", str(d / "pred.ply"), str(d / "gt.obj"), "--landmarks", str(d / "landmarks.txt"),
               "--region", str(d / "nose.txt"), "--json", "--out", str(d / "s.json"), "--heatmap", str(d / "h.png")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out == json.loads((d / "s.json").read_text())
    assert set(out) >= {"head", "face_sphere", "nose"}
    assert 0.05 < out["face_sphere"]["mean"] < 1.0 and out["nose"]["n_vertices"] > 10
    assert (d / "h.png").stat().st_size > 10000
    # --nose-tip gives the same face_sphere as the landmarks file
    tip = trimesh.load(d / "gt.obj", process=False, maintain_order=True).vertices[
        int(np.load(ICT)["landmarks_multipie68"][30])]
    assert main(["eval", str(d / "pred.ply"), str(d / "gt.obj"), "--nose-tip", ",".join(map(repr, tip.tolist())),
                 "--json"]) == 0
    out2 = json.loads(capsys.readouterr().out)
    assert out2["face_sphere"]["mean"] == pytest.approx(out["face_sphere"]["mean"], rel=1e-9)


def test_eval_surface_protocol(files, capsys):
    d, _ = files
    assert main(["eval", str(d / "pred.ply"), str(d / "gt.obj"), "--protocol", "surface", "--samples", "5000",
                 "--threshold", "2"]) == 0
    text = capsys.readouterr().out
    assert "chamfer" in text and "F@2" in text


@pytest.mark.parametrize("argv, message", [
    (["{d}/bad.txt", "{d}/gt.obj"], "cannot read mesh"),
    (["{d}/pred.ply", "{d}/missing.obj"], "missing.obj: mesh file not found"),
    (["{d}/pred.ply", "{d}/gt.obj", "--region", "{d}/bad.txt"], "bad.txt: 1 vertex indices out of range"),
    (["{d}/pred.ply", "{d}/gt.obj", "--nose-tip", "1,2"], "expected three finite numbers"),
])
def test_eval_bad_input_is_one_line_exit_2(files, capsys, argv, message):
    d, _ = files
    rc = main(["eval"] + [a.format(d=d) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
