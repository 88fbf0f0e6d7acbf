#!/usr/bin/env bash
# The one command that runs every huoti test:  scripts/test.sh
#
# - builds the workspace once (debug, dependencies optimised: see Cargo.toml),
# - fetches and verifies the pinned models and test data (mirror first: $HUOTI_MODEL_MIRROR /
#   $HUOTI_DATA_MIRROR, default ../shared/models and ../shared/data; else upstream),
# - runs every test (cargo-nextest when installed, else cargo test) and the doctests.
# A missing model, sample or tool is a failure with a message saying how to get it — never a skip.
# PostgreSQL: the storage suite also runs on it when HUOTI_TEST_POSTGRES_URL is set (.ci/run
# starts a local cluster and sets it); the two-node suite (issue 20) needs it.
# - the S3-compatible server (s3s-fs, built once outside the clone by scripts/s3-server.sh)
#   and HAProxy (Debian) serve the object-store and two-node tests.
# - then the web SDK's browser tests (web/test.sh: Node + npm, Debian's chromium, the built
#   `huoti` binary); screenshots of each state land in web/test-results/ (CI artefacts).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/huoti-target}
[ -d "$root/../shared/models" ] && export HUOTI_MODEL_MIRROR=${HUOTI_MODEL_MIRROR:-$root/../shared/models}
[ -d "$root/../shared/data" ] && export HUOTI_DATA_MIRROR=${HUOTI_DATA_MIRROR:-$root/../shared/data}

for tool in ffmpeg; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is required by the video tests (Debian: apt-get install $tool)" >&2; exit 1; }
done
# The browser tests' needs, checked before the long build rather than after it.
command -v node >/dev/null && command -v npm >/dev/null || { echo "error: node and npm are required by the web SDK tests (Debian: apt-get install nodejs npm)" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "error: Debian's chromium is required by the web SDK tests (apt-get install chromium)" >&2; exit 1; }

[ -x "${HUOTI_HAPROXY:-/usr/sbin/haproxy}" ] || { echo "error: HAProxy is required by the two-node suite (Debian: apt-get install haproxy)" >&2; exit 1; }
HUOTI_S3_SERVER=${HUOTI_S3_SERVER:-$(scripts/s3-server.sh)}
export HUOTI_S3_SERVER

echo "== build"
cargo build --workspace --all-targets --locked
echo "== models and test data"
"$CARGO_TARGET_DIR/debug/huoti" models fetch --dir models
"$CARGO_TARGET_DIR/debug/huoti" testdata fetch --dir testdata/cache
echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
echo "== doctests"
cargo test --workspace --doc --locked
echo "== the SDK's camera feature compiles (issue 7; needs libclang-dev)"
cargo check -p huoti-sdk --features camera --locked
echo "== web SDK in a real browser (web/test.sh)"
# npm ci: exactly the committed package-lock.json, from the npm registry.
(cd web && npm ci --no-audit --no-fund)
HUOTI_BIN="$CARGO_TARGET_DIR/debug/huoti" sh web/test.sh
