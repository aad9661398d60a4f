"""timegan.evaluate: the scores, distances and report of ``timegan evaluate``."""

from __future__ import annotations

import html as _html
import json
import os

import numpy as np

from . import _core
from ._data import _is_dataframe, prepare


class Evaluation(dict):
    """The metrics (the content of metrics.json) as a dict; ``.html`` holds the report, which a
    notebook displays inline; ``.report_path`` where it was written (or None)."""

    def __init__(self, metrics, html, report_path=None):
        super().__init__(metrics)
        self.html = html
        self.report_path = report_path

    def _repr_html_(self):
        # The report is one self-contained page (inline CSS and SVG, no scripts): shown in an
        # isolated frame so that its styles stay its own.
        return ('<iframe srcdoc="' + _html.escape(self.html, quote=True) +
                '" style="width:100%;height:900px;border:1px solid #ccc"></iframe>')

    def scores(self):
        """The scores as flat numbers (sweep and collect tables): scores(metrics) of this."""
        return scores(self)

    def summary(self):
        """The headline numbers, as ``timegan evaluate`` prints them."""
        return {"discriminative": (self["discriminative"]["mean"], self["discriminative"]["std"]),
                "predictive": (self["predictive"]["mean"], self["predictive"]["std"]),
                "predictive_real_on_real": self["predictive"]["real_on_real"],
                "wasserstein1": self["wasserstein1"]["mean"], "acf_difference": self["acf_difference"],
                "xcorr_difference": self["xcorr_difference"]["mean_abs"], "mmd2": self["mmd"]["mmd2"]}


# The flat scores of a metrics.json (lower is better for all): name -> its path in metrics.json.
SCORE_FIELDS = {"discriminative": ("discriminative", "mean"), "discriminative_std": ("discriminative", "std"),
                "predictive": ("predictive", "mean"), "predictive_std": ("predictive", "std"),
                "predictive_real_on_real": ("predictive", "real_on_real"), "mmd2": ("mmd", "mmd2"),
                "wasserstein1": ("wasserstein1", "mean"), "acf_difference": ("acf_difference",),
                "xcorr_difference": ("xcorr_difference", "mean_abs")}


def scores(metrics):
    """{score: number} from metrics.json's content (KeyError naming a missing field)."""
    out = {}
    for name, path in SCORE_FIELDS.items():
        v = metrics
        for k in path:
            v = v[k]
        out[name] = v
    return out


def _codes(values, name, labels):
    """Labels -> their indices in the real data's labels (ValueError naming an unknown one)."""
    index = {l: float(k) for k, l in enumerate(labels)}
    out = np.empty(values.shape, dtype=np.float64)
    flat, res = values.reshape(-1), out.reshape(-1)
    for i, v in enumerate(flat):
        key = str(v).strip()
        if key not in index:
            raise ValueError(f"synthetic data: column '{name}': label '{key}' does not occur in the real data")
        res[i] = index[key]
    return out


def _synthetic_windows(synthetic, real_data):
    """Synthetic data in the data's units as (windows [n, T, d] (float64, C order), static values
    [n, S] or None, conditions (text, one per sequence) or None); categorical columns (labels)
    become indices into the real data's labels. The real data's static columns and condition are
    read from a DataFrame (each sequence's first row), or given beside windows as a tuple as
    sample(return_static=True, return_conditions=True) returns it: (windows, static values),
    (windows, conditions) or (windows, static values, conditions)."""
    from ._model import _condition_text

    statics = real_data.static_columns
    cond_col = real_data.condition_column
    if isinstance(synthetic, tuple):
        if len(synthetic) not in (2, 3) or (len(synthetic) == 3 and not (statics and cond_col)):
            raise ValueError("synthetic data: a pair (samples, static values [n, S]) or (samples, conditions), or a "
                             "triple (samples, static values, conditions) expected")
        windows, _, _ = _synthetic_windows(synthetic[0], real_data)
        conds = None
        if len(synthetic) == 3 or (cond_col and not statics):
            conds = [_condition_text(v) for v in synthetic[-1]]
            if len(conds) != windows.shape[0]:
                raise ValueError(f"synthetic conditions: expected {windows.shape[0]} (one per sequence), got {len(conds)}")
        if len(synthetic) == 2 and conds is not None:
            return windows, None, conds
        sv = np.ascontiguousarray(np.asarray(synthetic[1], dtype=np.float64))
        if sv.ndim != 2 or sv.shape[0] != windows.shape[0] or sv.shape[1] != len(statics):
            raise ValueError(f"synthetic static values: expected shape ({windows.shape[0]}, {len(statics)}) for the "
                             f"real data's static columns, got {sv.shape}")
        return windows, (sv if statics else None), conds
    cats = dict(real_data.categorical)
    if _is_dataframe(synthetic):
        cols = [str(c) for c in synthetic.columns]
        if "sequence_id" not in cols:
            raise ValueError("synthetic DataFrame: expected the long format sample() returns (sequence_id, t, columns...)")
        for c in statics:
            if c not in cols:
                raise ValueError(f"synthetic DataFrame: no static column '{c}' (the real data have it)")
        skip = {"sequence_id", "t", *statics, *([real_data.condition_column] if real_data.condition_column else [])}
        value_cols = [c for c in synthetic.columns if str(c) not in skip]
        order = real_data.data_columns
        if cats and sorted(map(str, value_cols)) == sorted(order):  # by name, in the data's order
            value_cols = [synthetic.columns[cols.index(c)] for c in order]
        T = real_data.seq_len
        groups = [g for _, g in synthetic.groupby("sequence_id", sort=False)]
        out = np.zeros((len(groups), T, len(value_cols)))
        sv = np.zeros((len(groups), len(statics)))
        conds = None
        if cond_col and cond_col in cols:
            conds = [_condition_text(g[synthetic.columns[cols.index(cond_col)]].iloc[0]) for g in groups]
        static_cols = [synthetic.columns[cols.index(c)] for c in statics]
        for i, g in enumerate(groups):
            if static_cols:
                sv[i] = g[static_cols].iloc[0].to_numpy(dtype=np.float64)
            g = g[value_cols].copy()
            for c in value_cols:
                if str(c) in cats:
                    g[c] = _codes(g[c].to_numpy(dtype=object), str(c), cats[str(c)])
            v = g.to_numpy(dtype=np.float64)
            if len(v) > T:
                raise ValueError(f"synthetic DataFrame: sequence {g['sequence_id'].iloc[0]!r} has {len(v)} steps, "
                                 f"more than the real windows' {T}")
            out[i, :len(v)] = v
        return out, (sv if statics else None), conds
    arr = np.asarray(synthetic)
    if arr.dtype.kind == "O" and cats and arr.ndim == 3:  # windows from sample(): labels in the data's order
        names = real_data.data_columns
        if arr.shape[2] != len(names):
            raise ValueError(f"synthetic data: {arr.shape[2]} columns, the real data have {len(names)} "
                             f"({', '.join(names)})")
        out = np.empty(arr.shape, dtype=np.float64)
        for k, name in enumerate(names):
            out[:, :, k] = _codes(arr[:, :, k], name, cats[name]) if name in cats else arr[:, :, k].astype(np.float64)
        return np.ascontiguousarray(out), None, None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"synthetic data must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"synthetic data must be windows [n, T, d], got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64), None, None


def evaluate(real, synthetic, repeats=10, *, metric_iterations=2000, tsne_iterations=300, seed=0, device="cpu",
             threads=0, report=None, columns=None, id_column=None, preset=None, seq_len=None, stride=None,
             verbose=False, categorical=None, max_categories=None, missing=None, static_columns=None, static=None,
             condition=None):
    """Scores `synthetic` against `real` as ``timegan evaluate`` does and returns the metrics
    (metrics.json's content) as a dict-like Evaluation that displays the HTML report in a notebook.

    real: what fit() takes (a DataFrame, rows, windows, or a path / "sine"), prepared with the data
    options given here.
    synthetic: windows [n, T, d] or the DataFrame sample() returns, in the data's units; a path to a
    CSV / NPY file as ``timegan generate`` writes it; or a fitted TimeGAN, which generates as many
    sequences as the real set (``--model``; the report then shows its loss curves).
    report: a directory for report.html and metrics.json, or a file name ending in .html.
    preset, seq_len, stride, categorical, max_categories: the real data's preparation; by default
    a fitted model's own, else the synthetic windows' length and the CLI's defaults (default, 24,
    1, none beyond the columns of labels, 64).
    missing: "mask" keeps missing cells of the real data (the scores then use only the real windows
    without any; metrics["missing"] has the counts); by default a fitted model's own, else "error".
    static_columns, static: the real data's static columns, as fit() takes them (by default a fitted
    model's own; a model fitted with a static DataFrame needs static= again). With static columns,
    metrics["static"] compares each one's distribution, real against synthetic (as ``timegan
    evaluate``): read from a synthetic DataFrame or CSV file (repeated on each row), from a pair
    (windows, static values [n, S]) as sample(return_static=True) returns, or generated by a model.
    condition: the real data's condition column (long format; by default a conditional model's own).
    With a conditional model, which then generates one sequence for each real sequence's own
    condition, or a synthetic CSV file holding the condition column (as ``timegan generate`` writes
    it), metrics["conditions"] holds the scores per condition group, as ``timegan evaluate``
    (docs/conditional.md).
    """
    from ._model import TimeGAN

    if isinstance(synthetic, TimeGAN):
        synthetic._check_fitted()
        d = synthetic.config_["data"]
        preset = d["preset"] if preset is None else preset
        stride = d["stride"] if stride is None else stride
        categorical = d.get("categorical") or None if categorical is None else categorical
        max_categories = d.get("max_categories", 64) if max_categories is None else max_categories
        missing = d.get("missing", "error") if missing is None else missing
        seq_len = synthetic.config_["model"]["seq_len"] if seq_len is None and not d["id_column"] else seq_len
        if id_column is None and d["id_column"] and (_is_dataframe(real) or isinstance(real, (str, os.PathLike))):
            id_column = d["id_column"]
        if condition is None and d.get("condition") and (_is_dataframe(real) or isinstance(real, (str, os.PathLike))):
            condition = d["condition"]
        if static_columns is None and static is None:
            static_columns = d.get("static_columns") or None
            if d.get("static_file") and d["static_file"] != "DataFrame" and isinstance(real, (str, os.PathLike)):
                static = d["static_file"]
    elif (seq_len is None and not isinstance(synthetic, (str, os.PathLike)) and not _is_dataframe(synthetic)
          and not (isinstance(synthetic, tuple) and synthetic and _is_dataframe(synthetic[0]))):
        shape = np.shape(synthetic[0] if isinstance(synthetic, tuple) else synthetic)
        if len(shape) == 3 and id_column is None:
            seq_len = shape[1]
    if seq_len is None:
        seq_len = 0 if id_column is not None else 24
    preset = "default" if preset is None else preset
    stride = 1 if stride is None else stride

    max_categories = 64 if max_categories is None else max_categories
    missing = "error" if missing is None else missing
    real_data, _, _ = prepare(real, columns=columns, id_column=id_column, preset=preset, seq_len=seq_len,
                              categorical=categorical, max_categories=max_categories, missing=missing,
                              stride=stride, seed=seed, verbose=verbose, static_columns=static_columns,
                              static=static, condition=condition)
    request = {"model_dir": "", "synthetic_file": "", "synthetic_name": "", "repeats": repeats,
               "metric_iterations": metric_iterations, "tsne_iterations": tsne_iterations, "seed": seed,
               "device": device, "quiet": not verbose, "threads": threads}
    syn = syn_static = syn_conditions = None
    if isinstance(synthetic, TimeGAN):
        synthetic._check_fitted()
        request["model_dir"] = synthetic.run_dir_
    elif isinstance(synthetic, (str, os.PathLike)):
        path = os.fspath(synthetic)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: cannot open: No such file or directory")
        request["synthetic_file"] = path
    else:
        syn, syn_static, syn_conditions = _synthetic_windows(synthetic, real_data)
        request["synthetic_name"] = "synthetic array"
    report_dir, html_file = "", None
    if report is not None:
        report = os.fspath(report)
        if report.endswith(".html"):
            html_file = report
        else:
            report_dir = report
    metrics, html = _core.evaluate(json.dumps(request), real_data, syn, report_dir, syn_static, syn_conditions)
    if html_file is not None:
        parent = os.path.dirname(os.path.abspath(html_file))
        os.makedirs(parent, exist_ok=True)
        with open(html_file, "w") as f:
            f.write(html)
    path = os.path.join(report_dir, "report.html") if report_dir else html_file
    return Evaluation(json.loads(metrics), html, path)
