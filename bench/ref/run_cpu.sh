#!/bin/bash
# Runs the PyTorch CPU reference benchmarks and appends JSON lines to $OUT.
# Usage: bench/ref/run_cpu.sh bench/results/torch-cpu-YYYY-MM-DD.jsonl [log]
# Load averages before each run are written to the log (default $OUT.load.log).
set -e
cd "$(dirname "$0")/../.."
OUT=${1:?jsonl path}
LOG=${2:-$OUT.load.log}
PY=/usr/bin/python3
load() { echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) :: $*" >> "$LOG"; }
load "start"
cmd="$PY bench/ref/torch_gru.py --threads 1,2 --warmup 20 --reps 200 --json"
load "$cmd"; $cmd >> "$OUT"
for data in stock wide28; do
  for cell in gru_ra tf1; do
    for t in 1 2; do
      cmd="$PY bench/ref/torch_timegan.py --data $data --cell $cell --threads $t --iterations 100 --warmup 5 --json"
      load "$cmd"; $cmd >> "$OUT"
    done
  done
done
load "end"
