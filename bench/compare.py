#!/usr/bin/python3
"""Side-by-side tables (ours vs PyTorch) from the JSON lines of bench_gru, bench_timegan,
bench/ref/torch_gru.py and bench/ref/torch_timegan.py.

Usage: /usr/bin/python3 bench/compare.py RESULTS.jsonl [more.jsonl ...]
Ratios are PyTorch time / our time (higher = we are faster), per thread count.
"""
import json
import sys


def last(recs, **kw):
    v = [r for r in recs if all(r.get(k) == x for k, x in kw.items())]
    return v[-1] if v else None


def main():
    recs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            recs += [json.loads(l) for l in f if l.strip().startswith("{")]
    gru = [r for r in recs if r["bench"] == "gru_stack"]
    tg = [r for r in recs if r["bench"] == "timegan"]
    if gru:
        print("### 3-layer GRU stack, batch 128, seq 24, hidden 24: median ms (ratio = torch / ours)\n")
        print("| cell | input | mode | threads | ours-cpu | torch-cpu | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|")
        keys = sorted({(r["cell"], r["input"], r["mode"], r["threads"]) for r in gru})
        for cell, inp, mode, th in keys:
            o = last(gru, impl="ours-cpu", cell=cell, input=inp, mode=mode, threads=th)
            t = last(gru, impl="torch-cpu", cell=cell, input=inp, mode=mode, threads=th)
            ratio = "%.1fx" % (t["median_ms"] / o["median_ms"]) if o and t else "-"
            print("| %s | %d | %s | %d | %s | %s | %s |" % (
                cell, inp, mode, th, "%.2f" % o["median_ms"] if o else "-",
                "%.2f" % t["median_ms"] if t else "-", ratio))
        print()
    if tg:
        print("### TimeGAN training, ms per iteration (mean; ratio = torch / ours)\n")
        print("| data | features | ours cell | torch cell | phase | threads | ours-cpu | torch-cpu | ratio |")
        print("|---|---:|---|---|---|---:|---:|---:|---:|")
        cellmap = {"gru": "tf1", "gru_ra": "gru_ra"}
        keys = sorted({(r["data"], r["features"], r["cell"], r["phase"], r["threads"])
                       for r in tg if r["impl"] == "ours-cpu"})
        for data, feat, cell, phase, th in keys:
            o = last(tg, impl="ours-cpu", data=data, cell=cell, phase=phase, threads=th)
            for tc in ("tf1", "gru_ra"):
                t = last(tg, impl="torch-cpu", data=data if data != "sine28" else "wide28", cell=tc,
                         phase=phase, threads=th)
                if data == "sine28":
                    t = last(tg, impl="torch-cpu", data="wide28", cell=tc, phase=phase, threads=th)
                if not t and tc != cellmap.get(cell):
                    continue
                ratio = "%.1fx" % (t["ms_per_iter"] / o["ms_per_iter"]) if t else "-"
                print("| %s | %d | %s | %s | %s | %d | %.1f | %s | %s |" % (
                    data, feat, cell, tc, phase, th, o["ms_per_iter"],
                    "%.1f" % t["ms_per_iter"] if t else "-", ratio))
        print()


if __name__ == "__main__":
    main()
