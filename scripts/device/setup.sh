#!/bin/bash
# Sourced by gpu_smoke.sh and gpu_session.sh on the device machine (repo root, $OUT set): the log and its
# timer (`el`), the GPU and CPU count, the carried wheels, Open3D and the libraries the machine lacks, the imports.
set -u
export PYTHONUNBUFFERED=1
T0=$(date +%s)
LOG=$OUT/log.txt
el() { echo "=== [t+$(( $(date +%s) - T0 ))s] $*" | tee -a $LOG; }
el start
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a $LOG
nproc | tee -a $LOG
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .dev/whl/*.whl 2>&1 | tail -2 | tee -a $LOG
mkdir -p /tmp/o3d /tmp/xlibs && xz -dc .dev/o3d.tar.xz | tar xf - -C /tmp/o3d
for f in .dev/libs/*; do n=$(basename $f); ldconfig -p | grep -q -F "$n (" || cp $f /tmp/xlibs/; done
echo "carried libs used: $(ls /tmp/xlibs | tr '\n' ' ')" | tee -a $LOG
export LD_LIBRARY_PATH=/tmp/xlibs:${LD_LIBRARY_PATH:-}
export PYTHONPATH=/tmp/site:/tmp/o3d:$PWD
python3 -c "import torch,numpy,trimesh,mcubes,xatlas,cv2,scipy,skimage;print('torch',torch.__version__,torch.cuda.is_available(),'numpy',numpy.__version__)" 2>&1 | tee -a $LOG
python3 -c "import open3d; print('open3d', open3d.__version__)" 2>&1 | tail -3 | tee -a $LOG
