#!/usr/bin/env bash
# Reproduces models/checkpoints/sdflow-demo-v1.safetensors from scratch (about 40 minutes on one idle CPU thread; much longer on a busy machine).
#   bash scripts/demo/run_all.sh [workdir]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work="${1:-build-demo/run1}"
py=/usr/bin/python3
nice -n 10 $py scripts/demo/train.py --workdir "$work" --seed 1234 --vae-steps 2000 --n-images 4000 \
    --unet-steps 2000 --ckpt-every 250
$py scripts/demo/export.py "$work/final.pt" "$work/sdflow-demo-v1.safetensors"
$py scripts/demo/data.py models/sdflow-demo-v1-held-out.json > /dev/null
$py scripts/demo/evaluate.py "$work/sdflow-demo-v1.safetensors" --seeds 1 --out "$work/eval.json"
