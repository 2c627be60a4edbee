#!/usr/bin/env bash
# e2e_graphs.sh: every ready graph in graphs/ runs end to end on the tiny reference checkpoint
# (small sizes, few steps); the outpaint output has the padded size; a KSampler seed sweep
# produces one image per combination. Args: <sdflow binary> <source dir>.
set -uo pipefail
sdflow="$1"
src="$2"
shared="${SDF_SHARED:-$src/../shared}"
ref="$shared/reference"
if [[ ! -f "$ref/tiny-sd1.safetensors" ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "reference data missing" >&2; exit 1; fi
  echo "SKIP: reference data not found" >&2
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/input"
fail=0

common=(--set "4.ckpt_name=$ref/tiny-sd1.safetensors" --clip-vocab "$ref/clip-vocab" --fp32-text-enc
        --input "$work/input" --output "$work/out" --db "$work/runs.db" --threads 2)

source "$src/tests/lib_e2e.sh"

run() { # name, args...
  local name="$1"; shift
  if ! "$sdflow" run "$src/graphs/$name.json" "${common[@]}" "$@" >"$work/$name.log" 2>&1; then
    echo "FAIL: $name" >&2
    cat "$work/$name.log" >&2
    fail=1
    return 1
  fi
  return 0
}

# txt2img: 64x64 -> an 8x8 latent -> a 32x32 image with the tiny VAE (downscale 4)
run txt2img --set 5.width=64 --set 5.height=64 --set 3.steps=3 --set 9.filename_prefix=t2i
img="$work/out/t2i_00001_.png"
if [[ -f "$img" ]]; then
  [[ "$(png_size "$img")" == "32 32" ]] || { echo "FAIL: txt2img size $(png_size "$img")" >&2; fail=1; }
  # the txt2img result feeds the image graphs (LoadImage takes the PNG; no alpha -> empty mask)
  cp "$img" "$work/input/example.png"
  cp "$img" "$work/input/example_with_alpha_mask.png"
else
  echo "FAIL: txt2img wrote no image" >&2; fail=1
fi
run img2img --set 3.steps=3
run inpaint --set 3.steps=2
run inpaint_noise_mask --set 3.steps=2
run outpaint --set 3.steps=2 --set 12.left=16 --set 12.right=16 --set 12.feathering=4 \
    --set 9.filename_prefix=outp
img="$work/out/outp_00001_.png"
if [[ -f "$img" ]]; then
  [[ "$(png_size "$img")" == "64 32" ]] || { echo "FAIL: outpaint size $(png_size "$img") (want the padded 64 32)" >&2; fail=1; }
else
  echo "FAIL: outpaint wrote no image" >&2; fail=1
fi
run hires_fix --set 5.width=64 --set 5.height=64 --set 3.steps=2 --set 10.width=96 \
    --set 10.height=96 --set 11.steps=2 --set 9.filename_prefix=hires
img="$work/out/hires_00001_.png"
[[ -f "$img" && "$(png_size "$img")" == "48 48" ]] || { echo "FAIL: hires_fix output" >&2; fail=1; }
run area_composition --set 5.width=128 --set 5.height=64 --set 3.steps=2 \
    --set 15.width=64 --set 15.height=64 --set 16.width=64 --set 16.height=64 --set 16.x=64
# a sweep: 2 seeds x 2 samplers = 4 images
run txt2img --set 5.width=64 --set 5.height=64 --set 3.steps=2 --set 9.filename_prefix=sweep \
    --sweep 3.seed=1,2 --sweep 3.sampler_name=euler,dpmpp_2m_sde
n=$(ls "$work/out"/sweep_*.png 2>/dev/null | wc -l)
[[ "$n" == 4 ]] || { echo "FAIL: sweep wrote $n images, want 4" >&2; fail=1; }
exit $fail
