"""timegan.TimeGAN: fit / sample / save / load over the engine's run directories."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import time
import weakref

import numpy as np

from . import _core
from ._data import prepare

# The files of a run directory (what `timegan train` writes; see README "Run directories").
RUN_FILES = ("config.json", "model.ckpt", "losses.csv", "summary.json", "synthetic.csv")


def copy_run_files(src, dst):
    """Copies the run files src holds into dst (created if needed)."""
    os.makedirs(dst, exist_ok=True)
    for f in RUN_FILES:
        p = os.path.join(src, f)
        if os.path.exists(p):
            shutil.copy2(p, os.path.join(dst, f))


def _as_list(x, name):
    """A condition value or a list of them (a str is one value, never split)."""
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        return [x]
    return list(x)


def _condition_text(v):
    """A condition value as the engine reads it: a label, or a number written exactly."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


class TrainingDiverged(RuntimeError):
    """A loss or a weight became NaN or infinite; model.ckpt keeps the last good state."""


def _duration(x):
    """Seconds from a number or a duration like the CLI's --max-time ("90s", "15m", "2h", "1h30m")."""
    if x is None:
        return 0.0
    if isinstance(x, (int, float)):
        if not x > 0:
            raise ValueError(f"max_time: expected a positive duration, got {x!r}")
        return float(x)
    import re
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", str(x))
    if not parts or "".join(a + b for a, b in parts) != str(x).strip():
        raise ValueError(f"max_time: expected a duration like 90s, 15m, 2h or 1h30m, got {x!r}")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = sum(float(a) * unit[b] for a, b in parts)
    if total <= 0:
        raise ValueError(f"max_time: expected a positive duration, got {x!r}")
    return total


class _Progress:
    """A tqdm bar per phase when tqdm is installed, else a plain line every `every` iterations."""

    def __init__(self, verbose, every):
        self.verbose = verbose
        self.every = max(1, int(every))
        self.bar = None
        self.phase = None
        self.start = 0.0
        try:
            try:
                import ipywidgets  # noqa: F401  (tqdm's notebook bar needs it)
                from tqdm.auto import tqdm
            except ImportError:
                from tqdm import tqdm
            self.tqdm = tqdm
        except ImportError:
            self.tqdm = None

    @staticmethod
    def _text(phase, losses):
        if phase == "embedding":
            return f"e_loss_t0 {losses['e_loss_t0']:.4f}"
        if phase == "supervised":
            return f"g_loss_s {losses['g_loss_s']:.5f}"
        return (f"d {losses['d_loss']:.3f} g_u {losses['g_loss_u']:.3f} g_s {np.sqrt(losses['g_loss_s']):.4f} "
                f"g_v {losses['g_loss_v']:.4f} e_t0 {np.sqrt(losses['e_loss_t0']):.4f}")

    def update(self, phase, done, total, losses):
        if not self.verbose:
            return
        if phase != self.phase:
            self.close()
            self.phase = phase
            self.start = time.monotonic()
            self.first = done - 1
            if self.tqdm is not None:
                self.bar = self.tqdm(total=total, initial=done - 1, desc=phase, unit="it", leave=True)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            if done % 10 == 0 or done == total:
                self.bar.set_postfix_str(self._text(phase, losses), refresh=False)
        elif done % self.every == 0 or done == total:
            el = time.monotonic() - self.start
            rate = (done - self.first) / el if el > 0 else 0.0
            print(f"{phase} {done}/{total}  {rate:.1f} it/s  {self._text(phase, losses)}", file=sys.stderr, flush=True)
        if done == total:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.phase = None


class TimeGAN:
    """TimeGAN on the native engine, with the options of ``timegan train`` (same names with
    underscores, same defaults, same meaning; see ``timegan train --help``).

    ``fit(data)`` trains (a DataFrame, rows [rows, d], windows [n, T, d], or a path as
    ``timegan train --data`` takes it), ``sample(n, seed=...)`` generates in the data's units,
    ``save(dir)`` / ``TimeGAN.load(dir)`` read and write the CLI's run directories.

    ``condition="COLUMN"`` (long-format data, ``fit(..., id_column=...)``) conditions the model on
    a per-sequence column, as ``timegan train --condition``; ``sample(n, condition=VALUE)`` then
    generates for chosen values (docs/conditional.md).
    """

    def __init__(self, seq_len=24, hidden_dim=24, num_layers=3, iterations=50000, batch_size=128, cell="gru",
                 preset="default", seed=0, device="cpu", threads=0, *, z_dim=0, gamma=1.0, d_threshold=0.15,
                 lr=0.001, adam="tf1", stride=1, checkpoint_every=1000, max_time=None, log_every=1000,
                 verbose=True, categorical=None, max_categories=64, missing="error", static_columns=None,
                 condition=None):
        self.seq_len = seq_len
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.iterations = iterations
        self.batch_size = batch_size
        self.cell = cell
        self.preset = preset
        self.seed = seed
        self.device = device
        self.threads = threads
        self.z_dim = z_dim
        self.gamma = gamma
        self.d_threshold = d_threshold
        self.lr = lr
        self.adam = adam
        self.stride = stride
        self.checkpoint_every = checkpoint_every
        self.max_time = max_time
        self.log_every = log_every
        self.verbose = verbose
        self.categorical = categorical
        self.max_categories = max_categories
        self.missing = missing
        self.static_columns = static_columns
        self.condition = condition
        self._dir = None  # the working run directory (a temporary one, removed with the object)
        self._data = None  # the prepared training data (kept for resuming)
        self._kind = None  # how the data came: frame, long, rows, windows, path
        self._id_column = None

    _PARAMS = ("seq_len", "hidden_dim", "num_layers", "iterations", "batch_size", "cell", "preset", "seed", "device",
               "threads", "z_dim", "gamma", "d_threshold", "lr", "adam", "stride", "checkpoint_every", "max_time",
               "log_every", "verbose", "categorical", "max_categories", "missing", "static_columns", "condition")

    # scikit-learn's estimator protocol
    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"unknown parameter '{k}'")
            setattr(self, k, v)
        return self

    def __repr__(self):
        defaults = TimeGAN().get_params()
        given = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"TimeGAN({given})"

    # ------------------------------------------------------------------ state
    def _workdir(self):
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="timegan-run-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    def _has(self, name):
        return self._dir is not None and os.path.exists(os.path.join(self._dir, name))

    @property
    def is_fitted_(self):
        """True when training has finished (summary.json written)."""
        return self._has("summary.json")

    @property
    def run_dir_(self):
        """The working run directory (temporary; save() copies it)."""
        return self._dir

    def _check_fitted(self):
        if not self._has("model.ckpt"):
            raise RuntimeError("this TimeGAN is not fitted yet: call fit(data) or TimeGAN.load(dir)")

    # ------------------------------------------------------------------ fit
    def fit(self, data=None, *, columns=None, id_column=None, static=None, callback=None, resume=None, verbose=None,
            on_checkpoint=None):
        """Trains on `data`; returns self.

        data: a pandas DataFrame (numeric columns; date/time columns are skipped as the CLI
        does; long format with ``id_column=``), an array of rows [rows, d], windows [n, T, d],
        or a path / "sine" as ``timegan train --data`` takes it.
        static: static values per sequence from a separate per-id table, as ``--static FILE``: a
        DataFrame (with DataFrame data) or a CSV path (with a CSV path as data) holding the
        id column and the static columns (``static_columns=`` selects some; default: all). Without
        it, ``static_columns=`` names columns of the long-format data that are constant within
        each sequence (``--static-columns``).
        callback(phase, iteration, losses): called after every iteration (losses: a dict);
        raising stops training with a checkpoint (KeyboardInterrupt, i.e. Ctrl-C, does the same).
        on_checkpoint(phase, iteration, run_dir): called after each periodic checkpoint (every
        ``checkpoint_every`` iterations, not the last) with the phase and the iterations done in
        it; ``run_dir`` then holds a resumable state (config.json, model.ckpt, losses.csv), which
        a copy keeps (``TimeGAN.load(copy).fit(data, resume=True)`` continues from it, bit-identical
        on the CPU); raising stops training as in callback.
        resume: None continues an interrupted fit (Ctrl-C, max_time, an exception in the
        callback) when there is one, True requires one, False starts afresh. Data may be left out
        when continuing.
        """
        verbose = self.verbose if verbose is None else verbose
        interrupted = self._has("model.ckpt") and not self._has("summary.json")
        if resume is None:
            resume = interrupted
        if resume and not interrupted:
            raise ValueError("resume=True: there is no interrupted fit to continue")
        if resume:
            if data is not None:
                prepared, kind, _ = prepare(data, columns=columns, id_column=id_column, preset=self.preset,
                                            seq_len=self.seq_len, stride=self.stride, seed=self.seed,
                                            categorical=self.categorical, max_categories=self.max_categories,
                                            missing=self.missing, static_columns=self.static_columns,
                                            static=static, condition=self.condition)
                self._data, self._kind = prepared, kind
            elif self._data is None:
                self._data = self._data_from_config()
        else:
            if data is None:
                raise ValueError("fit() needs data")
            prepared, kind, notes = prepare(data, columns=columns, id_column=id_column, preset=self.preset,
                                            seq_len=self.seq_len, stride=self.stride, seed=self.seed,
                                            verbose=verbose, categorical=self.categorical,
                                            max_categories=self.max_categories, missing=self.missing,
                                            static_columns=self.static_columns, static=static,
                                            condition=self.condition)
            if verbose:
                for line in notes:
                    print(line, file=sys.stderr)
            self._data, self._kind, self._id_column = prepared, kind, id_column
        request = {
            "dir": self._workdir(), "resume": bool(resume), "quiet": not verbose,
            "max_time": _duration(self.max_time), "threads": self.threads,
            "checkpoint_every": self.checkpoint_every,
            "model": {k: getattr(self, k) for k in ("seq_len", "hidden_dim", "num_layers", "batch_size", "iterations",
                                                    "z_dim", "gamma", "d_threshold", "lr", "adam", "cell", "seed",
                                                    "device")},
        }
        for k in ("gamma", "d_threshold", "lr"):
            request["model"][k] = float(request["model"][k])
        if resume and self.iterations != self._config()["model"]["iterations"]:
            request["iterations"] = self.iterations
        progress = _Progress(verbose, self.log_every)

        def hook(phase, done, total, iteration, losses):
            progress.update(phase, done, total, losses)
            if callback is not None:
                callback(phase, iteration, losses)

        try:
            checkpoint_hook = None if on_checkpoint is None else (
                lambda phase, iteration: on_checkpoint(phase, iteration, self._dir))
            outcome, message = _core.train(json.dumps(request), self._data, hook, checkpoint_hook)
        finally:
            progress.close()
        if outcome == "diverged":
            raise TrainingDiverged(message)
        if outcome == "time_up" and verbose:
            print(message, file=sys.stderr)
        return self

    def _config(self):
        with open(os.path.join(self._dir, "config.json")) as f:
            return json.load(f)

    def _data_from_config(self):
        opts = self._config()["data"]
        source = opts["data"]
        if source in ("DataFrame", "array"):
            raise ValueError("to continue this fit, pass the same data again: fit(data)")
        return _core.prepare_source(json.dumps(opts), True)

    # ------------------------------------------------------------------ results
    @property
    def config_(self):
        """config.json of the run, as a dict."""
        self._check_fitted()
        return self._config()

    @property
    def losses_(self):
        """losses.csv (every loss of every iteration): a DataFrame when pandas is installed, else a
        dict of arrays ("phase" holds strings, empty cells are NaN)."""
        self._check_fitted()
        path = os.path.join(self._dir, "losses.csv")
        try:
            import pandas as pd
            return pd.read_csv(path)
        except ImportError:
            pass
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        out = {"phase": np.array([r[0] for r in body])}
        for k, name in enumerate(header[1:], start=1):
            out[name] = np.array([float(r[k]) if r[k] else np.nan for r in body])
        return out

    def sample(self, n=None, seed=0, *, condition=None, conditions=None, device=None, return_static=False,
               return_conditions=False, categorical_sampling="argmax"):
        """n synthetic sequences in the data's units, as ``timegan generate --n N --seed S``:
        windows [n, T, d] (numpy), or a long DataFrame (sequence_id, t, columns...) when fitted
        on a DataFrame. Columns keep the data's order; categorical columns hold the labels
        (the most probable of the column's softmax at each step; categorical_sampling="sample"
        draws them from it, as ``generate --categorical-sampling sample``): an object DataFrame
        column, or for windows an object array [n, T, d] holding floats and labels.

        Static columns (a model fitted with ``static_columns=`` or ``static=``): the DataFrame holds
        each sequence's static values after the other columns, repeated on each of its rows (as
        the CSV of ``timegan generate``). return_static=True returns a pair (samples, static
        values [n, S] float64, in the order of ``static_columns_``), for windows and DataFrames
        alike; without static columns the array is [n, 0].

        Conditions (a model fitted with ``condition=``; docs/conditional.md): ``condition=VALUE``
        generates n sequences for that value (a label, or a number within the training range),
        ``condition=[V1, V2, ...]`` n for each value in that order (as ``generate --condition
        V1,V2``); ``conditions=[v1, v2, ...]`` one sequence per entry, in order, and then n is
        left out (as ``--condition-file``); without either, the conditions are drawn from the
        training distribution. Values are taken whole (a label may hold commas). The DataFrame
        holds each sequence's condition as a last column named as the condition (labels, or
        numbers in the data's units), as the CSV of ``timegan generate``; return_conditions=True
        adds the list of the sequences' conditions (str labels or float numbers; empty without a
        condition) as the last element of the returned tuple: (samples, conditions), or
        (samples, static values, conditions) with return_static=True. An unknown label, a number
        outside the training range or a condition for a model trained without one: ValueError."""
        self._check_fitted()
        if condition is not None and conditions is not None:
            raise ValueError("sample: give either condition= or conditions=, not both")
        values, one_each = [], False
        if conditions is not None:
            if n is not None:
                raise ValueError("sample: conditions= gives the number of sequences; n does not combine with it")
            values, one_each = [_condition_text(v) for v in _as_list(conditions, "conditions")], True
            n = len(values)
            if n == 0:
                raise ValueError("conditions: no values")
        elif condition is not None:
            values = [_condition_text(v) for v in _as_list(condition, "condition")]
            if not values:
                raise ValueError("condition: no values")
        if n is None:
            raise ValueError("sample: n (the number of sequences) is required")
        windows, lengths, columns, labels, statics, static_columns, cond_column, cond_text = _core.generate(
            self._dir, int(n), int(seed), device or self.device, categorical_sampling, values, one_each)
        cond_values = self._condition_values(cond_text) if cond_column else []
        out = self._samples(windows, lengths, columns, labels, statics, static_columns, cond_column, cond_values)
        result = (out,)
        if return_static:
            result += (statics,)
        if return_conditions:
            result += (cond_values,)
        return result if len(result) > 1 else out

    def _condition_values(self, texts):
        """Conditions as text -> labels (str) or numbers (float), in the data's units."""
        cond = self._config().get("output_map", {}).get("condition") or {}
        if cond.get("kind") == "numeric":
            return [float(t) for t in texts]
        return list(texts)

    @property
    def condition_(self):
        """The model's condition (None without): a dict with "column", "kind" ("categorical" or
        "numeric") and "labels" (with "counts": training sequences per label) or "min" and "max"
        (with "values": every training sequence's value), as config.json's output_map stores it."""
        self._check_fitted()
        return self._config().get("output_map", {}).get("condition")

    @property
    def static_columns_(self):
        """The names of the model's static columns (empty without)."""
        self._check_fitted()
        return list(self._config().get("output_map", {}).get("static", {}).get("columns", []))

    def _samples(self, windows, lengths, columns, labels, statics, static_columns, cond_column="", cond_values=()):
        cat = [k for k, l in enumerate(labels) if l]
        if self._kind in ("frame", "long"):
            import pandas as pd
            T = windows.shape[1]
            lens = np.asarray(lengths, dtype=np.int64) if lengths else np.full(len(windows), T, dtype=np.int64)
            mask = np.arange(T)[None, :] < lens[:, None]
            seq_id = np.repeat(np.arange(len(windows)), T).reshape(len(windows), T)[mask]
            t = np.tile(np.arange(T), len(windows)).reshape(len(windows), T)[mask]
            frame = pd.DataFrame(windows[mask], columns=columns)
            for k in cat:
                names = np.asarray(labels[k], dtype=object)
                frame[columns[k]] = names[frame[columns[k]].to_numpy().astype(np.int64)]
            frame.insert(0, "t", t)
            frame.insert(0, "sequence_id", seq_id)
            for k, c in enumerate(static_columns):  # each sequence's static values on each of its rows
                frame[c] = statics[seq_id, k]
            if cond_column:  # each sequence's condition on each of its rows, last (as generate's CSV)
                per_seq = np.asarray(cond_values, dtype=object if isinstance(cond_values[0], str) else np.float64)
                frame[cond_column] = per_seq[seq_id]
            return frame
        if cat:
            out = windows.astype(object)
            for k in cat:
                names = np.asarray(labels[k], dtype=object)
                out[:, :, k] = names[windows[:, :, k].astype(np.int64)]
            return out
        return windows

    def save(self, path, overwrite=False):
        """Writes the run directory (config.json, model.ckpt, losses.csv, summary.json) that
        ``timegan generate --model`` and ``TimeGAN.load`` read."""
        self._check_fitted()
        path = os.fspath(path)
        os.makedirs(path, exist_ok=True)
        lock = _core.RunLock(path, "save", True)  # its one writer, as timegan train (BlockingIOError if busy)
        try:
            present = [f for f in RUN_FILES if os.path.exists(os.path.join(path, f))]
            if present and not overwrite:
                raise FileExistsError(f"{path}: the directory already holds a run ({', '.join(present)}); "
                                      "save(..., overwrite=True) replaces it")
            # The checkpoint goes first and comes last, so that an interrupted save never leaves
            # a model.ckpt beside another run's config.json (readers also compare their run ids).
            for f in sorted(present, key=lambda f: f != "model.ckpt"):
                os.remove(os.path.join(path, f))
            for f in sorted(RUN_FILES, key=lambda f: f == "model.ckpt"):
                src = os.path.join(self._dir, f)
                if os.path.exists(src):
                    tmp = os.path.join(path, f"{f}.tmp.{os.getpid()}.0")
                    shutil.copy2(src, tmp)
                    os.replace(tmp, os.path.join(path, f))
        finally:
            lock.release()
        return path

    @classmethod
    def load(cls, path, **overrides):
        """A TimeGAN from a run directory of ``timegan train`` or ``save``."""
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"{path}: no such run directory")
        for f in ("config.json", "model.ckpt"):
            if not os.path.exists(os.path.join(path, f)):
                raise FileNotFoundError(f"{path}: not a timegan run directory (no {f})")
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        m, d = cfg.get("model", {}), cfg.get("data", {})
        params = dict(seq_len=m.get("seq_len", 24), hidden_dim=m.get("hidden_dim", 24),
                      num_layers=m.get("num_layers", 3), iterations=m.get("iterations", 50000),
                      batch_size=m.get("batch_size", 128), cell=m.get("cell", "gru"),
                      preset=d.get("preset", "default"), seed=m.get("seed", 0), device=m.get("device", "cpu"),
                      stride=d.get("stride", 1), gamma=m.get("gamma", 1.0), d_threshold=m.get("d_threshold", 0.15),
                      lr=m.get("adam", {}).get("lr", 0.001), adam=m.get("adam", {}).get("form", "tf1"),
                      z_dim=m.get("z_dim", 0) if m.get("z_dim") != m.get("features") else 0,
                      checkpoint_every=cfg.get("train", {}).get("checkpoint_every", 1000),
                      categorical=d.get("categorical") or None, max_categories=d.get("max_categories", 64),
                      missing=d.get("missing", "error"), static_columns=d.get("static_columns") or None,
                      condition=d.get("condition") or None)
        params = {k: v for k, v in params.items() if k in cls._PARAMS}
        params.update(overrides)
        model = cls(**params)
        copy_run_files(path, model._workdir())
        # A run fitted on a DataFrame samples DataFrames again; any other run samples windows.
        model._kind = ("long" if d.get("id_column") else "frame") if d.get("data") == "DataFrame" else "windows"
        return model
