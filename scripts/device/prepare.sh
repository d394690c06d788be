#!/bin/bash
# Builds .dev/ (git-ignored through .git/info/exclude) for a lent GPU machine (the `device` tool), whose
# image has torch, numpy, scipy, scikit-image, OpenCV, safetensors and tqdm but not trimesh, PyMCubes, xatlas,
# fast-simplification or Open3D, and reaches no package index. What travels is at most 64 MiB with the
# working tree (about 16 MB), so:
#   - the four small wheels for the machine's Python 3.12;
#   - Open3D (the synth extra: rendering the training heads and their exact SDF) as open3d-cpu 0.20 unpacked,
#     without its TensorFlow/PyTorch ops and image-based-lighting files (unused here), re-packed with xz:
#     105 MB wheel -> 39 MB;
#   - the shared libraries Open3D links (X11, GL, EGL, udev, usb, ...) from this machine, copied there only
#     where the machine lacks them;
#   - the one- and three-view NeuS folders of benchmarks/bench_fit_time.py (--scenes), written here.
# Then: device run `bash scripts/device/gpu_smoke.sh` (about 3 min: imports, a 6x128 training smoke on 8
# heads with its step rates, GPU fit times of the shipped prior) or `bash scripts/device/gpu_session.sh`
# (one 9-minute call: fit times, 256 heads synthesised there, the 6x128 prior trained on the GPU inside the
# time left, its fit time), each with carry [".dev"].
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx "/.dev/" .git/info/exclude || echo "/.dev/" >> .git/info/exclude
mkdir -p .dev/whl .dev/libs /tmp/devwhl
PLAT="--platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_24_x86_64 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_35_x86_64"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLAT \
    -d /tmp/devwhl trimesh pymcubes xatlas fast-simplification open3d-cpu==0.20.0
cp /tmp/devwhl/{PyMCubes,fast_simplification,trimesh,xatlas}*.whl .dev/whl/
if [ ! -f .dev/o3d.tar.xz ]; then
    rm -rf /tmp/devo3d && mkdir /tmp/devo3d && (cd /tmp/devo3d && unzip -q /tmp/devwhl/open3d_cpu-*.whl \
        && rm -f open3d/open3d_tf_ops.so open3d/open3d_torch_ops.so open3d/resources/*.ktx)
    tar cf - -C /tmp/devo3d . | xz -9 -T2 > .dev/o3d.tar.xz
fi
for n in libEGL.so.1 libX11.so.6 libudev.so.1 libusb-1.0.so.0 libidn2.so.0 libGL.so.1 libGLdispatch.so.0 libxcb.so.1 \
         libunistring.so.2 libGLX.so.0 libXau.so.6 libXdmcp.so.6 libbsd.so.0 libmd.so.0 libgomp.so.1; do
    p=$(ldconfig -p | grep -F "$n (" | head -1 | awk '{print $NF}')
    [ -n "$p" ] && cp -L "$p" .dev/libs/$n
done
OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_fit_time.py --views 1,3 --repeats 1 --iters 2 --resolution 64 \
    --scenes .dev/scenes
du -sh .dev
