"""Shared helpers for the PyTorch reference benchmarks (bench/ref/*.py).

BLAS note (Debian 12, python3-torch 1.13.1+dfsg, CPU only):
  Debian's torch is built with BLAS_INFO=generic, i.e. libtorch_cpu.so links the
  generic libblas.so.3 / liblapack.so.3, which the Debian alternatives system
  resolves at run time.  With libopenblas0-openmp installed the alternatives
  are in auto mode and point at openblas-openmp (priority 95 vs reference BLAS
  priority 10), so torch really runs OpenBLAS (checked via /proc/self/maps
  after a matmul: .../openblas-openmp/libopenblasp-r0.3.21.so).  If a machine
  shows /usr/lib/x86_64-linux-gnu/blas/libblas.so.3 (reference BLAS) instead,
  switch it with (root):
    update-alternatives --set libblas.so.3-x86_64-linux-gnu \
        /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
    update-alternatives --set liblapack.so.3-x86_64-linux-gnu \
        /usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3
  The openmp variant of OpenBLAS follows omp_set_num_threads(), which
  torch.set_num_threads() calls, so --threads governs BLAS threads too.
"""
import os
import platform

import torch


def loaded_blas():
    """Path of the BLAS library actually mapped into this process.

    Runs a small matmul first so lazily-loaded BLAS is mapped.  Prefers a
    libopenblas* mapping; falls back to libblas*/libmkl*; 'unknown' if none.
    """
    a = torch.randn(64, 64)
    (a @ a).sum().item()
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[5].startswith("/"):
                    p = parts[5]
                    if p not in libs:
                        libs.append(p)
    except OSError:
        return "unknown"
    for key in ("libopenblas", "libmkl_rt", "libmkl", "libblis", "libblas"):
        for p in libs:
            if os.path.basename(p).startswith(key):
                return os.path.realpath(p)
    return "unknown"


def device_info(device):
    info = {"torch": torch.__version__}
    if device.startswith("cuda"):
        info["impl"] = "torch-cuda"
        info["cudnn"] = torch.backends.cudnn.version()
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["blas"] = "cublas"
    else:
        info["impl"] = "torch-cpu"
        info["blas"] = loaded_blas()
    return info


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def machine_line():
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d logical CPUs, load avg %s" % (
        model, os.cpu_count() or 0, " ".join("%.2f" % x for x in os.getloadavg()))
