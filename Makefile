# The two commands (README, first block):
#   make demo   the main job: assets/sample_photo.png -> a 3D head in out/sample/ (shipped prior, CPU)
#   make test   the test suite
# Each one first sets up .venv if needed, in this order: Debian libraries when root and missing (open3d
# needs libusb-1.0-0, OpenCV libGL and glib), the CPU torch (pinned first: an unpinned torch pulls GBs of
# CUDA), then the project editable with its extras, then `pip check`. The set-up is keyed on a hash of
# pyproject.toml and the torch pin (a stamp file in .venv): a second run installs nothing and starts at once.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
OUT ?= out/sample
PHOTO ?= assets/sample_photo.png

BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
KEY := $(shell { echo '$(TORCH)'; cat pyproject.toml; } | sha256sum | cut -c1-16)
STAMP := $(VENV)/.neuhead-setup-$(KEY)
# shared library : Debian package (checked with ldconfig, installed only as root)
DEBIAN_LIBS := libusb-1.0.so.0:libusb-1.0-0 libGL.so.1:libgl1 libgthread-2.0.so.0:libglib2.0-0

.PHONY: demo test setup

demo: $(STAMP)
	$(BIN)/neuhead fit $(PHOTO) --out $(OUT)

test: $(STAMP)
	$(BIN)/pytest -q

setup: $(STAMP)

$(STAMP):
	@missing=""; for pair in $(DEBIAN_LIBS); do \
	  ldconfig -p | grep -q "$${pair%%:*}" || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: apt-get install$$missing"; \
	    apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null && apt-get install -y -qq $$missing >/dev/null; }; \
	  else echo "setup: missing Debian packages (as root: apt-get install$$missing)"; fi; fi
	@test -x $(BIN)/python || { echo "setup: $(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "setup: pip, then $(TORCH) (CPU build)"
	@$(PIP) install -qq --upgrade pip
	@$(PIP) install -qq $(TORCH)
	@# one cv2 distribution: mediapipe requires opencv-contrib-python, and a second one (headless, ...)
	@# would overwrite its files; an earlier set-up's OpenCV is removed before the project install
	@$(PIP) uninstall -qq -y opencv-python opencv-python-headless opencv-contrib-python-headless \
	  opencv-contrib-python 2>/dev/null || true
	@echo "setup: pip install -e \".[test]\" (the project, face landmarks, open3d-cpu, onnx, pytest)"
	@$(PIP) install -qq -e ".[test]"
	@$(PIP) check
	@rm -f $(VENV)/.neuhead-setup-*
	@touch $@
