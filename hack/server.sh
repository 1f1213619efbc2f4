#!/usr/bin/env bash
# Installs what is needed, builds rkube and starts `rkube server` with the
# given flags (default data dir /var/lib/rkube).
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/deps.sh
cargo build --release --locked -p rkube
exec ./target/release/rkube server "$@"
