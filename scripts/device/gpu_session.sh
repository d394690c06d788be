#!/bin/bash
# One device call (about 9 min): GPU fit times (shipped prior), 256 heads synthesised on the machine's CPUs, the 6x128
# prior trained on the GPU inside the time left (scripts/train_device.py --budget-s), its GPU fit time.
# Built by scripts/device/prepare.sh; run with carry [".dev"]. Never run yet: no device was lent when it was written.
source "$(dirname "$0")/setup.sh"
el "synth in the background (12 worker processes)"
(timeout 150 python3 -m neuhead.cli synth --n 256 --views 12 --res 128 --rig 360 --format neus --out /tmp/train256 \
   --seed 0 --workers 12 --no-progress > /tmp/synth.log 2>&1; echo "synth rc $?" >> /tmp/synth.log) &
SYNTH=$!
el "fit time, shipped prior, cuda"
timeout 150 python3 benchmarks/bench_fit_time.py --views 1,3 --repeats 2 --device cuda --scenes .dev/scenes 2>&1 | tee -a $LOG
el "wait for synth"
wait $SYNTH; tail -3 /tmp/synth.log | tee -a $LOG
NOW=$(( $(date +%s) - T0 ))
B=$(( 560 - NOW - 75 - 60 ))   # leave 75 s for the last fit time, 60 s for loading + probe
el "train 6x128, budget ${B}s"
timeout $(( B + 90 )) python3 scripts/train_device.py /tmp/train256 --out /tmp/run6 --export /tmp/prior6x128 --device cuda \
   --model 6x128 --budget-s $B --geometry-workers 14 2>&1 | grep -v Warning | tail -5 | tee -a $LOG
mkdir -p $OUT/prior6x128
cp /tmp/prior6x128/* $OUT/prior6x128/ 2>/dev/null; cp /tmp/run6/loss_log.jsonl /tmp/run6/loss.png $OUT/ 2>/dev/null
ls -la $OUT/prior6x128 | tee -a $LOG
el "fit time, 6x128 prior, cuda"
[ -f /tmp/prior6x128/prior.safetensors ] && timeout 100 python3 benchmarks/bench_fit_time.py --views 1 --repeats 1 \
   --device cuda --prior /tmp/prior6x128 --scenes .dev/scenes 2>&1 | tee -a $LOG
el done
