"""viewer.html: self-contained (GLB and three.js inlined, nothing fetched), and it renders the head in
headless Chromium when Chromium and tools/webcheck's node modules are installed (CI runs the same check)."""

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from meshing import shapes
from meshing.export import export_asset
from meshing.viewer import write_viewer

WEBCHECK = Path(__file__).resolve().parents[2] / "tools" / "webcheck"


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    d = tmp_path_factory.mktemp("viewer")
    export_asset(shapes.torus_sdf(0.5, 0.2), shapes.position_color, np.diag([100.0, 100, 100, 1]), d / "head.glb",
                 world_units="mm", resolution=48, faces=2000, texture=128)
    return d / "head.glb", write_viewer(d / "head.glb")


def test_viewer_is_one_offline_file(viewer):
    glb, page = viewer
    assert page == glb.with_name("viewer.html")
    text = page.read_text(encoding="utf-8")
    blob = re.search(r'<script id="glb" type="application/octet-stream">(.*?)</script>', text, re.S).group(1)
    assert base64.b64decode("".join(blob.split())) == glb.read_bytes()
    assert "NEUHEAD_THREE" in text and "OrbitControls" in text and "MIT License" in text
    # nothing to fetch: no external scripts, styles, module imports or import maps
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(?!data:)", text)
    assert 'type="module"' not in text and "importmap" not in text
    assert not re.search(r"""import\s*\(\s*['"]https?:""", text)


@pytest.mark.skipif(shutil.which("node") is None or not Path("/usr/bin/chromium").exists()
                    or not (WEBCHECK / "node_modules" / "puppeteer-core").is_dir(),
                    reason="needs node, /usr/bin/chromium and `npm ci` in tools/webcheck")
def test_viewer_renders_in_headless_chromium(viewer, tmp_path):
    _, page = viewer
    shot = tmp_path / "viewer.png"
    r = subprocess.run(["node", str(WEBCHECK / "check_viewer.mjs"), str(page), str(shot), "--size", "320"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok (1 mesh(es), 1 textured)" in r.stdout and shot.stat().st_size > 1000
