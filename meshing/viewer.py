"""``viewer.html``: one self-contained page that shows a GLB with orbit controls, offline.

The page inlines three.js, OrbitControls and GLTFLoader (``_vendor/three-viewer.min.js``: an IIFE bundle of
the npm package ``three`` pinned in ``tools/webcheck/package.json``, built by ``tools/webcheck/build_viewer.mjs``;
MIT licence, ``_vendor/THREE_LICENSE.txt``, repeated in the page) and the GLB itself as base64. It makes no
network request and uses no ES module import, so it opens by double-click (``file://``) in Chromium and
Firefox. ``window.__status`` is ``'loading'``, ``'ok'`` or ``'error: ...'`` (the headless check reads it).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from meshing._files import atomic_paths

VENDOR = Path(__file__).resolve().parent / "_vendor"
BUNDLE = VENDOR / "three-viewer.min.js"
LICENSE = VENDOR / "THREE_LICENSE.txt"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>
html, body {{ margin: 0; height: 100%; overflow: hidden; background: #3a3d42; font: 13px system-ui, sans-serif; }}
canvas {{ display: block; }}
#hint {{ position: fixed; left: 10px; bottom: 8px; color: #d8dadd; opacity: 0.8; pointer-events: none; }}
</style>
</head>
<body>
<div id="hint">{title} — drag: orbit · right-drag: pan · wheel: zoom · double-click: reset</div>
<!--
{license}
-->
<script>
{bundle}
</script>
<script id="glb" type="application/octet-stream">{glb}</script>
<script>
(function () {{
  'use strict';
  window.__status = 'loading';
  var T = window.NEUHEAD_THREE, THREE = T.THREE;
  function fail(e) {{ window.__status = 'error: ' + (e && e.message ? e.message : String(e)); }}
  try {{
    var renderer = new THREE.WebGLRenderer({{ antialias: true, preserveDrawingBuffer: true }});
    renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    renderer.setSize(window.innerWidth, window.innerHeight);
    renderer.outputColorSpace = THREE.SRGBColorSpace;
    document.body.appendChild(renderer.domElement);
    var scene = new THREE.Scene();
    scene.background = new THREE.Color(0x3a3d42);
    var camera = new THREE.PerspectiveCamera(30, window.innerWidth / window.innerHeight, 0.001, 100);
    // neutral light: white sky/ground fill plus a soft white key that follows the camera
    scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8a8a, 1.9));
    var key = new THREE.DirectionalLight(0xffffff, 1.1);
    camera.add(key);
    key.position.set(0.3, 0.5, 1.0);
    scene.add(camera);
    var controls = new T.OrbitControls(camera, renderer.domElement);
    controls.enableDamping = true;
    var b64 = document.getElementById('glb').textContent.replace(/\\s+/g, '');
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var home = null;
    function frame() {{
      camera.position.copy(home.position); controls.target.copy(home.target); camera.near = home.near;
      camera.far = home.far; camera.updateProjectionMatrix(); controls.update();
    }}
    new T.GLTFLoader().parse(bytes.buffer, '', function (gltf) {{
      try {{
        var model = gltf.scene, meshes = 0, textured = 0;
        model.traverse(function (o) {{ if (o.isMesh) {{ meshes++; if (o.material && o.material.map) textured++; }} }});
        if (meshes === 0) throw new Error('the GLB has no mesh');
        scene.add(model);
        var box = new THREE.Box3().setFromObject(model);
        var centre = box.getCenter(new THREE.Vector3());
        var radius = box.getSize(new THREE.Vector3()).length() / 2;
        var dist = radius / Math.sin(THREE.MathUtils.degToRad(15)) * 1.05;
        // glTF: +Y up, the head looks along +Z; start in front, slightly from above
        home = {{ position: centre.clone().add(new THREE.Vector3(0, 0.25, 1).normalize().multiplyScalar(dist)),
                 target: centre, near: radius / 100, far: radius * 100 }};
        controls.minDistance = radius * 0.3; controls.maxDistance = radius * 20;
        frame();
        renderer.domElement.addEventListener('dblclick', frame);
        renderer.render(scene, camera);
        window.__info = {{ meshes: meshes, textured: textured, radius: radius }};
        window.__status = 'ok';
      }} catch (e) {{ fail(e); }}
    }}, fail);
    window.addEventListener('resize', function () {{
      camera.aspect = window.innerWidth / window.innerHeight; camera.updateProjectionMatrix();
      renderer.setSize(window.innerWidth, window.innerHeight);
    }});
    renderer.setAnimationLoop(function () {{ if (home) {{ controls.update(); renderer.render(scene, camera); }} }});
  }} catch (e) {{ fail(e); }}
}})();
</script>
</body>
</html>
"""


def viewer_html(glb: bytes, title: str = "neuhead") -> str:
    """The page for ``glb`` (the bytes of a .glb file)."""
    if glb[:4] != b"glTF":
        raise ValueError("viewer_html: not a GLB (no glTF magic)")
    bundle = BUNDLE.read_text(encoding="utf-8")
    if "</script" in bundle.lower():  # pragma: no cover - the committed bundle has none
        raise RuntimeError(f"{BUNDLE}: contains '</script' and cannot be inlined")
    text = base64.b64encode(glb).decode("ascii")
    lines = "\n".join(text[i : i + 120] for i in range(0, len(text), 120))
    licence = LICENSE.read_text(encoding="utf-8").replace("--", "- -")
    return _PAGE.format(title=html.escape(title), license="three.js (https://threejs.org), bundled from npm:\n" + licence,
                        bundle=bundle, glb=lines)


def write_viewer(glb_path: str | Path, out: str | Path | None = None, title: str | None = None) -> Path:
    """Write ``viewer.html`` (default: beside ``glb_path``) showing that GLB; atomically. Returns the path."""
    glb_path = Path(glb_path)
    out = glb_path.with_name("viewer.html") if out is None else Path(out)
    page = viewer_html(glb_path.read_bytes(), title or glb_path.stem)
    with atomic_paths([out]) as (tmp,):
        tmp.write_text(page, encoding="utf-8")
    return out
