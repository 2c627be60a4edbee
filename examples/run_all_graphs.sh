#!/usr/bin/env bash
# Runs every graph in graphs/ and prints where its PNG and run record went.
#   examples/run_all_graphs.sh [sdflow binary] [checkpoint name] [input image]
# Defaults: the demo model and the images in graphs/input/ (the graphs' sizes are set for the
# demo model; with a real SD checkpoint add --set NODE.width/height as the README shows).
# The input image needs an alpha channel for the inpaint graphs (transparent = repaint).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
sdflow="${1:-$here/build/sdflow}"
ckpt="${2:-sdflow-demo-v1.safetensors}"
image="${3:-example.png}"
status=0
cd "$here"
for g in "$here"/graphs/*.json; do
  name="$(basename "$g" .json)"
  args=(--set "4.ckpt_name=$ckpt" --input graphs/input)
  if grep -q '"LoadImage"' "$g"; then args+=(--set "10.image=$image"); fi
  echo "== $name"
  if ! "$sdflow" run "$g" "${args[@]}"; then
    echo "   $name FAILED"
    status=1
  fi
done
echo "run records: $sdflow runs list"
exit $status
