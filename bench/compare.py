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
        print("### 3-layer GRU stack, batch 128, seq 24, hidden 24: median ms; ratio = PyTorch's best "
              "thread count / our best\n")
        print("| cell | input | mode | ours 1 thr | ours 2 thr | torch 1 thr | torch 2 thr | ratio |")
        print("|---|---:|---|---:|---:|---:|---:|---:|")
        keys = sorted({(r["cell"], r["input"], r["mode"]) for r in gru})
        for cell, inp, mode in keys:
            o = [last(gru, impl="ours-cpu", cell=cell, input=inp, mode=mode, threads=t) for t in (1, 2)]
            t = [last(gru, impl="torch-cpu", cell=cell, input=inp, mode=mode, threads=th) for th in (1, 2)]
            om = [x["median_ms"] for x in o if x]
            tm = [x["median_ms"] for x in t if x]
            cells = ["%.2f" % x["median_ms"] if x else "-" for x in o + t]
            ratio = "%.1fx" % (min(tm) / min(om)) if om and tm else "-"
            print("| %s | %d | %s | %s | %s |" % (cell, inp, mode, " | ".join(cells), ratio))
        print()
    if tg:
        print("### TimeGAN training, ms per iteration (mean over the timed iterations)\n")
        print("Ratios compare best with best: PyTorch's faster thread count against ours. "
              "`torch gru` is the TF1 GRUCell written in torch ops (the same cell as ours), "
              "`torch gru_ra` is nn.GRU.\n")
        print("| data | phase | ours 1 thr | ours 2 thr | torch gru 1 / 2 thr | torch gru_ra 1 / 2 thr | ratio vs torch gru | ratio vs torch gru_ra |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        datas = []
        for r in tg:
            if r["impl"] == "ours-cpu" and r["data"] not in datas:
                datas.append(r["data"])
        for data in datas:
            tdata = "wide28" if data.startswith("sine") else data
            for phase in ("embedding", "supervised", "joint"):
                o = [last(tg, impl="ours-cpu", data=data, phase=phase, threads=t) for t in (1, 2)]
                o_ms = [x["ms_per_iter"] for x in o if x]
                row = ["%.1f" % x["ms_per_iter"] if x else "-" for x in o]
                ratios = []
                for tc in ("gru", "gru_ra"):
                    t = [last(tg, impl="torch-cpu", data=tdata, cell=tc, phase=phase, threads=th) for th in (1, 2)]
                    t_ms = [x["ms_per_iter"] for x in t if x]
                    row.append(" / ".join("%.0f" % x["ms_per_iter"] if x else "-" for x in t))
                    ratios.append("%.1fx" % (min(t_ms) / min(o_ms)) if t_ms and o_ms else "-")
                print("| %s | %s | %s | %s | %s | %s | %s | %s |" % ((data, phase) + tuple(row) + tuple(ratios)))
        print()

if __name__ == "__main__":
    main()
