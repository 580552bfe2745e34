#!/usr/bin/env bash
# Does training with Winograd convolutions follow the same loss curve as the direct ones, within
# seed-to-seed noise? Simulates the small preset's damped-pendulum data (240 trajectories × 60
# frames, 32×32 grey; `cpae-mpi config --preset small` data section), then trains the small CpAE
# (samples 1×32×64, reference objective, J penalty, global batch 128) for STEPS optimizer steps three
# times, one after another, on one rank with one thread each:
#
#   a: --conv-algorithm direct   --seed 0
#   b: --conv-algorithm winograd --seed 0   (same initialisation and batches as a)
#   c: --conv-algorithm direct   --seed 1   (the noise scale)
#
# all with --bn-recalibration 0 and the preset's defaults otherwise, and compares the total loss of
# metrics.jsonl step by step (tools/plot_conv_algorithms.py): |a − b| against |a − c| on a 20-step
# running mean, final mean losses, the first step a − b exceeds 1% relative, and which layers each
# run computed with Winograd (config.json `convolutions`). Prints the table, writes OUT/summary.json
# and the figure.
#
# Usage: tools/compare_conv_algorithms.sh [BINARY] [OUT]
#   BINARY  cpae-mpi binary (default: .build/release/cpae-mpi; `swift build -c release` first)
#   OUT     work directory for the data and the runs (default: /tmp/cpae-conv-compare)
# Environment: STEPS (200), BATCH (128), WINDOW (20), TRAJECTORIES (240), FIG (default:
#   docs/figures/conv_algorithms_loss.png), REPEAT=1 also trains a again into OUT/a-repeat and reports
#   the run-to-run difference, CONTROL=1 also trains the pair at two more seeds (d: winograd seed 1,
#   e: direct seed 2, f: winograd seed 2) and adds |c − d|, |e − f| (the algorithm difference at the
#   other seeds) and |a − e|, |c − e| (more seed noise) to the table and the figure, FORCE=1
#   retrains runs that already finished (by default a run dir whose metrics.jsonl already holds
#   STEPS records is reused).
# Needs python3 with matplotlib (pip install matplotlib). On one Zen 4 core a direct run takes about
# 35 s, a Winograd run about 60 s. docs/figures/conv_algorithms_loss.png was made with CONTROL=1.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$repo/.build/release/cpae-mpi}"
out="${2:-/tmp/cpae-conv-compare}"
steps="${STEPS:-200}"
batch="${BATCH:-128}"
window="${WINDOW:-20}"
trajectories="${TRAJECTORIES:-240}"
fig="${FIG:-$repo/docs/figures/conv_algorithms_loss.png}"

[ -x "$bin" ] || { echo "no executable cpae-mpi at $bin (swift build -c release first)" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
python3 -c "import matplotlib" 2>/dev/null || { echo "python3 needs matplotlib: pip install matplotlib" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cpu="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
family="$(lscpu | sed -n 's/^CPU family:[[:space:]]*//p' | head -1)"
model="$(lscpu | sed -n 's/^Model:[[:space:]]*//p' | head -1)"
avx512="$(grep -q -w avx512f /proc/cpuinfo && echo 'AVX-512F' || echo 'no AVX-512F')"
host="${cpu:-unknown CPU} (family ${family:-?} model ${model:-?}, $avx512), $(nproc --all) cores"
echo "host: $host"

# One thread per run: OPENBLAS_NUM_THREADS sets each rank's thread budget (docs/distributed.md).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
echo "binary: $bin"

# The small preset's data (docs/pipeline.md §Presets): pendulum, 32 px grey, 60 frames, seed 0.
if [ ! -f "$out/data/manifest.json" ]; then
    rm -rf "$out/data"
    "$bin" generate --system pendulum --trajectories "$trajectories" --frames 60 --size 32 \
        --channels 1 --samples 8 --shard-size 64 --seed 0 --threads 1 --quiet --out "$out/data"
fi

train() {  # train NAME ALGORITHM SEED
    local dir="$out/$1"
    if [ -z "${FORCE:-}" ] && [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l < "$dir/metrics.jsonl")" -eq "$steps" ] \
        && python3 - "$dir/config.json" "$2" "$3" "$steps" "$batch" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
t = c.get("trainer", {})
sys.exit(0 if (c.get("convAlgorithm"), t.get("seed"), t.get("steps"), t.get("globalBatch"))
         == (sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])) else 1)
PY
    then
        echo "run $1 ($2, seed $3): reusing $dir"
        return
    fi
    rm -rf "$dir"
    echo "run $1: --conv-algorithm $2 --seed $3, $steps steps"
    local t0=$SECONDS
    "$bin" train-ae --data "$out/data" --preset small --arch cpae --global-batch "$batch" \
        --steps "$steps" --seed "$3" --conv-algorithm "$2" --bn-recalibration 0 \
        --progress-seconds 30 --out "$dir" > "$dir.log" 2>&1 \
        || { tail -20 "$dir.log" >&2; exit 1; }
    echo "run $1: done in $((SECONDS - t0)) s (log $dir.log)"
}

train a direct 0
train b winograd 0
train c direct 1
extra_args=()
if [ -n "${CONTROL:-}" ]; then
    train d winograd 1
    train e direct 2
    train f winograd 2
    extra_args+=(--d "$out/d" --e "$out/e" --f "$out/f")
fi
if [ -n "${REPEAT:-}" ]; then
    train a-repeat direct 0
    extra_args+=(--repeat "$out/a-repeat")
fi

echo
python3 "$repo/tools/plot_conv_algorithms.py" --a "$out/a" --b "$out/b" --c "$out/c" "${extra_args[@]}" \
    --window "$window" --host "$host" --json "$out/summary.json" --out "$fig"
