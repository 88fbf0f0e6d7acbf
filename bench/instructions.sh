#!/usr/bin/env bash
# Instructions the server executes for one session (issue 15): repeatable where wall and CPU
# time swing with the machine's load. Runs the `complete` bench (real router, store, vault,
# models; one client's frames of the bench's 9.4 s challenge uploaded then `complete`) under
# valgrind's callgrind twice — with only
# the warm-up session (`--runs 0`) and with one more (`--runs 1`) — and prints the difference:
# the instructions of one warm session, from its first upload to its signed verdict (model
# loading and warm-up cancel out). Also prints the profile's top functions (self cost) of that
# second run.
#
#   bench/instructions.sh [JPEG_DIR [PNG_DIR]]   (default bench/out/session_jpeg and
#                                        bench/out/frames, made by bench/session.sh)
#   CLIENT=legacy|profile bench/instructions.sh   (default profile: the client following the
#                                        challenge's capture profile; legacy sends every frame)
#   PROFILE=dev bench/instructions.sh    (the dev build instead of the bench/release profile)
#
# Needs valgrind; takes a few minutes (callgrind runs ~50× slower than native).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
jpegs=${1:-bench/out/session_jpeg}
pngs=${2:-bench/out/frames}
client=${CLIENT:-profile}
out=bench/out/callgrind-$client
[ -d "$jpegs" ] || { echo "instructions: no JPEG frames in $jpegs (run bench/session.sh first)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "instructions: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
mkdir -p "$out"
bin=$(cargo bench -q --profile "${PROFILE:-bench}" --workspace --bench complete --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "complete" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "instructions: the complete bench did not build" >&2; exit 1; }
for runs in 0 1; do
    valgrind --tool=callgrind --callgrind-out-file="$out/runs$runs.out" "$bin" --jpegs "$jpegs" --frames "$pngs" --client "$client" --runs "$runs" \
        >"$out/runs$runs.log" 2>&1 || { tail -20 "$out/runs$runs.log" >&2; exit 1; }
done
total() { sed -n 's/^summary: *//p; s/^totals: *//p' "$1" | head -1 | awk '{print $1}'; }
a=$(total "$out/runs0.out"); b=$(total "$out/runs1.out")
echo "top functions (self instructions, whole run with one measured session):"
callgrind_annotate --threshold=80 "$out/runs1.out" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n '3,17p'
echo
echo "instructions: warm-up only $a, warm-up + one session $b"
python3 -c "import sys; print(f'server instructions per session ({sys.argv[3]} client): {(int(sys.argv[2]) - int(sys.argv[1])) / 1e9:.3f} G')" "$a" "$b" "$client"
