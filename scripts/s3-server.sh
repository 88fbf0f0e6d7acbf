#!/usr/bin/env bash
# Prints the path of the S3-compatible server the tests and benchmarks run against — `s3s-fs`
# from crates.io (objects as files under a directory) — building it once, when missing, into
# ${HUOTI_TOOLS:-/var/tmp/huoti-tools}/s3s-fs-VERSION, outside the clone and outside every
# target directory, so a clean clone's CI reuses it instead of compiling it again.
#
#   scripts/s3-server.sh          # → /var/tmp/huoti-tools/s3s-fs-0.14.1/bin/s3s-fs
#
# 0.14.1 is the newest s3s-fs whose rust-version (1.92) the project's toolchain meets.
set -euo pipefail
version=0.14.1
tools=${HUOTI_TOOLS:-/var/tmp/huoti-tools}
root=$tools/s3s-fs-$version
bin=$root/bin/s3s-fs
if [ ! -x "$bin" ]; then
  mkdir -p "$tools"
  build=$(mktemp -d "$tools/build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  echo "== building s3s-fs $version once into $root (a few minutes)" >&2
  # --locked: the dependency versions s3s-fs was published with. The build directory is
  # removed afterwards: only the binary is kept.
  CARGO_TARGET_DIR=$build cargo install s3s-fs --version "=$version" --features binary --locked --root "$root" >&2
fi
echo "$bin"
