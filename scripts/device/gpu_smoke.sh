#!/bin/bash
# Device smoke (about 3 min): imports, a 6x128 training smoke on 8 heads with its GPU step rates, GPU fit times of
# the shipped prior (1 view x 2, 3 views x 1). Built by scripts/device/prepare.sh; run with carry [".dev"].
source "$(dirname "$0")/setup.sh"
el "synth 8 heads"
timeout 60 python3 -m neuhead.cli synth --n 8 --views 12 --res 128 --rig 360 --format neus --out /tmp/train8 --seed 0 --workers 8 --no-progress 2>&1 | tail -2 | tee -a $LOG
el "train smoke: 6x128 on 8 heads, budget 40 s"
timeout 120 python3 scripts/train_device.py /tmp/train8 --out /tmp/run8 --export /tmp/prior8 --device cuda --model 6x128 --budget-s 40 --max-geometry-iters 3000 --geometry-workers 8 2>&1 | grep -v Warning | tail -8 | tee -a $LOG
el "fit time, shipped prior, cuda"
timeout 120 python3 benchmarks/bench_fit_time.py --views 1 --repeats 2 --device cuda --scenes .dev/scenes 2>&1 | tail -30 | tee -a $LOG
timeout 90 python3 benchmarks/bench_fit_time.py --views 3 --repeats 1 --device cuda --scenes .dev/scenes 2>&1 | tail -30 | tee -a $LOG
el done
