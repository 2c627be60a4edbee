#!/usr/bin/env bash
# e2e_graphs_demo.sh: every ready graph in graphs/ runs out of the box — its own defaults, the demo
# model in models/checkpoints/ and the input images in graphs/input/ — and writes an image of the
# size its defaults imply (the demo VAE turns a W x H EmptyLatentImage into W/2 x H/2 pixels).
# What the images show is checked by the semantic tests. Args: <sdflow binary> <source dir>.
set -uo pipefail
sdflow="$1"
src="$2"
if [[ ! -f "$src/models/checkpoints/sdflow-demo-v1.safetensors" ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "demo model missing" >&2; exit 1; fi
  echo "SKIP: demo model not found" >&2
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0

source "$src/tests/lib_e2e.sh"

check() { # graph, expected "W H"
  local g="$1" want="$2"
  if ! (cd "$src" && "$sdflow" run "graphs/$g.json" --input graphs/input --output "$work/out" \
        --db "$work/runs.db" --threads 2) >"$work/$g.log" 2>&1; then
    echo "FAIL: $g did not run with its defaults" >&2
    cat "$work/$g.log" >&2
    fail=1
    return
  fi
  local img="$work/out/${g}_00001_.png"
  if [[ ! -f "$img" ]]; then echo "FAIL: $g wrote no $img" >&2; fail=1; return; fi
  local got
  got="$(png_size "$img")"
  [[ "$got" == "$want" ]] || { echo "FAIL: $g image is $got, want $want" >&2; fail=1; }
}

check txt2img "64 64"
check img2img "64 64"
check inpaint "64 64"
check inpaint_noise_mask "64 64"
check outpaint "96 64"
check hires_fix "96 96"
check area_composition "128 64"
check txt2img_lora "64 64"
exit $fail
