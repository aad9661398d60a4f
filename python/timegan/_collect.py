"""timegan.collect: the scores of many runs in one table (for runs trained apart, e.g. a batch
cluster's job array; README "Sweeps"). ``python -m timegan collect runs/*/report --csv t.csv
--markdown t.md`` does the same from a shell."""

from __future__ import annotations

import json
import math
import os

from ._evaluate import scores

# config.json's model options shown per run, in this order.
_OPTIONS = ("seq_len", "hidden_dim", "num_layers", "batch_size", "iterations", "cell", "seed", "lr")


def _find(path):
    """(metrics.json, the run directory or None) for a report folder, a run directory holding
    report/ or metrics.json, or a metrics.json file."""
    p = os.fspath(path)
    if os.path.isfile(p):
        metrics = p
    elif os.path.isfile(os.path.join(p, "metrics.json")):
        metrics = os.path.join(p, "metrics.json")
    elif os.path.isfile(os.path.join(p, "report", "metrics.json")):
        metrics = os.path.join(p, "report", "metrics.json")
    else:
        raise FileNotFoundError(f"{p}: no metrics.json (expected a report folder of timegan evaluate, a run "
                                "directory holding report/, or a metrics.json file)")
    here = os.path.dirname(os.path.abspath(metrics))
    for d in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(d, "config.json")):
            return metrics, d
    return metrics, None


def _row(path):
    metrics, run = _find(path)
    with open(metrics) as f:
        try:
            m = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{metrics}: line {e.lineno}: not JSON ({e.msg})") from None
    try:
        row = {"run": os.fspath(path)}
        cfg = {}
        if run is not None:
            with open(os.path.join(run, "config.json")) as f:
                cfg = json.load(f).get("model", {})
        for k in _OPTIONS:
            v = cfg.get(k)
            if k == "lr":
                v = cfg.get("adam", {}).get("lr")
            row[k] = v
        row.update(scores(m))
        row["repeats"] = m["settings"]["repeats"]
    except KeyError as e:
        raise ValueError(f"{metrics}: not a metrics.json of timegan evaluate (no field {e})") from None
    except TypeError:
        raise ValueError(f"{metrics}: not a metrics.json of timegan evaluate (a field of another type)") from None
    seconds = math.nan
    if run is not None and os.path.isfile(os.path.join(run, "summary.json")):
        with open(os.path.join(run, "summary.json")) as f:
            seconds = json.load(f).get("total_seconds", math.nan)
    row["train_seconds"] = seconds
    return row


def collect(paths, sort_by="discriminative"):
    """A DataFrame (a list of dicts without pandas) with a row per run: its path, its model options
    (from config.json beside the report or one folder up), its scores (metrics.json) and its
    training time (summary.json), sorted by ``sort_by`` (None keeps the order given)."""
    rows = [_row(p) for p in paths]
    if not rows:
        raise ValueError("collect: no runs given")
    if sort_by is not None:
        if sort_by not in rows[0]:
            raise ValueError(f"sort_by: no column '{sort_by}'")
        rows.sort(key=lambda r: (r[sort_by] is None or (isinstance(r[sort_by], float) and math.isnan(r[sort_by])),
                                 r[sort_by] if r[sort_by] is not None else 0))
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)


def markdown(rows):
    """A Markdown table of collect()'s rows (a DataFrame or a list of dicts)."""
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    cols = list(rows[0])

    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv):
    import argparse
    import csv
    import sys

    ap = argparse.ArgumentParser(prog="python -m timegan collect",
                                 description="the scores of many runs (report folders or run directories) in one "
                                             "table: CSV and Markdown")
    ap.add_argument("runs", nargs="+", help="report folders (metrics.json), run directories holding report/, or "
                                            "metrics.json files")
    ap.add_argument("--csv", help="write the table as CSV here")
    ap.add_argument("--markdown", help="write the table as Markdown here")
    ap.add_argument("--sort-by", default="discriminative", help="the column to sort by (default discriminative)")
    a = ap.parse_args(argv)
    try:
        rows = collect(a.runs, sort_by=a.sort_by)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(records[0]))
            w.writeheader()
            w.writerows(records)
    text = markdown(records)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    if not a.csv and not a.markdown:
        sys.stdout.write(text)
    return 0
