#!/usr/bin/env bash
# Fault figures (issue 19): a real `huoti serve` / `huoti admin` killed with SIGKILL (a)
# mid-upload, (b) mid-`complete`, (c) mid-retention-job, (d) mid-KEK-rotation, then restarted —
# nothing committed lost, no orphan blob, no key without an owner, no plaintext anywhere — and
# the blob store failing for real: (e) its directory mounted read-only, (f) a full 256 KiB tmpfs.
# Runs every test of crates/huoti/tests/faults (CI runs (a)–(d); (e) and (f) need root to
# mount) and prints the `FAULTS` lines quoted in docs/BENCHMARKS.md.
#
#   sudo bench/faults.sh        (HUOTI_TEST_POSTGRES_URL set: (a)–(d) on PostgreSQL too)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
[ -d "$root/../shared/models" ] && export HUOTI_MODEL_MIRROR=${HUOTI_MODEL_MIRROR:-$root/../shared/models}
[ -d "$root/../shared/data" ] && export HUOTI_DATA_MIRROR=${HUOTI_DATA_MIRROR:-$root/../shared/data}
[ "$(id -u)" = 0 ] || { echo "error: (e) and (f) mount a read-only bind and a tmpfs: run as root" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "error: ffmpeg is needed (Debian: apt-get install ffmpeg)" >&2; exit 1; }
out=$root/bench/out
mkdir -p "$out"
cargo build -q -p huoti --locked
"$CARGO_TARGET_DIR/debug/huoti" models fetch >/dev/null
"$CARGO_TARGET_DIR/debug/huoti" testdata fetch >/dev/null
cargo test -q -p huoti --locked --test faults -- --include-ignored --nocapture --test-threads 1 2>&1 | tee "$out/faults.log"
echo
echo "== figures ($(date -u +%Y-%m-%dT%H:%MZ))"
grep '^FAULTS' "$out/faults.log"
