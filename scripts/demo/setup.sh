#!/usr/bin/env bash
# Installs what the demo-model training tool needs (Debian's python3-torch and python3-numpy).
# sdflow itself never needs Python; this is only for retraining models/checkpoints/sdflow-demo-v1.safetensors.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/../install-deps.sh" --dev
/usr/bin/python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)"
