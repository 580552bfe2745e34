#!/usr/bin/env bash
# The test command of the README (and of CI): installs what is missing, builds, runs every test.
# Multi-rank tests launch `mpirun --oversubscribe` themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh deps
# Tests run in release so that the training-based checks finish in minutes on 2 cores, but with
# Swift's overflow and precondition checks kept (CPAE_MPI_CHECKED=1: -O, not the shipped -Ounchecked),
# in their own build directory so the shipped binary in .build is not rebuilt back and forth.
# -enable-testing lets them use @testable imports (one build, shared with the cpae-mpi binary they launch).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 CPAE_MPI_CHECKED=1
swift test -c release --scratch-path .build-test -Xswiftc -enable-testing 2>&1 | tee /tmp/cpae-mpi-test.log | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Wrapping|Linking|Build|Merging)' 
exit "${PIPESTATUS[0]}"
