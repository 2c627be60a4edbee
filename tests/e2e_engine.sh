#!/usr/bin/env bash
# e2e_engine.sh: the sdflow CLI as a user drives it: validate (exit codes, --json shape),
# nodes (schema/nodes.json not stale), convert, run + the run log (list/show/export/diff),
# replay --verify, interrupts, JSON schema of graphs/ and the shared API workflows.
# Args: <sdflow binary> <source dir>. Exit 77 = skipped.
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
SHARED=${SDF_SHARED:-$SRC/../shared}
work=$(mktemp -d "${TMPDIR:-/tmp}/sdflow-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export SDFLOW_DB="$work/runs.db"
unset SDFLOW_MODELS SDFLOW_CACHE_DIR
fails=0
ok() { echo "ok $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
expect_rc() { # expect_rc NAME WANT CMD...
    local name=$1 want=$2
    shift 2
    "$@" >out.txt 2>err.txt
    local rc=$?
    if [[ $rc == "$want" ]]; then ok "$name (rc $rc)"; else
        bad "$name: rc $rc, want $want"; sed 's/^/    /' out.txt err.txt | head -20; fi
}
implemented() { "$BIN" nodes "$1" 2>/dev/null | head -1 | grep -vq "not implemented"; }

# ---- nodes: schema/nodes.json must be what the registry says --------------------------------
"$BIN" nodes --json >nodes.json || bad "nodes --json"
if ! diff -q nodes.json "$SRC/schema/nodes.json" >/dev/null 2>&1; then
    bad "schema/nodes.json is stale: regenerate it with scripts/regen-schema.sh build/sdflow"
    diff nodes.json "$SRC/schema/nodes.json" | head -10
else ok "schema/nodes.json matches the registry"; fi
/usr/bin/python3 - nodes.json <<'EOF' && ok "nodes --json has the /object_info shape" || bad "nodes --json shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert d, "empty registry"
for name, n in d.items():
    assert n["name"] == name
    for k in ("input", "input_order", "output", "output_is_list", "output_name", "display_name",
              "category", "output_node", "python_module"):
        assert k in n, (name, k)
    assert list(n["input"]["required"]) == n["input_order"]["required"], name
    assert len(n["output"]) == len(n["output_name"]) == len(n["output_is_list"]), name
EOF
expect_rc "nodes CLASS" 0 "$BIN" nodes CheckpointLoaderSimple
expect_rc "nodes unknown class" 1 "$BIN" nodes CheckpointLoaderSimpel
grep -q "did you mean 'CheckpointLoaderSimple'" err.txt && ok "nodes suggests" || bad "nodes suggests"

# ---- validate: exit codes and messages -------------------------------------------------------
cat >bad.json <<'EOF'
{"3": {"class_type": "KSampler", "inputs": {"seed": -5, "steps": "many", "cfg": 8,
  "sampler_name": "euler_x", "scheduler": "normal", "denoise": 1.5,
  "model": ["4", 0], "positive": ["4", 1], "negative": ["7", 0], "latent_image": ["5", 0]}},
 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "none.safetensors"}},
 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
 "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}}}
EOF
expect_rc "validate invalid" 1 "$BIN" validate bad.json
for want in 'node "3" (KSampler) input '"'"'seed'"'" 'input '"'"'steps'"'" 'euler_x' \
            'input '"'"'denoise'"'" 'node "4" (CheckpointLoaderSimple) input '"'"'ckpt_name'"'" \
            'input '"'"'positive'"'"': expected a CONDITIONING' 'input '"'"'negative'"'"': links to node "7"' \
            'node "9" (SaveImage) input '"'"'images'"'"; do
    grep -qF "$want" out.txt && ok "validate names: $want" || { bad "validate lacks: $want"; cat out.txt; }
done
expect_rc "validate --json" 1 "$BIN" validate --json bad.json
/usr/bin/python3 - out.txt <<'EOF' && ok "validate --json is ComfyUI's node_errors" || bad "validate --json shape"
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[0])
assert d["error"]["type"] == "prompt_outputs_failed_validation", d["error"]
ne = d["node_errors"]["3"]
assert ne["class_type"] == "KSampler" and ne["dependent_outputs"] == ["9"], ne
types = sorted(e["type"] for e in ne["errors"])
assert "value_smaller_than_min" in types and "invalid_input_type" in types and "value_not_in_list" in types, types
assert "return_type_mismatch" in types and "bad_linked_input" in types, types
EOF
printf '{"1": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]' >trunc.json
expect_rc "validate truncated" 1 "$BIN" validate trunc.json
grep -q "line 1, column" err.txt && ok "truncated names line/column" || bad "truncated: no line/column"
expect_rc "validate missing file" 2 "$BIN" validate nonexistent.json
expect_rc "validate usage" 2 "$BIN" validate
expect_rc "unknown option" 2 "$BIN" run --bogus x.json

# ---- run: an invalid workflow runs nothing but is logged as failed, with its diagnostics -----
expect_rc "run invalid" 1 "$BIN" run bad.json --db inv.db
expect_rc "run --strict invalid" 1 "$BIN" run --strict bad.json --db inv.db
expect_rc "run a file that is not JSON" 2 "$BIN" run trunc.json --db inv.db
expect_rc "run a missing file" 2 "$BIN" run nonexistent.json --db inv.db
expect_rc "validate logs nothing" 1 "$BIN" validate bad.json --db inv.db
"$BIN" runs list --json --db inv.db >inv.json 2>&1
/usr/bin/python3 - inv.json <<'EOF' && ok "invalid and unparsable runs logged as failed" || { bad "failed rows"; cat inv.json; }
import json, sys
r = json.load(open(sys.argv[1]))
assert [x["status"] for x in r] == ["failed"] * 3, r
assert [x["source_path"] for x in r] == ["trunc.json", "bad.json", "bad.json"], r
assert "line 1, column" in r[0]["error"] and "invalid" in r[1]["error"], r
EOF
"$BIN" runs export 2 --db inv.db >inv2.json 2>&1
/usr/bin/python3 - inv2.json bad.json <<'EOF' && ok "invalid run: diagnostics and text recorded" || { bad "invalid run record"; head -c 600 inv2.json; }
import json, sys
r = json.load(open(sys.argv[1]))
d = json.loads(r["diagnostics"])
assert d["node_errors"]["3"]["class_type"] == "KSampler", d
assert r["workflow_text"] == open(sys.argv[2]).read(), r["workflow_text"]
assert r["nodes"] == [] and json.loads(r["runtime_options"])["models_dirs"], r
EOF
"$BIN" runs export 3 --db inv.db >inv3.json 2>&1
/usr/bin/python3 - inv3.json trunc.json <<'EOF' && ok "unparsable run: load error recorded" || { bad "load error record"; cat inv3.json; }
import json, sys
r = json.load(open(sys.argv[1]))
d = json.loads(r["diagnostics"])
assert d["error"]["type"] == "load_error" and d["error"]["message"] == r["error"], d
assert r["workflow_text"] == open(sys.argv[2]).read()
EOF

# ---- convert a shared UI workflow and check it against its API twin --------------------------
if [[ -f "$SHARED/workflows/ex_lora.ui.json" ]]; then
    expect_rc "convert" 0 "$BIN" convert "$SHARED/workflows/ex_lora.ui.json" lora.api.json
    /usr/bin/python3 - lora.api.json "$SHARED/workflows/ex_lora.api.json" <<'EOF' && ok "convert matches the API file" || bad "convert differs"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert set(a) == set(b), (set(a) ^ set(b))
for k in a:
    assert a[k]["class_type"] == b[k]["class_type"], k
    assert a[k]["inputs"] == b[k]["inputs"], (k, a[k]["inputs"], b[k]["inputs"])
EOF
else echo "skip convert (no shared workflows)"; fi

# ---- JSON Schema: graphs/ and the shared API workflows ---------------------------------------
if /usr/bin/python3 -c "import jsonschema" 2>/dev/null; then
    echo '{"1": {"inputs": {}}}' >noclass.json
    shopt -s nullglob
    /usr/bin/python3 - "$SRC/schema/workflow.schema.json" bad.json "$SRC"/graphs/*.json \
        "$SHARED"/workflows/*.api.json <<'EOF' && ok "JSON Schema: graphs/ and shared API workflows" || bad "JSON Schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = list(v.iter_errors(json.load(open(f))))
    assert not errs, (f, errs[0].message)
    print("    valid:", f.rsplit("/", 1)[-1])
assert list(v.iter_errors(json.load(open("noclass.json")))), "a node without class_type passed"
EOF
else echo "skip JSON Schema checks (python3-jsonschema missing)"; fi

# ---- a real run, the run log, replay --verify (needs the image nodes) ------------------------
if implemented EmptyImage && implemented SaveImage && implemented ImageInvert; then
    cat >img.json <<'EOF'
{"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 16711680}},
 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "e2e"}}}
EOF
    expect_rc "run image graph" 0 "$BIN" run img.json --output out --tag e2e --note hello
    [[ -f out/e2e_00001_.png ]] && ok "wrote out/e2e_00001_.png" || bad "no PNG written"
    expect_rc "runs list" 0 "$BIN" runs list --tag e2e
    grep -q succeeded out.txt && ok "runs list shows the run" || bad "runs list"
    expect_rc "runs show" 0 "$BIN" runs show 1
    grep -q "ImageInvert" out.txt && ok "runs show lists nodes" || bad "runs show"
    grep -qF "\"output_dir\":\"$work/out\"" out.txt && ok "runs show prints the runtime options" \
        || { bad "runs show options"; cat out.txt; }
    expect_rc "re-run (cached)" 0 "$BIN" run img.json --output out --sweep 3.filename_prefix=a,b
    [[ -f out/a_00001_.png && -f out/b_00001_.png ]] && ok "sweep wrote both" || bad "sweep outputs"
    "$BIN" runs list --json >list.json 2>/dev/null
    /usr/bin/python3 -c "
import json; r = json.load(open('list.json'))
s = [x['sweep_id'] for x in r if x['sweep_id']]
assert len(s) == 2 and s[0] == s[1], r" && ok "sweep runs share one sweep id" || bad "sweep id"
    expect_rc "runs diff" 0 "$BIN" runs diff 1 2
    grep -q "filename_prefix" out.txt && ok "runs diff shows the input" || { bad "runs diff"; cat out.txt; }
    expect_rc "replay --verify" 0 "$BIN" runs replay 1 --verify --output out
    grep -q "0 differences" out.txt && ok "replay verified" || { bad "replay verify"; cat out.txt; }
    expect_rc "runs export" 0 "$BIN" runs export 1
    /usr/bin/python3 -c "import json,sys; d=json.load(open('out.txt')); assert d['status']=='succeeded' and d['outputs']
o = json.loads(d['runtime_options']); assert o['output_dir'] == '$work/out' and o['fp32_text_enc'] is False, o" \
        && ok "runs export JSON" || bad "runs export JSON"
    expect_rc "run with other folders" 0 "$BIN" run img.json --output out2 --fp32-text-enc
    last=$("$BIN" runs list --json | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)[0]['id'])")
    expect_rc "runs diff: runtime options" 0 "$BIN" runs diff 1 "$last"
    grep -q 'runtime_options.*out2.*fp32_text_enc.":true' out.txt && ok "runs diff reports the options" \
        || { bad "runs diff options"; cat out.txt; }
    expect_rc "run --only 2 --save-intermediates" 0 "$BIN" run img.json --only 2 --save-intermediates inter --output out
    /usr/bin/python3 - inter/2.0.safetensors <<'EOF' && ok "intermediate IMAGE saved as [B,H,W,C] f32" || bad "intermediates"
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert h["image"]["shape"] == [1, 48, 64, 3] and h["image"]["dtype"] == "F32", h
EOF
    [[ ! -e inter/3.0.safetensors ]] && ok "--only ran no SaveImage" || bad "--only ran too much"
    cat >partial.json <<'EOF'
{"1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 0}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "good"}},
 "3": {"class_type": "ImageInvert", "inputs": {"image": ["77", 0]}},
 "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "dropped"}}}
EOF
    expect_rc "run --strict with a broken output" 1 "$BIN" run --strict partial.json --output part
    [[ ! -e part/good_00001_.png ]] && ok "--strict ran nothing" || bad "--strict ran something"
    expect_rc "run with a broken output (exit 3)" 3 "$BIN" run partial.json --output part
    [[ -f part/good_00001_.png && ! -e part/dropped_00001_.png ]] && ok "the valid output ran" || bad "partial outputs"
    grep -q 'output node 4 (SaveImage) will not run' err.txt && ok "dropped output named" || bad "dropped output not named"
    if [[ -f out/e2e_00001_.png ]]; then
        expect_rc "run from PNG" 0 "$BIN" run out/e2e_00001_.png --output out
    fi
    # a run from a UI workflow: its PNG embeds the UI text, and so does the replay's
    cat >ui.json <<'EOF'
{"last_node_id": 2, "last_link_id": 1, "nodes": [
 {"id": 1, "type": "EmptyImage", "pos": [0, 0], "size": [200, 100], "flags": {}, "order": 0, "mode": 0,
  "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1], "slot_index": 0}], "properties": {},
  "widgets_values": [32, 16, 1, 255]},
 {"id": 2, "type": "SaveImage", "pos": [300, 0], "size": [200, 100], "flags": {}, "order": 1, "mode": 0,
  "inputs": [{"name": "images", "type": "IMAGE", "link": 1}], "properties": {}, "widgets_values": ["ui"]}],
 "links": [[1, 1, 0, 2, 0, "IMAGE"]], "groups": [], "config": {}, "extra": {}, "version": 0.4}
EOF
    expect_rc "run a UI workflow" 0 "$BIN" run ui.json --output uiout --db ui.db
    expect_rc "replay the UI run" 0 "$BIN" runs replay 1 --verify --db ui.db
    grep -q "OK: 0 input files unchanged, 1 output bit-identical" out.txt && ok "UI run replay bit-identical" \
        || { bad "UI replay"; cat out.txt; }
    /usr/bin/python3 - ui.json uiout/ui_00001_.png uiout/ui_00002_.png <<'EOF' && ok "replay re-embeds the UI workflow" || bad "UI workflow not re-embedded"
import json, struct, sys, zlib
def chunks(path):
    b, out, i = open(path, "rb").read(), {}, 8
    while i < len(b):
        n, t = struct.unpack(">I4s", b[i:i + 8])
        d = b[i + 8:i + 8 + n]
        if t == b"tEXt":
            k, v = d.split(b"\0", 1); out[k.decode()] = v.decode("latin-1")
        elif t == b"iTXt":
            k, rest = d.split(b"\0", 1)
            comp = rest[0]; rest = rest[2:]
            _, rest = rest.split(b"\0", 1); _, v = rest.split(b"\0", 1)
            out[k.decode()] = (zlib.decompress(v) if comp else v).decode()
        i += 12 + n
    return out
want = json.load(open(sys.argv[1]))
for png in sys.argv[2:]:
    c = chunks(png)
    assert json.loads(c["workflow"]) == want, (png, c.get("workflow", "")[:200])
    assert json.loads(c["prompt"])["2"]["class_type"] == "SaveImage", png
EOF
    expect_rc "run --json" 0 "$BIN" run img.json --output out --json
    /usr/bin/python3 - out.txt <<'EOF' && ok "--json events" || bad "--json events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
types = [e["type"] for e in ev]
for t in ("execution_start", "execution_cached", "executing", "executed", "execution_success"):
    assert t in types, (t, types)
ex = [e for e in ev if e["type"] == "executed" and e["data"]["node"] == "3"][0]
assert ex["data"]["output"]["images"][0]["filename"].endswith(".png"), ex
EOF
else
    echo "skip real run (image nodes not implemented yet)"
fi

# ---- txt2img on the tiny reference checkpoint: replay --verify, and Ctrl-C mid-sampling ------
REF=$SHARED/reference
if [[ -f $REF/tiny-sd1.safetensors && -d $REF/clip-vocab ]] && implemented KSampler && implemented VAEDecode; then
    mkdir -p tm/checkpoints
    ln -sf "$REF/tiny-sd1.safetensors" tm/checkpoints/tiny.safetensors
    cat >t2i.json <<'EOF'
{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
 "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
 "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
 "3": {"class_type": "KSampler", "inputs": {"seed": 18446744073709551615, "steps": 3, "cfg": 7,
       "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["4", 0],
       "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
 "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
 "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "t2i"}}}
EOF
    M=(--models tm --clip-vocab "$REF/clip-vocab" --output t2i-out --db t2i.db)
    expect_rc "txt2img on the tiny checkpoint" 0 "$BIN" run t2i.json "${M[@]}"
    [[ -f t2i-out/t2i_00001_.png ]] && ok "txt2img wrote its PNG" || bad "txt2img PNG"
    # the recorded --models/--clip-vocab/--output are reused: no flags but the run log
    expect_rc "txt2img replay --verify" 0 "$BIN" runs replay 1 --verify --db t2i.db
    grep -q "OK: 1 input file unchanged, 1 output bit-identical" out.txt && ok "txt2img replay bit-identical" \
        || { bad "txt2img replay"; cat out.txt; }
    "$BIN" run t2i.json "${M[@]}" --set 3.steps=2000 >int.out 2>int.err &
    pid=$!
    for _ in $(seq 1 600); do grep -q "node 3" int.err 2>/dev/null && break; sleep 0.05; done
    sleep 0.3
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    [[ $rc == 130 ]] && ok "Ctrl-C mid-sampling exits 130" || { bad "Ctrl-C: rc $rc"; cat int.err | tail -5; }
    "$BIN" runs list --status interrupted --db t2i.db >out.txt 2>&1
    grep -q interrupted out.txt && ok "interrupted run recorded" || bad "interrupted run not recorded"
else
    echo "skip txt2img (no tiny reference checkpoint or sampler)"
fi

# ---- a failing run is logged as failed with the node named -----------------------------------
mkdir -p models/checkpoints
head -c 100 /dev/zero >models/checkpoints/broken.safetensors
cat >fail.json <<'EOF'
{"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "broken.safetensors"}},
 "9": {"class_type": "SaveLatent", "inputs": {"samples": ["5", 0], "filename_prefix": "x"}},
 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
 "8": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["4", 1], "stop_at_clip_layer": -1}}}
EOF
expect_rc "run --only failing loader" 1 "$BIN" run fail.json --only 8
grep -q 'node "4" (CheckpointLoaderSimple)' err.txt && ok "failure names the node" || { bad "failure message"; cat err.txt; }
"$BIN" runs list --status failed >out.txt 2>&1
grep -q failed out.txt && ok "failed run recorded" || bad "failed run not recorded"

echo "$fails failure(s)"
[[ $fails == 0 ]]
