#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./hack/deps.sh
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi
exec cargo nextest run --workspace --locked --no-fail-fast "$@"
