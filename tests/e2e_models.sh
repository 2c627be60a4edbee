#!/bin/sh
# e2e_models.sh: make-model, then a workflow that loads the generated checkpoint, merges it with
# itself, saves it with CheckpointSave, and loads the saved file back. Args: <sdflow> <source dir>.
set -eu
SDFLOW="$1"
T=$(mktemp -d /tmp/sdf_e2e_models.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/models/checkpoints" "$T/out"
"$SDFLOW" make-model --arch tiny --seed 5 --dtype f16 "$T/models/checkpoints/tiny.safetensors"
if "$SDFLOW" make-model --arch nope "$T/x.safetensors" 2>/dev/null; then echo "bad arch accepted"; exit 1; fi
cat > "$T/merge.json" <<'JSON'
{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
 "2": {"class_type": "ModelMergeSimple", "inputs": {"model1": ["1", 0], "model2": ["1", 0], "ratio": 0.25}},
 "3": {"class_type": "CLIPMergeSimple", "inputs": {"clip1": ["1", 1], "clip2": ["1", 1], "ratio": 0.5}},
 "4": {"class_type": "CheckpointSave", "inputs": {"model": ["2", 0], "clip": ["3", 0], "vae": ["1", 2],
       "filename_prefix": "checkpoints/merged"}}}
JSON
"$SDFLOW" run "$T/merge.json" --models "$T/models" --output "$T/out" --no-db
test -s "$T/out/checkpoints/merged_00001_.safetensors"
cp "$T/out/checkpoints/merged_00001_.safetensors" "$T/models/checkpoints/"
sed 's/tiny.safetensors/merged_00001_.safetensors/; s/checkpoints\/merged/checkpoints\/again/' "$T/merge.json" > "$T/again.json"
"$SDFLOW" run "$T/again.json" --models "$T/models" --output "$T/out" --no-db
test -s "$T/out/checkpoints/again_00001_.safetensors"
# a missing checkpoint is an error naming where it looked
sed 's/tiny.safetensors/missing.safetensors/' "$T/merge.json" > "$T/missing.json"
if "$SDFLOW" run "$T/missing.json" --models "$T/models" --output "$T/out" --no-db > "$T/log" 2>&1; then
    echo "missing checkpoint accepted"; exit 1
fi
grep -q "checkpoints" "$T/log"
echo "e2e_models: ok"
