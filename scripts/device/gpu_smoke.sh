#!/bin/bash
# Device smoke (about 3 min): imports, a 6x128 training smoke on 8 heads with its GPU step rates, GPU fit times of
# the shipped prior (1 view x 2, 3 views x 1). Built by scripts/device/prepare.sh; run with carry [".dev"].
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
el "synth 8 heads"
timeout 60 python3 -m neuhead.cli synth --n 8 --views 12 --res 128 --rig 360 --format neus --out /tmp/train8 --seed 0 --workers 8 --no-progress 2>&1 | tail -2 | tee -a $LOG
el "train smoke: 6x128 on 8 heads, budget 40 s"
timeout 120 python3 scripts/train_device.py /tmp/train8 --out /tmp/run8 --export /tmp/prior8 --device cuda --model 6x128 --budget-s 40 --max-geometry-iters 3000 --geometry-workers 8 2>&1 | grep -v Warning | tail -8 | tee -a $LOG
el "fit time, shipped prior, cuda"
timeout 120 python3 benchmarks/bench_fit_time.py --views 1 --repeats 2 --device cuda --scenes .dev/scenes 2>&1 | tail -30 | tee -a $LOG
timeout 90 python3 benchmarks/bench_fit_time.py --views 3 --repeats 1 --device cuda --scenes .dev/scenes 2>&1 | tail -30 | tee -a $LOG
el done
