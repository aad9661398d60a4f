#!/usr/bin/env python3
"""Train the reference implementation on stock or energy and record its loss curve and scores.

The side-by-side run behind `bench/results/table2-*/NAME/analysis.md`: the reference TimeGAN code
(TensorFlow 1.15), imported from a checkout of the reference repository given with --reference
(nothing of it is copied here), is trained with its defaults (GRU, hidden 24, 3 layers, batch
128) for --iterations per phase; the losses it prints every 1,000 iterations are kept with the
wall time of each phase, and its generated set is scored with its own post-hoc metrics, as its
main script does. Run it with a Python that has TensorFlow 1.15 (e.g. Python 3.7 with `pip install
tensorflow==1.15.5 'numpy<1.19' scikit-learn 'protobuf<3.21'`); `taskset -c N` pins it to one
core:

    taskset -c 1 python original_train.py --reference /path/to/TimeGAN --data stock \
        --data-dir ../shared/data --iterations 10000 --seed 1 --repeats 10 --out ref-stock-seed1.json

The printed losses are the reference's own: e_loss is sqrt(E_loss_T0) in the embedding phase,
s_loss sqrt(G_loss_S), and in the joint phase d_loss (the last discriminator step taken),
g_loss_u, sqrt(g_loss_s), g_loss_v and sqrt(e_loss_t0).
"""
import argparse
import io
import json
import os
import re
import sys
import tempfile
import time

import numpy as np


class Recorder(io.TextIOBase):
    """Echoes the reference's prints and keeps its loss lines with the time of each phase."""

    def __init__(self, echo):
        self.echo, self.buf, self.phase = echo, "", None
        self.points, self.phase_start, self.phase_seconds = [], {}, {}

    def write(self, s):
        self.echo.write(s)
        self.echo.flush()
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            self.line(line.strip())
        return len(s)

    def line(self, line):
        now = time.time()
        m = re.match(r"Start (Embedding|Training with Supervised|Joint)", line)
        if m:
            self.phase = {"Embedding": "embedding", "Training with Supervised": "supervised", "Joint": "joint"}[m.group(1)]
            self.phase_start[self.phase] = now
            return
        if line.startswith("Finish") and self.phase:
            self.phase_seconds[self.phase] = now - self.phase_start[self.phase]
            return
        m = re.match(r"step: (\d+)/\d+, (.*)", line)
        if m and self.phase:
            values = {k: float(v) for k, v in re.findall(r"(\w+): ([-\d.e+naif]+)", m.group(2))}
            self.points.append({"phase": self.phase, "iteration": int(m.group(1)), **values})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="checkout of the reference TimeGAN repository")
    ap.add_argument("--data", required=True, choices=["stock", "energy"])
    ap.add_argument("--data-dir", required=True, help="folder with stock_data.csv / energy_data.csv")
    ap.add_argument("--iterations", type=int, default=10000)
    ap.add_argument("--hidden-dim", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0, help="numpy and TensorFlow graph seed")
    ap.add_argument("--repeats", type=int, default=10, help="metric repeats (0: none)")
    ap.add_argument("--out", required=True, help="JSON: loss points, seconds per phase, scores")
    args = ap.parse_args()

    ref, out = os.path.abspath(args.reference), os.path.abspath(args.out)
    sys.path.insert(0, ref)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # noqa: E402  (the reference's TF1 graph code)
    import data_loading  # noqa: E402
    import timegan as reference  # noqa: E402
    from metrics.discriminative_metrics import discriminative_score_metrics  # noqa: E402
    from metrics.predictive_metrics import predictive_score_metrics  # noqa: E402

    # The reference reads data/NAME_data.csv relative to the working directory (so run it in a
    # scratch folder whose data/ is --data-dir) and resets the default graph first thing (so keep
    # the graph seed across that reset).
    data_dir = os.path.abspath(args.data_dir)
    scratch = tempfile.mkdtemp(prefix="timegan-reference-")
    os.symlink(data_dir, os.path.join(scratch, "data"))
    os.chdir(scratch)
    np.random.seed(args.seed)
    reset = tf.reset_default_graph

    def reset_and_seed():
        reset()
        tf.set_random_seed(args.seed)

    tf.reset_default_graph = reset_and_seed
    ori_data = data_loading.real_data_loading(args.data, 24)

    params = {"module": "gru", "hidden_dim": args.hidden_dim, "num_layer": 3,
              "iterations": args.iterations, "batch_size": 128}
    rec = Recorder(sys.stdout)
    t0 = time.time()
    saved, sys.stdout = sys.stdout, rec
    try:
        generated = reference.timegan(ori_data, params)
    finally:
        sys.stdout = saved
    train_seconds = time.time() - t0
    result = {"reference": "jsyoon0823/TimeGAN (TensorFlow %s)" % tf.__version__, "data": args.data,
              "parameters": params, "seed": args.seed, "train_seconds": train_seconds,
              "phase_seconds": rec.phase_seconds, "losses": rec.points}
    def save():
        with open(out, "w") as f:
            json.dump(result, f, indent=1)

    save()  # the losses and times now; the scores are added as they come (minutes each)
    for name, fn in (("discriminative", discriminative_score_metrics), ("predictive", predictive_score_metrics)):
        scores = []
        for r in range(args.repeats):
            tf.reset_default_graph()
            scores.append(float(fn(ori_data, generated)))
            print(f"{name} repeat {r + 1}/{args.repeats}: {scores[-1]:.4f}", flush=True)
        if scores:
            result[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "per_repeat": scores}
            print(f"{name}: {np.mean(scores):.4f} +- {np.std(scores):.4f}", flush=True)
            save()


if __name__ == "__main__":
    main()
