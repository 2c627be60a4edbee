#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job — a real txt2img
# workflow (graphs/txt2img.json) end to end: checkpoint -> CLIP -> KSampler -> VAE -> PNG, recorded
# in the SQLite run log, then replayed with --verify (bit-identical output, unchanged inputs).
#
# Model: the demo model shipped in models/checkpoints/ when present (offline, draws what the
# prompt says; the graphs' defaults are set for it); otherwise the tiny random-weight reference checkpoint in ../shared/reference
# (noise, but every stage of the pipeline runs). A real SD1.5 file works the same way:
#   build/sdflow run graphs/txt2img.json --set 4.ckpt_name=v1-5-pruned-emaonly.safetensors \
#       --set 5.width=512 --set 5.height=512 --models /path/to/models
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

out="${SDF_DEMO_OUT:-demo-out}"
mkdir -p "$out"
db="$out/sdflow-runs.db"
shared="${SDF_SHARED:-../shared}"
args=(--db "$db" --output "$out/images")
demo_ckpt="models/checkpoints/sdflow-demo-v1.safetensors"
if [[ -f "$demo_ckpt" ]]; then
  # graphs/txt2img.json's defaults are the demo model's: "a red circle on a blue background",
  # 128x128 EmptyLatentImage (its VAE downsamples by 4: a 64x64 image), 20 steps, CFG 5
  echo "run-demo: using the demo model $demo_ckpt (64x64 images; see models/README.md)"
elif [[ -f "$shared/reference/tiny-sd1.safetensors" ]]; then
  echo "run-demo: no demo model; using the tiny random-weight reference checkpoint (draws noise)"
  args+=(--set "4.ckpt_name=$shared/reference/tiny-sd1.safetensors"
         --clip-vocab "$shared/reference/clip-vocab" --fp32-text-enc
         --set 5.width=128 --set 5.height=128 --set 3.steps=20)
else
  echo "run-demo: no checkpoint found (models/checkpoints/ or $shared/reference)" >&2
  exit 2
fi

./build/sdflow run graphs/txt2img.json "${args[@]}"
run_id=$(./build/sdflow runs list --db "$db" --limit 1 --json | grep -o '"id":[[:space:]]*[0-9]*' | grep -o '[0-9]*$' | head -1)
echo "run-demo: run $run_id recorded in $db:"
./build/sdflow runs show "$run_id" --db "$db"
echo "run-demo: replaying run $run_id with --verify"
replay=(--db "$db" --output "$out/replay")
if [[ ! -f "$demo_ckpt" ]]; then replay+=(--clip-vocab "$shared/reference/clip-vocab" --fp32-text-enc); fi
./build/sdflow runs replay "$run_id" --verify "${replay[@]}"
echo "run-demo: PNGs in $out/images, run log $db"
