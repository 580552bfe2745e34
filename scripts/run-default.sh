#!/usr/bin/env bash
# The main job on the built-in default: installs what is missing, builds, and runs the whole pipeline
# (`cpae-mpi run`, docs/pipeline.md) on every core with mpirun: simulates the small damped-pendulum
# dataset (docs/method.md §Data scale: 240 trajectories × 60 frames, 32×32 grey) if it is not there,
# trains the CpAE and the AE baseline, encodes, trains a latent Neural ODE on each, evaluates both and
# writes runs/default/ (report.md, summary.json, vpt.png, frame_mse.png; one subdirectory per model).
# Interrupted, it resumes the stage it was in when run again.
#
# Environment overrides: RANKS (default: number of cores), PRESET (default: default), OUT (default runs/<preset>).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
bin=.build/release/cpae-mpi
ranks="${RANKS:-$(nproc)}"
preset="${PRESET:-default}"
out="${OUT:-runs/$preset}"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -np "$ranks" "$bin" run --preset "$preset" --out "$out"
