#!/usr/bin/env bash
# The prepared GPU run (issue 7): one call on a lent GPU machine, logs and checkpoints under $OUT.
#   OUT=/tmp/out bash bench/gpu.sh          (about 9 minutes on one H100)
set -uo pipefail
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
cd "$(dirname "$0")/.."
python3 -m venv /tmp/gpuvenv >/dev/null && . /tmp/gpuvenv/bin/activate
pip install -q torch torchvision -e '.[onnx]' > "$OUT/install.log" 2>&1 || { echo "install failed"; tail "$OUT/install.log"; }
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
run() { echo "== $*"; timeout "$1" "${@:2}" 2>&1 | tee -a "$OUT/bench.log"; }
run 240 python bench/gpu_infer.py --out "$OUT" --iters 30 --check-images 100
run 120 python bench/speed.py --threads 16
run 120 python bench/train_speed.py --steps 10
run 90 python bench/video_speed.py --threads 16
# the rest of the budget: a real training run of the light model on the WIDER images, then its AP
run 200 sshvideo train --model ssh_lite --data ../shared/data/wider/train --out "$OUT/lite_gpu" --steps 3000 \
    --batch-size 64 --workers 12 --checkpoint-every 250 --log-every 50
run 60 sshvideo eval --weights "$OUT/lite_gpu/last.pt" --images ../shared/data/wider/val \
    --gt ../shared/data/wider/eval_gt --out "$OUT/lite_gpu_eval" --device cuda
