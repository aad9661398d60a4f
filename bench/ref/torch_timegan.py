#!/usr/bin/python3
"""Faithful PyTorch reference TimeGAN (benchmark + full-schedule loss logger).

Follows /work/shared/spec/timegan.md (the jsyoon0823/TimeGAN TF1 code):
  * data: sine (sec. 1.3, 10000x24x5), stock (sec. 1.2: flip rows, min-max with
    +1e-7, stride-1 windows range(0, N-seq_len) -> 3661 windows, shuffle), or
    wide28 (energy-shaped synthetic set, 28 features, 5000 windows of random
    sines + noise, min-max per feature); then the inner per-feature min-max of
    sec. 1.4 (+1e-7).
  * networks (sec. 2): embedder, recovery, generator (num_layers GRU layers),
    supervisor (num_layers-1), discriminator (num_layers, one logit per step);
    one FC head per step: sigmoid for e/r/g/s, none for d; FC weights
    glorot-uniform, biases 0.
  * cells: default --cell gru_ra = torch.nn.GRU, which is the cuDNN/PyTorch
    "reset-after" GRU (n = tanh(W_in x + b_in + r*(W_hn h + b_hn))), NOT the
    TF1 GRUCell; this is what a PyTorch port uses.  Init like the TF1 cell as
    far as the layout allows: xavier-uniform weight_ih/weight_hh, r/z biases 1,
    candidate and hidden biases 0 (update gate z weights the old state in both
    forms).  --cell tf1 uses the TF1 GRUCell (reset BEFORE the candidate matmul,
    gate bias 1, candidate bias 0, glorot on [in+H, .] kernels) written in torch
    ops (bench/ref/torch_gru.py: TF1GRU).
  * losses exactly per sec. 3 (means over all elements, population variance,
    1e-6 inside the moment sqrt, no eps in sqrt(G_loss_S), sqrt(E_loss_T0)).
  * five separate torch.optim.Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8).
    NB torch adds eps to sqrt(v_hat) while TF1 adds it to sqrt(v) after
    folding the bias correction into lr_t; the difference is only in eps's
    effective size.
  * schedule sec. 4: phase 1 one E0 step per iteration; phase 2 one GS step
    (only the supervisor gets a gradient); joint: 2 x (fresh batch + Z, G step,
    then E step on the same batch and Z), then fresh batch + Z, D_loss, and a
    D step only if D_loss > 0.15.
  Frozen networks: parameters outside a solver's var_list are never updated;
  gradients are computed only for the var_list (torch.autograd.grad), and
  activations of networks that need no gradient path are computed under
  no_grad (e.g. H = e(X) in the GS/G/D steps) -- same numbers as TF1.
  The D step uses the graph of the D_loss it just checked (TF1 re-runs the
  forward in a second session.run; same values).

Benchmark mode (default): --warmup untimed iterations then --iterations timed
iterations per phase (embedding, supervised, joint), in schedule order; reports
ms per iteration (mean over the timed iterations; CUDA synchronized).
--full: runs the complete schedule (--iterations per phase, no warm-up),
writes per-step losses to --loss-log CSV and optionally the renormalised
synthetic set (same size as the training set) to --synth-out (.npy).

Usage:
  /usr/bin/python3 bench/ref/torch_timegan.py --data stock --iterations 100 --threads 1 --json
  /usr/bin/python3 bench/ref/torch_timegan.py --data stock --full --iterations 50000 \
      --loss-log stock_losses.csv --synth-out stock_synth.npy
  ... --device cuda   (logs torch.backends.cudnn.version())
BLAS: see refcommon.py (openblas-openmp via Debian alternatives; the mapped
library path is written to every JSON line).
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from refcommon import device_info, machine_line, sync
from torch_gru import TF1GRU

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_STOCK = "/work/shared/data/stock_data.csv"


# ---------------------------------------------------------------- data (sec. 1)
def sine_data_generation(no, seq_len, dim):
    data = []
    for _ in range(no):
        temp = []
        for _k in range(dim):
            freq = np.random.uniform(0, 0.1)
            phase = np.random.uniform(0, 0.1)
            temp.append([np.sin(freq * j + phase) for j in range(seq_len)])
        temp = np.transpose(np.asarray(temp))
        data.append((temp + 1) * 0.5)
    return np.asarray(data)


def real_data_loading(path, seq_len):
    ori = np.loadtxt(path, delimiter=",", skiprows=1)
    ori = ori[::-1]
    ori = (ori - np.min(ori, 0)) / (np.max(ori, 0) - np.min(ori, 0) + 1e-7)
    temp = [ori[i:i + seq_len] for i in range(0, len(ori) - seq_len)]
    idx = np.random.permutation(len(temp))
    return np.asarray([temp[i] for i in idx])


def wide28_generation(no, seq_len, dim=28):
    """Energy-shaped synthetic set: 28 features of random sines with trends and
    noise on a long series, windowed with stride 1 and min-max scaled."""
    n = no + seq_len
    t = np.arange(n, dtype=np.float64)
    cols = []
    for _k in range(dim):
        f1, f2 = np.random.uniform(0.001, 0.05, 2)
        p1, p2 = np.random.uniform(0, 2 * np.pi, 2)
        a2 = np.random.uniform(0, 0.5)
        col = (np.sin(f1 * t + p1) + a2 * np.sin(f2 * t + p2)
               + np.random.uniform(-1e-3, 1e-3) * t + 0.2 * np.random.randn(n))
        cols.append(col)
    x = np.stack(cols, 1)
    x = (x - x.min(0)) / (x.max(0) - x.min(0) + 1e-7)
    temp = [x[i:i + seq_len] for i in range(0, n - seq_len)]
    idx = np.random.permutation(len(temp))
    return np.asarray([temp[i] for i in idx])


def load_data(name, seq_len, stock_path):
    if name == "sine":
        return sine_data_generation(10000, seq_len, 5)
    if name == "stock":
        return real_data_loading(stock_path, seq_len)
    if name == "wide28":
        return wide28_generation(5000, seq_len, 28)
    # any other value: treat as a CSV path (header + numeric columns)
    return real_data_loading(name, seq_len)


def inner_minmax(data):  # sec. 1.4
    min_val = np.min(np.min(data, axis=0), axis=0)
    data = data - min_val
    max_val = np.max(np.max(data, axis=0), axis=0)
    return data / (max_val + 1e-7), min_val, max_val


# ------------------------------------------------------------ networks (sec. 2)
class RaGRU(nn.Module):
    def __init__(self, in_dim, hidden, layers):
        super().__init__()
        self.rnn = nn.GRU(in_dim, hidden, layers, batch_first=True)
        H = hidden
        for name, p in self.rnn.named_parameters():
            if name.startswith("weight"):
                nn.init.xavier_uniform_(p)
            elif name.startswith("bias_ih"):
                with torch.no_grad():
                    p.zero_()
                    p[:2 * H] = 1.0  # r, z gate biases = 1 (TF1 b_g); candidate 0
            else:
                nn.init.zeros_(p)

    def forward(self, x):
        return self.rnn(x)[0]


class Net(nn.Module):
    def __init__(self, in_dim, hidden, layers, out_dim, sigmoid, cell):
        super().__init__()
        self.rnn = (RaGRU if cell == "gru_ra" else TF1GRU)(in_dim, hidden, layers)
        self.fc = nn.Linear(hidden, out_dim)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        self.sigmoid = sigmoid

    def forward(self, x):
        y = self.fc(self.rnn(x))
        return torch.sigmoid(y) if self.sigmoid else y


class TimeGAN(nn.Module):
    def __init__(self, dim, hidden, layers, cell):
        super().__init__()
        self.e = Net(dim, hidden, layers, hidden, True, cell)
        self.r = Net(hidden, hidden, layers, dim, True, cell)
        self.g = Net(dim, hidden, layers, hidden, True, cell)   # z_dim = dim
        self.s = Net(hidden, hidden, layers - 1, hidden, True, cell)
        self.d = Net(hidden, hidden, layers, 1, False, cell)


# -------------------------------------------------------------- losses (sec. 3)
def ce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def loss_s(H, H_hat_sup):
    return F.mse_loss(H_hat_sup[:, :-1, :], H[:, 1:, :])


def loss_v(X_hat, X):
    v_hat = torch.var(X_hat, 0, unbiased=False)
    v = torch.var(X, 0, unbiased=False)
    v1 = torch.mean(torch.abs(torch.sqrt(v_hat + 1e-6) - torch.sqrt(v + 1e-6)))
    v2 = torch.mean(torch.abs(X_hat.mean(0) - X.mean(0)))
    return v1 + v2


def apply(opt, params, loss):
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()


# -------------------------------------------------------------------- trainer
class Trainer:
    def __init__(self, data, args, dev):
        self.dev = dev
        self.X = torch.tensor(data, dtype=torch.float32, device=dev)
        self.no, self.T, self.dim = data.shape
        self.B = args.batch
        self.m = TimeGAN(self.dim, args.hidden, args.layers, args.cell).to(dev)
        m = self.m
        self.p_er = list(m.e.parameters()) + list(m.r.parameters())
        self.p_gs = list(m.g.parameters()) + list(m.s.parameters())
        self.p_d = list(m.d.parameters())
        adam = lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        self.opt_e0, self.opt_e = adam(self.p_er), adam(self.p_er)
        self.opt_gs, self.opt_g = adam(self.p_gs), adam(self.p_gs)
        self.opt_d = adam(self.p_d)

    def batch(self):
        idx = np.random.permutation(self.no)[:self.B]
        X = self.X[torch.from_numpy(idx).to(self.dev)]
        Z = torch.from_numpy(np.random.uniform(0., 1, [self.B, self.T, self.dim]).astype(
            np.float32)).to(self.dev)
        return X, Z

    # phase 1: E0_solver on E_loss0
    def step_embed(self):
        m = self.m
        X, _ = self.batch()
        X_tilde = m.r(m.e(X))
        e_t0 = F.mse_loss(X_tilde, X)
        e0 = 10 * torch.sqrt(e_t0)
        apply(self.opt_e0, self.p_er, e0)
        return {"e_loss_t0": e_t0, "e_loss0": e0}

    # phase 2: GS_solver on G_loss_S (Z sampled but unused, as in the code)
    def step_sup(self):
        m = self.m
        X, _Z = self.batch()
        with torch.no_grad():
            H = m.e(X)
        g_s = loss_s(H, m.s(H))
        apply(self.opt_gs, self.p_gs, g_s)
        return {"g_loss_s": g_s}

    def g_step(self, X, Z):
        m = self.m
        with torch.no_grad():
            H = m.e(X)
        E_hat = m.g(Z)
        H_hat = m.s(E_hat)
        g_s = loss_s(H, m.s(H))
        X_hat = m.r(H_hat)
        g_u = ce(m.d(H_hat), 1.0)
        g_u_e = ce(m.d(E_hat), 1.0)
        g_v = loss_v(X_hat, X)
        g = g_u + g_u_e + 100 * torch.sqrt(g_s) + 100 * g_v
        apply(self.opt_g, self.p_gs, g)
        return {"g_loss_u": g_u, "g_loss_u_e": g_u_e, "g_loss_s": g_s, "g_loss_v": g_v,
                "g_loss": g}

    def e_step(self, X):
        m = self.m
        H = m.e(X)
        X_tilde = m.r(H)
        g_s = loss_s(H, m.s(H))
        e_t0 = F.mse_loss(X_tilde, X)
        e = 10 * torch.sqrt(e_t0) + 0.1 * g_s
        apply(self.opt_e, self.p_er, e)
        return {"e_loss_t0": e_t0, "e_loss": e}

    def d_step(self, X, Z):
        m = self.m
        with torch.no_grad():
            H = m.e(X)
            E_hat = m.g(Z)
            H_hat = m.s(E_hat)
        d = ce(m.d(H), 1.0) + ce(m.d(H_hat), 0.0) + ce(m.d(E_hat), 0.0)
        dv = d.item()
        took = dv > 0.15
        if took:
            apply(self.opt_d, self.p_d, d)
        return {"d_loss": dv, "d_updated": int(took)}

    # phase 3: joint iteration
    def step_joint(self):
        out = {}
        for _kk in range(2):
            X, Z = self.batch()
            out.update(self.g_step(X, Z))
            out.update(self.e_step(X))
        X, Z = self.batch()
        out.update(self.d_step(X, Z))
        return out

    def generate(self):
        m = self.m
        outs = []
        with torch.no_grad():
            for i in range(0, self.no, 1024):
                n = min(1024, self.no - i)
                Z = torch.from_numpy(np.random.uniform(0., 1, [n, self.T, self.dim]).astype(
                    np.float32)).to(self.dev)
                outs.append(m.r(m.s(m.g(Z))).cpu().numpy())
        return np.concatenate(outs, 0)


PHASES = (("embedding", "step_embed"), ("supervised", "step_sup"), ("joint", "step_joint"))
LOSS_COLS = ["e_loss_t0", "e_loss0", "g_loss_s", "g_loss_u", "g_loss_u_e", "g_loss_v",
             "g_loss", "e_loss", "d_loss", "d_updated"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="stock", help="sine | stock | wide28 | path/to.csv")
    ap.add_argument("--stock-path", default=DEFAULT_STOCK)
    ap.add_argument("--seq-len", type=int, default=24)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--cell", default="gru_ra", choices=["gru_ra", "tf1"])
    ap.add_argument("--iterations", type=int, default=200, help="per phase")
    ap.add_argument("--warmup", type=int, default=5, help="untimed iterations per phase")
    ap.add_argument("--phases", default="embedding,supervised,joint")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="complete schedule + loss log")
    ap.add_argument("--loss-log", default=None)
    ap.add_argument("--synth-out", default=None)
    ap.add_argument("--log-every", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.threads is not None and args.device == "cpu":
        torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    dev = args.device
    info = device_info(dev)
    data_name = args.data if args.data in ("sine", "stock", "wide28") else os.path.basename(args.data)
    ori = load_data(args.data, args.seq_len, args.stock_path)
    norm, min_val, max_val = inner_minmax(ori)
    tr = Trainer(norm, args, dev)
    cell_label = "gru_ra" if args.cell == "gru_ra" else "gru"
    nparams = sum(p.numel() for p in tr.m.parameters())
    if not args.json or args.full:
        print("# torch %s impl %s blas %s; %s" % (info["torch"], info["impl"], info["blas"],
                                                 machine_line()), file=sys.stderr)
        print("# data %s windows %d x %d x %d, cell %s, params %d, threads %d" % (
            data_name, tr.no, tr.T, tr.dim, cell_label, nparams, torch.get_num_threads()),
            file=sys.stderr)
    if "cudnn" in info:
        print("# cudnn version %s, gpu %s" % (info["cudnn"], info["gpu"]), file=sys.stderr)

    base = {"bench": "timegan", "impl": info["impl"], "data": data_name, "batch": args.batch,
            "seq": args.seq_len, "features": tr.dim, "hidden": args.hidden,
            "layers": args.layers, "cell": cell_label}
    tail = {"threads": torch.get_num_threads(), "blas": info["blas"], "torch": info["torch"]}
    if "cudnn" in info:
        tail["cudnn"], tail["gpu"] = info["cudnn"], info["gpu"]

    if args.full:
        f = open(args.loss_log, "w", newline="") if args.loss_log else None
        w = csv.writer(f) if f else None
        if w:
            w.writerow(["phase", "iteration"] + LOSS_COLS)
        t_start = time.perf_counter()
        for phase, meth in PHASES:
            fn = getattr(tr, meth)
            t0 = time.perf_counter()
            for it in range(args.iterations):
                losses = fn()
                vals = {k: (v.item() if torch.is_tensor(v) else v) for k, v in losses.items()}
                if w:
                    w.writerow([phase, it] + ["%.8g" % vals[c] if c in vals else ""
                                              for c in LOSS_COLS])
                if args.log_every and it % args.log_every == 0:
                    print("%s it %d: %s" % (phase, it, " ".join(
                        "%s=%.4f" % (k, v) for k, v in vals.items())), file=sys.stderr)
            sync(dev)
            ms = (time.perf_counter() - t0) * 1e3 / max(args.iterations, 1)
            rec = dict(base, phase=phase, ms_per_iter=round(ms, 3),
                       iterations=args.iterations, mode="full", **tail)
            print(json.dumps(rec) if args.json else
                  "%-10s %9.3f ms/iter (%d iterations)" % (phase, ms, args.iterations), flush=True)
        if f:
            f.close()
        print("# total %.1f s" % (time.perf_counter() - t_start), file=sys.stderr)
        if args.synth_out:
            gen = tr.generate() * max_val + min_val  # sec. 1.4 renormalisation (no 1e-7)
            np.save(args.synth_out, gen)
            np.save(os.path.splitext(args.synth_out)[0] + "_ori.npy", ori)
        return

    want = args.phases.split(",")
    for phase, meth in PHASES:
        fn = getattr(tr, meth)
        run = phase in want
        # phases not benchmarked still run their warm-up so later phases start
        # from a trained-ish state similar to the real schedule
        for _ in range(args.warmup):
            fn()
        if not run:
            continue
        sync(dev)
        times = []
        t0 = time.perf_counter()
        for _ in range(args.iterations):
            t1 = time.perf_counter()
            fn()
            sync(dev)
            times.append((time.perf_counter() - t1) * 1e3)
        total_ms = (time.perf_counter() - t0) * 1e3
        ms = total_ms / max(args.iterations, 1)
        med = float(np.median(times))
        rec = dict(base, phase=phase, ms_per_iter=round(ms, 3), median_ms=round(med, 3),
                   iterations=args.iterations, warmup=args.warmup,
                   load1=round(os.getloadavg()[0], 2), **tail)
        if args.json:
            print(json.dumps(rec), flush=True)
        else:
            print("%-10s %-7s %-6s threads %d: %9.3f ms/iter (median %.3f, %d iterations)" % (
                phase, data_name, cell_label, tail["threads"], ms, med, args.iterations),
                flush=True)


if __name__ == "__main__":
    main()
