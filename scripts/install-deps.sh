#!/usr/bin/env bash
# Installs what sdflow needs from Debian's packages, only when something is missing (idempotent).
#   build/runtime: cmake, pkg-config, a C compiler, cJSON, SQLite, libpng, OpenBLAS, utf8proc
#   tests:         python3-jsonschema (schema checks via /usr/bin/python3), clang (libFuzzer)
#   --dev:         python3-torch and python3-numpy for the demo-model training tool (never needed
#                  to build or test sdflow)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcjson-dev libsqlite3-dev libpng-dev libopenblas-dev
      libutf8proc-dev python3 python3-jsonschema clang sqlite3)
if [[ "${1:-}" == "--dev" ]]; then pkgs+=(python3-torch python3-numpy); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
