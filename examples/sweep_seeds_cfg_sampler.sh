#!/usr/bin/env bash
# Experiment: txt2img over seed x cfg x sampler with one command; every run lands in the run log.
#   examples/sweep_seeds_cfg_sampler.sh [sdflow binary] [checkpoint name]
# Default: the demo model shipped in models/checkpoints/ (64x64 images, a second or two each).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
sdflow="${1:-$here/build/sdflow}"
ckpt="${2:-sdflow-demo-v1.safetensors}"
cd "$here"
"$sdflow" run "$here/graphs/txt2img.json" \
  --set "4.ckpt_name=$ckpt" \
  --set 3.steps=20 \
  --sweep 3.seed=1,2,3 \
  --sweep 3.cfg=5.0,7.5 \
  --sweep 3.sampler_name=euler,dpmpp_2m,euler_ancestral
# 3 x 2 x 3 = 18 runs; list them with: "$sdflow" runs list
