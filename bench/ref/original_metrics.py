#!/usr/bin/env python3
"""Score a synthetic CSV with the reference implementation's own post-hoc metrics.

A cross-check of `timegan evaluate`: the same real and synthetic windows are scored by the
reference code's discriminative and predictive metrics (TensorFlow 1.15), imported from a
checkout of the reference repository given with --reference (nothing of it is copied here).
Run it with a Python that has TensorFlow 1.15 (e.g. Python 3.7 with `pip install
tensorflow==1.15.5 'numpy<1.19' scikit-learn 'protobuf<3.21'`):

    python original_metrics.py --reference /path/to/TimeGAN --real ../shared/data/stock_data.csv \
        --synthetic synthetic.csv --repeats 10 --out scores.json

Real windows are made as the reference's data loading makes them (rows flipped into time order,
per-column min-max with +1e-7 in the denominator, stride-1 windows over range(0, N - seq_len));
the synthetic CSV (`timegan generate` output in the data's units: sequence_id, t, columns...)
is mapped onto the same scale with the real data's per-column minimum and maximum, which is the
scale `timegan evaluate --preset original` scores on (README, "Scale" under evaluate).
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def real_windows(path, seq_len):
    raw = np.loadtxt(path, delimiter=",", skiprows=1)[::-1]
    lo, hi = raw.min(0), raw.max(0)
    scaled = (raw - lo) / (hi - lo + 1e-7)
    windows = [scaled[i:i + seq_len] for i in range(0, len(scaled) - seq_len)]
    return windows, lo, hi


def synthetic_windows(path, lo, hi):
    with open(path) as f:
        header = f.readline().strip().split(",")
    if header[:2] != ["sequence_id", "t"]:
        sys.exit(f"{path}:1: expected the header 'sequence_id,t,...' of timegan generate output")
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    if rows.shape[1] - 2 != len(lo):
        sys.exit(f"{path}:1: {rows.shape[1] - 2} data columns, the real data has {len(lo)}")
    ids = rows[:, 0].astype(np.int64)
    out = []
    for sid in np.unique(ids):
        seq = rows[ids == sid]
        seq = seq[np.argsort(seq[:, 1])][:, 2:]
        out.append((seq - lo) / (hi - lo + 1e-7))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="checkout of the reference TimeGAN repository")
    ap.add_argument("--real", required=True, help="the real CSV (header row, numeric columns)")
    ap.add_argument("--synthetic", required=True, help="timegan generate output (CSV, data units)")
    ap.add_argument("--seq-len", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--metrics", default="discriminative,predictive")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed (the reference's batches and splits)")
    ap.add_argument("--out", help="write the scores as JSON here")
    args = ap.parse_args()

    sys.path.insert(0, os.path.abspath(args.reference))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # noqa: E402  (the reference's TF1 graph code)
    from metrics.discriminative_metrics import discriminative_score_metrics  # noqa: E402
    from metrics.predictive_metrics import predictive_score_metrics  # noqa: E402

    np.random.seed(args.seed)
    real, lo, hi = real_windows(args.real, args.seq_len)
    syn = synthetic_windows(args.synthetic, lo, hi)
    n = min(len(real), len(syn))
    real = [real[i] for i in np.random.permutation(len(real))[:n]]
    syn = syn[:n]
    print(f"{n} real and {n} synthetic windows of {args.seq_len} x {len(lo)}", flush=True)

    result = {"real": args.real, "synthetic": args.synthetic, "windows": n, "tensorflow": tf.__version__}
    for name in [m.strip() for m in args.metrics.split(",") if m.strip()]:
        fn = {"discriminative": discriminative_score_metrics, "predictive": predictive_score_metrics}[name]
        scores, t0 = [], time.time()
        for r in range(args.repeats):
            tf.reset_default_graph()
            scores.append(float(fn(real, syn)))
            print(f"{name} repeat {r + 1}/{args.repeats}: {scores[-1]:.4f}", flush=True)
        result[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "per_repeat": scores,
                        "seconds": time.time() - t0}
        print(f"{name}: {np.mean(scores):.4f} +- {np.std(scores):.4f}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
