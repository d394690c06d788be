"""Set-up and terminal: the shipped data is package data, the detector is quiet, the log levels, make's stamp.

Oracles: the files under ``assets/`` against pyproject's package-data globs (what a wheel holds); the
stderr of a fresh process that loads the sample photo (only neuhead's own line may appear); ``make -n``
(what make would run) before and after the set-up stamp exists.
"""

import fnmatch
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import neuhead
from neuhead.cli import OWN_LOGGERS, build_parser, setup_logging
from neuhead.data.synthetic.head import ASSET_PATH
from neuhead.prior import DEFAULT_PRIOR

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(neuhead.__file__).resolve().parent

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def test_assets_are_found_inside_the_package_and_every_file_ships_in_the_wheel():
    # the prior and the head model are looked up under neuhead/assets (a symlink to assets/ in a checkout,
    # package data in a wheel), not beside the repository
    assert DEFAULT_PRIOR == PACKAGE / "assets" / "prior" and (DEFAULT_PRIOR / "prior.safetensors").is_file()
    assert ASSET_PATH == PACKAGE / "assets" / "ict" / "ict_head.npz" and ASSET_PATH.is_file()
    assert (PACKAGE / "assets").resolve() == (ROOT / "assets").resolve()
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["neuhead"]
    files = [p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "assets").rglob("*") if p.is_file()]
    assert "assets/ict/LICENSE" in files and "assets/sample_photo.png" in files
    missed = [f for f in files if "__pycache__" not in f
              and not any(fnmatch.fnmatch(f, g) and f.count("/") == g.count("/") for g in globs)]
    assert not missed, f"not in the wheel (extend package-data in pyproject.toml): {missed}"


_LOAD_PHOTO = textwrap.dedent("""
    import os, sys
    from neuhead.cli import setup_logging
    from neuhead.data.photo import load_photo
    for verbose in (False, True):
        setup_logging(verbose)
        assert load_photo(sys.argv[1]).n_faces == 1
        os.write(2, b"-- fd 2 is back --\\n")   # the descriptor the detector's C++ logs went to is restored
""")


def test_loading_a_photo_prints_only_neuhead_lines_and_verbose_lets_the_detector_through():
    pytest.importorskip("mediapipe")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for k in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(k, None)
    photo = str(ROOT / "assets" / "sample_photo.png")
    r = subprocess.run([sys.executable, "-c", _LOAD_PHOTO, photo], capture_output=True, text=True, env=env,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines.count("-- fd 2 is back --") == 2, lines
    split = lines.index("-- fd 2 is back --")
    quiet, verbose = lines[:split], lines[split + 1:-1]
    # without the guard mediapipe 0.10.21 prints "INFO: Created TensorFlow Lite XNNPACK delegate",
    # "WARNING: All log messages before absl::InitializeLog() ...", "W0000 ... inference_feedback_manager.cc",
    # and with protobuf >= 5 "AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'"
    assert len(quiet) == 1 and quiet[0].startswith(photo + ": face "), quiet
    # -v: neuhead's line, its debug lines and the detector's native ones
    assert any(line.startswith(photo + ": face ") for line in verbose)
    assert any(".cc:" in line or "TensorFlow Lite" in line for line in verbose), verbose


def test_log_levels_default_verbose_quiet():
    saved = {n: logging.getLogger(n).level for n in OWN_LOGGERS}
    try:
        setup_logging()
        assert all(logging.getLogger(n).getEffectiveLevel() == logging.INFO for n in OWN_LOGGERS)
        setup_logging(verbose=True)
        assert logging.getLogger("neuhead.data.photo").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("trimesh").isEnabledFor(logging.DEBUG)
        setup_logging(quiet=True)
        assert not logging.getLogger("neuhead.pipeline").isEnabledFor(logging.WARNING)
        assert logging.getLogger("meshing").isEnabledFor(logging.ERROR)
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)
    args = build_parser().parse_args(["-q", "fit", "x.png", "--out", "o"])
    assert args.quiet and not args.verbose
    with pytest.raises(SystemExit):
        build_parser().parse_args(["-q", "-v", "fit", "x.png", "--out", "o"])


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_sets_up_once_then_only_runs(tmp_path):
    venv = tmp_path / "venv"

    def dry(target):
        r = subprocess.run(["make", "-s", "-n", target, f"VENV={venv}"], capture_output=True, text=True, cwd=ROOT,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    plan = dry("test")  # no stamp yet: the whole set-up, torch before the project, then pytest
    assert plan.index("install -qq torch==2.13.0") < plan.index('install -qq -e ".[test]"') \
        < plan.index("pip --disable-pip-version-check check") < plan.rindex(f"{venv}/bin/pytest -q")
    touch = [line for line in plan.splitlines() if line.startswith("touch ")]
    assert len(touch) == 1
    Path(touch[0].split(" ", 1)[1]).parent.mkdir(parents=True)
    Path(touch[0].split(" ", 1)[1]).touch()  # what a finished set-up leaves
    assert dry("test").strip() == f"{venv}/bin/pytest -q"  # second run: nothing installed
    assert dry("demo").strip() == f"{venv}/bin/neuhead fit assets/sample_photo.png --out out/sample"
