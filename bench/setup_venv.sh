#!/usr/bin/env bash
# Create bench/.venv (if missing) and install bench/requirements.txt into it.
# Idempotent: a second run with nothing changed only checks and reports.
#
#   bench/setup_venv.sh            # uses python3 (override with PYTHON=...)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
PYTHON=${PYTHON:-python3}

if [ -x "$venv/bin/python" ]; then
    echo "setup_venv: using existing $venv ($("$venv/bin/python" --version 2>&1))"
else
    echo "setup_venv: creating $venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$venv"
fi

want=$(sha256sum "$req" | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [ "$want" = "$have" ] && "$venv/bin/python" -c 'import cv2, numpy, onnx, onnxruntime' 2>/dev/null; then
    echo "setup_venv: requirements already installed (bench/requirements.txt unchanged)"
else
    echo "setup_venv: installing bench/requirements.txt"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    echo "$want" > "$stamp"
    echo "setup_venv: installed"
fi
"$venv/bin/python" - <<'PY'
import cv2, numpy, onnx, onnxruntime
print("setup_venv: numpy %s, onnxruntime %s, opencv %s, onnx %s" % (numpy.__version__, onnxruntime.__version__, cv2.__version__, onnx.__version__))
PY
