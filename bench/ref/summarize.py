#!/usr/bin/python3
"""Print markdown tables from the JSON lines written by torch_gru.py / torch_timegan.py.

Usage: /usr/bin/python3 bench/ref/summarize.py bench/results/torch-cpu-2026-11-27.jsonl
"""
import json
import sys


def main():
    recs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            recs += [json.loads(l) for l in f if l.strip().startswith("{")]
    gru = [r for r in recs if r["bench"] == "gru_stack"]
    tg = [r for r in recs if r["bench"] == "timegan"]
    if gru:
        print("### GRU stack (batch 128, seq 24, hidden 24, 3 layers), median ms (min in brackets, load1 at end of case)\n")
        print("| cell | input | mode | 1 thread | 2 threads |")
        print("|---|---:|---|---:|---:|")
        keys = []
        for r in gru:
            k = (r["impl"], r["cell"], r["input"], r["mode"])
            if k not in keys:
                keys.append(k)
        for k in keys:
            cells = []
            for t in (1, 2):
                v = [r for r in gru if (r["impl"], r["cell"], r["input"], r["mode"]) == k
                     and r["threads"] == t]
                cells.append("%.2f (%.2f) L%s" % (v[-1]["median_ms"], v[-1]["min_ms"],
                                                  v[-1].get("load1", "?")) if v else "-")
            print("| %s | %d | %s | %s | %s |" % (k[1], k[2], k[3], cells[0], cells[1]))
        print()
    if tg:
        print("### TimeGAN ms per iteration (mean over timed iterations; median in brackets; L = load1 when the phase ended, n = timed iterations)\n")
        print("| data | features | cell | phase | 1 thread | 2 threads |")
        print("|---|---:|---|---|---:|---:|")
        keys = []
        for r in tg:
            k = (r["data"], r["features"], r["cell"], r["phase"])
            if k not in keys:
                keys.append(k)
        for k in keys:
            cells = []
            for t in (1, 2):
                v = [r for r in tg if (r["data"], r["features"], r["cell"], r["phase"]) == k
                     and r["threads"] == t]
                if v:
                    cells.append("%.1f (%.1f) L%s n%d" % (v[-1]["ms_per_iter"], v[-1].get("median_ms", 0),
                                                          v[-1].get("load1", "?"), v[-1]["iterations"]))
                else:
                    cells.append("-")
            print("| %s | %d | %s | %s | %s | %s |" % (k + tuple(cells)))
        print()


if __name__ == "__main__":
    main()
