#!/usr/bin/python3
"""PyTorch reference timings for a 3-layer GRU stack as used by TimeGAN.

Two cell forms (see /work/shared/spec/timegan.md section 2.1):
  cell "gru_ra": torch.nn.GRU (cuDNN/PyTorch "reset-after" form:
                 n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).
  cell "gru":    TF1 GRUCell written with torch ops in a Python time loop
                 (reset applied BEFORE the candidate matmul:
                 c = tanh([x, r*h] W_c + b_c), h' = u*h + (1-u)*c).
                 The input projections of all time steps are done in one
                 matmul per layer (mathematically identical to the per-step
                 concat [x,h] W of TF1); the recurrent part runs per step.

Modes: "fwd" (torch.no_grad) and "fwd_bwd" (loss = sum(out * gy) with a fixed
random gy, then backward; parameter grads are reset to None every rep; the
input also requires grad unless --no-input-grad, because in TimeGAN most
stacks must pass a gradient to their input).

Timing: --warmup untimed reps, then --reps reps each timed separately with
time.perf_counter (CUDA: synchronize before and after each rep); the median is
reported.

Usage:
  /usr/bin/python3 bench/ref/torch_gru.py --threads 1,2 --reps 200 --json
  /usr/bin/python3 bench/ref/torch_gru.py --device cuda --json

BLAS: see refcommon.py (Debian alternatives -> openblas-openmp; the path of the
library actually mapped into the process is written in every JSON line).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

from refcommon import device_info, machine_line, sync


class TF1GRULayer(nn.Module):
    """One TF1 GRUCell layer (tf.nn.rnn_cell.GRUCell semantics, TF1.15)."""

    def __init__(self, in_dim, hidden):
        super().__init__()
        self.in_dim, self.hidden = in_dim, hidden
        # TF1 layouts: W_g [in+H, 2H] (r cols then u cols), W_c [in+H, H].
        self.W_g = nn.Parameter(torch.empty(in_dim + hidden, 2 * hidden))
        self.b_g = nn.Parameter(torch.full((2 * hidden,), 1.0))
        self.W_c = nn.Parameter(torch.empty(in_dim + hidden, hidden))
        self.b_c = nn.Parameter(torch.zeros(hidden))
        nn.init.xavier_uniform_(self.W_g)  # glorot-uniform, fan_in+fan_out
        nn.init.xavier_uniform_(self.W_c)

    def forward(self, x):  # x [B, T, in] -> [B, T, H]
        B, T, _ = x.shape
        H, i = self.hidden, self.in_dim
        x2 = x.reshape(B * T, i)
        # Input projections for all steps at once; unbind(1) so the backward
        # of the per-step slices is a single stack, not T full-size scatters.
        xg = torch.addmm(self.b_g, x2, self.W_g[:i]).view(B, T, 2 * H).unbind(1)
        xc = torch.addmm(self.b_c, x2, self.W_c[:i]).view(B, T, H).unbind(1)
        Wgh, Wch = self.W_g[i:], self.W_c[i:]
        h = x.new_zeros(B, H)
        outs = []
        for t in range(T):
            r, u = torch.sigmoid(torch.addmm(xg[t], h, Wgh)).chunk(2, 1)
            c = torch.tanh(torch.addmm(xc[t], r * h, Wch))
            h = u * h + (1.0 - u) * c
            outs.append(h)
        return torch.stack(outs, 1)


class TF1GRU(nn.Module):
    """Stack of TF1 GRU layers (MultiRNNCell, zero initial state)."""

    def __init__(self, in_dim, hidden, layers):
        super().__init__()
        self.layers = nn.ModuleList(
            [TF1GRULayer(in_dim if l == 0 else hidden, hidden) for l in range(layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TorchGRU(nn.Module):
    """torch.nn.GRU stack, batch_first, returning the top-layer outputs."""

    def __init__(self, in_dim, hidden, layers):
        super().__init__()
        self.rnn = nn.GRU(in_dim, hidden, layers, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


def time_case(model, x, gy, mode, warmup, reps, device):
    def fwd():
        with torch.no_grad():
            model(x)

    def fwd_bwd():
        for p in model.parameters():
            p.grad = None
        if x.grad is not None:
            x.grad = None
        y = model(x)
        (y * gy).sum().backward()

    fn = fwd if mode == "fwd" else fwd_bwd
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="comma list for torch.set_num_threads")
    ap.add_argument("--inputs", default="5,6,24,28", help="comma list of input widths")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seq", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--cells", default="gru_ra,gru", help="gru_ra (nn.GRU), gru (TF1 form)")
    ap.add_argument("--modes", default="fwd,fwd_bwd")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-input-grad", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    dev = args.device
    info = device_info(dev)
    if not args.json:
        print("# torch %s  impl %s  blas %s  %s" % (info["torch"], info["impl"], info["blas"],
                                                   machine_line()))
        if "cudnn" in info:
            print("# cudnn %s  gpu %s" % (info["cudnn"], info["gpu"]))
        print("%-6s %5s %7s %7s %6s %5s %5s %8s %8s %8s" % (
            "cell", "input", "mode", "threads", "batch", "seq", "hid", "layers",
            "med_ms", "min_ms"))
    elif "cudnn" in info:
        print("# cudnn version %s, gpu %s" % (info["cudnn"], info["gpu"]), file=sys.stderr)

    thread_list = [int(t) for t in args.threads.split(",")] if dev == "cpu" else [torch.get_num_threads()]
    for k in thread_list:
        if dev == "cpu":
            torch.set_num_threads(k)
        for cell in args.cells.split(","):
            for in_dim in [int(v) for v in args.inputs.split(",")]:
                torch.manual_seed(args.seed)
                model = (TorchGRU if cell == "gru_ra" else TF1GRU)(
                    in_dim, args.hidden, args.layers).to(dev)
                x = torch.rand(args.batch, args.seq, in_dim, device=dev)
                gy = torch.randn(args.batch, args.seq, args.hidden, device=dev)
                for mode in args.modes.split(","):
                    xin = x.clone().requires_grad_(mode == "fwd_bwd" and not args.no_input_grad)
                    med, mn = time_case(model, xin, gy, mode, args.warmup, args.reps, dev)
                    rec = {"bench": "gru_stack", "impl": info["impl"], "cell": cell,
                           "batch": args.batch, "seq": args.seq, "input": in_dim,
                           "hidden": args.hidden, "layers": args.layers, "mode": mode,
                           "median_ms": round(med, 4), "min_ms": round(mn, 4),
                           "reps": args.reps, "input_grad": mode == "fwd_bwd" and not args.no_input_grad,
                           "threads": k, "blas": info["blas"], "torch": info["torch"],
                           "load1": round(os.getloadavg()[0], 2)}
                    if "cudnn" in info:
                        rec["cudnn"] = info["cudnn"]
                        rec["gpu"] = info["gpu"]
                    if args.json:
                        print(json.dumps(rec), flush=True)
                    else:
                        print("%-6s %5d %7s %7d %6d %5d %5d %8d %8.3f %8.3f" % (
                            cell, in_dim, mode, k, args.batch, args.seq, args.hidden,
                            args.layers, med, mn), flush=True)


if __name__ == "__main__":
    main()
