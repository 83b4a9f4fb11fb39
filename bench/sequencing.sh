#!/usr/bin/env bash
# Sequencing-core benchmarks (see bench/SEQUENCING.md). Prints one summary line per run;
# the per-instance JSON lines are kept in $OUT.
# Usage: bench/sequencing.sh [quick|wtsds|small|extended|plant]
#   quick: 3 wt40 at 0.2 s and wtsds at 1 s (~1 min); wtsds: wtsds at 1 s and 10 s (~3 min);
#   small: Vallada-Ruiz small at 1 s; extended: the 10 s rows; plant: plant-shaped set at
#   60 s (reference) and 1 s (~6 min). Every line ends with the load average (1 min) before
#   and after the run: the machine is shared, figures under load are pessimistic.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${DATA:-$ROOT/../shared/data/scheduling}"
OUT="${OUT:-/tmp/bench_sequencing}"
PY="${PY:-$ROOT/.venv/bin/python}"
mkdir -p "$OUT"
cd "$ROOT"

load() { cut -d ' ' -f 1 /proc/loadavg; }

run() {
    local name="$1" before
    shift
    before="$(load)"
    "$PY" manage.py bench_sequencing "$@" >"$OUT/$name.jsonl"
    printf '%-16s %s load %s-%s\n' "$name" "$(tail -n 1 "$OUT/$name.jsonl")" "$before" "$(load)"
}

WT="$DATA/orlib_wt"
WTSDS=(--format wtsds --file "$DATA/wtsds" --optimal "$DATA/wtsds/optimal_values.csv")
SMALL=(--format upmsp --file "$DATA/upmsp/small"
    --optimal "$DATA/upmsp/small_optimal_makespan.csv")
if [[ "${1:-}" == "quick" ]]; then
    run wt40-3x0.2s --format orlib-wt --n 40 --file "$WT/wt40.txt" \
        --optimal "$WT/wtopt40.txt" --instances 1-3 --time-limit 0.2
    run wtsds-1s "${WTSDS[@]}" --time-limit 1
    exit 0
fi
if [[ "${1:-}" == "wtsds" ]]; then
    run wtsds-1s "${WTSDS[@]}" --time-limit 1
    run wtsds-10s "${WTSDS[@]}" --time-limit 10
    exit 0
fi
if [[ "${1:-}" == "small" ]]; then
    run upmsp-small-1s "${SMALL[@]}" --time-limit 1
    exit 0
fi
if [[ "${1:-}" == "plant" ]]; then
    run plant-60s --format plant --time-limit 60
    run plant-1s --format plant --time-limit 1 --optimal "$OUT/plant-60s.jsonl"
    exit 0
fi
if [[ "${1:-}" == "extended" ]]; then
    run wtsds-10s "${WTSDS[@]}" --time-limit 10
    run upmsp-large-10s --format upmsp --file "$DATA/upmsp/large" \
        --optimal "$DATA/upmsp/Bounds_Large_Ruiz.csv" --time-limit 10
    exit 0
fi
run wt40-1s --format orlib-wt --n 40 --file "$WT/wt40.txt" --optimal "$WT/wtopt40.txt" \
    --time-limit 1
run wt40-0.1s --format orlib-wt --n 40 --file "$WT/wt40.txt" --optimal "$WT/wtopt40.txt" \
    --time-limit 0.1
run wt50-1s --format orlib-wt --n 50 --file "$WT/wt50.txt" --optimal "$WT/wtopt50.txt" \
    --time-limit 1
run wt100-2s --format orlib-wt --n 100 --file "$WT/wt100.txt" \
    --optimal "$WT/wtbest100b.txt" --time-limit 2
run wtsds-1s "${WTSDS[@]}" --time-limit 1
run upmsp-small-1s "${SMALL[@]}" --time-limit 1
run upmsp-large-1s --format upmsp --file "$DATA/upmsp/large" \
    --optimal "$DATA/upmsp/Bounds_Large_Ruiz.csv" --time-limit 1
run plant-60s --format plant --time-limit 60
run plant-1s --format plant --time-limit 1 --optimal "$OUT/plant-60s.jsonl"
