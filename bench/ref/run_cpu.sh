#!/bin/bash
# Runs the PyTorch CPU reference benchmarks and appends JSON lines to $OUT.
# Usage: bench/ref/run_cpu.sh OUT.jsonl [gru|timegan|all] [LOG]
# Order puts 1-thread runs first (the 2-core box is shared; 2-thread OpenMP
# runs suffer most from contention).  Load averages go to LOG
# (default OUT.load.log) before each run; each JSON line also has load1.
set -e
cd "$(dirname "$0")/../.."
OUT=${1:?jsonl path}
WHAT=${2:-all}
LOG=${3:-$OUT.load.log}
PY=/usr/bin/python3
load() { echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) :: $*" >> "$LOG"; }
load "start"
if [ "$WHAT" != timegan ]; then
  cmd="$PY bench/ref/torch_gru.py --threads 1,2 --warmup 20 --reps 200 --json"
  load "$cmd"; $cmd >> "$OUT"
fi
if [ "$WHAT" != gru ]; then
  for t in 1 2; do
    for cell in gru_ra tf1; do
      for data in stock wide28; do
        cmd="$PY bench/ref/torch_timegan.py --data $data --cell $cell --threads $t --iterations 100 --warmup 5 --json"
        load "$cmd"; $cmd >> "$OUT"
      done
    done
  done
fi
load "end"
