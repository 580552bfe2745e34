#!/usr/bin/env bash
# The main job on the built-in default data: installs what is missing, builds, generates a damped-
# pendulum dataset (docs/method.md §Data scale: 240 trajectories × 60 frames, 32×32 grey), then trains
# the CpAE (small preset) data-parallel on every core with mpirun, writing runs/default/
# (config.json, metrics.jsonl, loss.png, checkpoint.safetensors).
#
# Environment overrides: RANKS (default: number of cores), EPOCHS (default 10), OUT (default runs/default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
bin=.build/release/cpae-mpi
data=data/pendulum-32
ranks="${RANKS:-$(nproc)}"
epochs="${EPOCHS:-10}"
out="${OUT:-runs/default}"

if [ ! -f "$data/manifest.json" ]; then
    rm -rf "$data"
    "$bin" generate --system pendulum --trajectories 240 --frames 60 --size 32 --channels 1 --seed 0 --out "$data"
fi
"$bin" inspect "$data"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
resume=()
[ -f "$out/checkpoint.safetensors" ] && resume=(--resume)
mpirun --oversubscribe -np "$ranks" "$bin" train-ae --data "$data" --preset small --arch cpae \
    --global-batch 128 --epochs "$epochs" --seed 0 --out "$out" --checkpoint-every 100 "${resume[@]}"
