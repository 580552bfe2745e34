#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks (idempotent) and builds cpae-mpi.
# Usage: scripts/setup.sh [debug|release|deps]   (default: release; deps: install only, no build)
set -euo pipefail
cd "$(dirname "$0")/.."

# slurm-wlm and munge: the Slurm tests start a one-node cluster of their own (Tests/SlurmTests); Debian's
# packages do not start any daemon where policy-rc.d forbids it (containers), and the tests touch no
# system-wide Slurm or munge configuration.
packages=(libopenmpi-dev openmpi-bin libopenblas-dev libzstd-dev zstd pkg-config libpng-dev libturbojpeg0-dev libssl-dev libcairo2-dev fonts-dejavu-core
          slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: Swift 6 toolchain not found on PATH (https://swift.org/install)" >&2; exit 1; }

config="${1:-release}"
[ "$config" = deps ] && exit 0
swift build -c "$config" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
test "${PIPESTATUS[0]}" -eq 0
