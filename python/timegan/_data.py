"""Data in memory (pandas DataFrames, 2-D rows, 3-D windows) or a path, prepared by the engine
exactly as ``timegan train --data`` prepares a CSV or an NPY file."""

from __future__ import annotations

import json
import os

import numpy as np

from . import _core

_DATE_NAMES = {"date", "time", "timestamp", "datetime"}


def _is_dataframe(x) -> bool:
    return type(x).__module__.startswith("pandas") and type(x).__name__ == "DataFrame"


def _names(x):
    """A list of column names from a list or a comma-separated string (None: empty)."""
    if x is None:
        return []
    if isinstance(x, str):
        return [c.strip() for c in x.split(",") if c.strip()]
    return [str(c) for c in x]


def data_options(source: str, *, columns=None, id_column=None, preset="default", seq_len=24, stride=1,
                 sine_n=10000, sine_dim=5, seed=0, categorical=None, max_categories=64, missing="error",
                 static_columns=None, static_file=None, condition=None) -> dict:
    """The data options as config.json stores them ("data"), with the CLI's names."""
    if columns is not None and not isinstance(columns, str):
        columns = ",".join(str(c) for c in columns)
    opts = {"data": source, "columns": (columns or "").replace(" ", "") if isinstance(columns, str) else "",
            "id_column": id_column or "", "categorical": ",".join(_names(categorical)),
            "max_categories": max_categories, "missing": missing, "preset": preset, "seq_len": seq_len, "stride": stride,
            "sine_n": sine_n, "sine_dim": sine_dim, "seed": seed,
            "static_columns": ",".join(_names(static_columns)), "static_file": static_file or "",
            "condition": _condition_name(condition)}
    return json.loads(_core.data_options(json.dumps(opts)))


def _condition_name(condition):
    """The condition column's name ("" without): one column, named by a string."""
    if condition is None:
        return ""
    if not isinstance(condition, str) or not condition:
        raise ValueError(f"condition: expected the name of one column, got {condition!r}")
    return condition


def _is_categorical_dtype(s) -> bool:
    """object (text), pandas category, string and bool columns hold labels."""
    kind = s.dtype.kind
    return kind in "OUSb" or str(s.dtype) in ("category", "string")


def _encode_labels(s, name, max_categories, empty_ok=False):
    """(label indices float64, sorted labels) of a column of labels, as the CSV reader numbers them.
    empty_ok: empty cells become NaN (the condition column: the engine refuses them naming the line)."""
    values = s.tolist()
    empty = [v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()) for v in values]
    for r, e in enumerate(empty):
        if e and not empty_ok:
            raise ValueError(f"DataFrame: row {r}: column '{name}': empty field")
    text = [None if e else str(v).strip() for v, e in zip(values, empty)]
    seen = []
    index = {}
    for r, v in enumerate(text):
        if v is not None and v not in index:
            if len(index) >= max_categories:
                raise ValueError(f"DataFrame: row {r}: column '{name}': more than {max_categories} categories "
                                 f"(label {v!r}; the limit is max_categories)")
            index[v] = len(index)
            seen.append(v)
    labels = sorted(seen)
    code = {v: float(k) for k, v in enumerate(labels)}
    return np.array([np.nan if v is None else code[v] for v in text], dtype=np.float64), labels


def _static_frame(static, id_column, static_columns):
    """(values [ids, S] float64, static column names, ids) of a per-id DataFrame of static values
    (as ``--static FILE``): the id column and numeric static columns (`static_columns` selects
    some; default: every other column), a value in every cell."""
    if id_column is None:
        raise ValueError("static DataFrame: static values need long format (id_column=): one row per sequence id")
    names = [str(c) for c in static.columns]
    if len(set(names)) != len(names):
        raise ValueError("static DataFrame: column names must be unique")
    if id_column not in names:
        raise ValueError(f"static DataFrame: unknown id column '{id_column}' (columns: {', '.join(names)})")
    chosen = _names(static_columns) or [c for c in names if c != id_column]
    if not chosen:
        raise ValueError("static DataFrame: no static columns besides the id column")
    values = np.empty((len(static), len(chosen)), dtype=np.float64)
    for k, c in enumerate(chosen):
        if c not in names:
            raise ValueError(f"static DataFrame: unknown static column '{c}' (columns: {', '.join(names)})")
        if c == id_column:
            raise ValueError(f"static DataFrame: column '{c}' is the id column and cannot be static")
        s = static[static.columns[names.index(c)]]
        if s.dtype.kind not in "iuf":
            raise ValueError(f"static DataFrame: column '{c}': not numeric (dtype {s.dtype}); static values must be numbers")
        values[:, k] = s.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(values[:, k]))
        if len(bad):
            raise ValueError(f"static DataFrame: row {bad[0]}: column '{c}': empty field")
    idcol = static[static.columns[names.index(id_column)]]
    if idcol.isna().any():
        raise ValueError(f"static DataFrame: id column '{id_column}' has missing values")
    return np.ascontiguousarray(values), chosen, [str(v) for v in idcol.tolist()]


def _frame_table(df, columns, id_column, categorical=None, max_categories=64, static_columns=None, condition=None):
    """(values [rows, d] float64, column names, ids or None, skipped date columns, labels per
    column, columns found categorical) of a DataFrame, choosing columns as the CSV reader does:
    numeric columns, date/time columns skipped, columns of labels (object, category, string,
    bool dtypes, and those named in `categorical`) categorical."""
    forced = _names(categorical)
    statics = _names(static_columns)
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise ValueError("DataFrame: column names must be unique")
    # Static columns, checked as the CSV reader checks them (constancy within a sequence and
    # empty cells are checked by the engine, naming the row's line as in the frame's CSV).
    for c in statics:
        if c not in names:
            raise ValueError(f"DataFrame: unknown static column '{c}' (available: {', '.join(names)})")
        if c == id_column:
            raise ValueError(f"DataFrame: column '{c}' is the id column and cannot be static")
        if id_column is None:
            raise ValueError(f"DataFrame: static column '{c}' needs long format (id_column=): a static value "
                             "belongs to one sequence")
        if statics.count(c) > 1:
            raise ValueError(f"DataFrame: static column '{c}' named twice")
        if df[df.columns[names.index(c)]].dtype.kind not in "iuf" or c in forced:
            raise ValueError(f"DataFrame: static column '{c}' is not numeric (static columns must be numbers)")
    if condition is not None:  # checked as load_data checks it (the engine checks the values)
        if condition not in names:
            raise ValueError(f"DataFrame: unknown condition column '{condition}' (available: {', '.join(names)})")
        if condition == id_column:
            raise ValueError(f"DataFrame: column '{condition}' is the id column and cannot be the condition")
        if condition in statics:
            raise ValueError(f"condition: '{condition}' is also a static column; a condition is an input, not generated")
    if id_column is not None and id_column not in names:
        raise ValueError(f"DataFrame: unknown id column '{id_column}' (columns: {', '.join(names)})")
    ids = None
    if id_column is not None:
        idcol = df[df.columns[names.index(id_column)]]
        if idcol.isna().any():
            raise ValueError(f"DataFrame: id column '{id_column}' has missing values")
        ids = [str(v) for v in idcol.tolist()]
    for c in forced:
        if c not in names:
            raise ValueError(f"DataFrame: unknown categorical column '{c}' (columns: {', '.join(names)})")
        if c == id_column:
            raise ValueError(f"DataFrame: column '{c}' is the id column and cannot be categorical")
    skipped = []
    if columns is not None:
        if isinstance(columns, str):
            columns = [c for c in columns.replace(" ", "").split(",") if c]
        chosen = [str(c) for c in columns]
        chosen += [c for c in statics if c not in chosen]  # read beside the chosen columns, as the CLI does
        if condition is not None and condition not in chosen:
            chosen.append(condition)
        for c in chosen:
            if c not in names:
                raise ValueError(f"DataFrame: unknown column '{c}' (columns: {', '.join(names)})")
    else:
        chosen = []
        for name, col in zip(names, df.columns):
            if name == id_column:
                continue
            s = df[col]
            kind = s.dtype.kind
            if kind in "iuf" or name in forced or name == condition:
                chosen.append(name)
            elif kind == "M" or name.strip().lower() in _DATE_NAMES:
                skipped.append(name)
            elif kind == "O" and len(s) and isinstance(s.iloc[0], str) and _core.looks_like_date(s.iloc[0]):
                skipped.append(name)
            elif _is_categorical_dtype(s):
                chosen.append(name)
            else:
                raise ValueError(f"DataFrame: column '{name}': not numeric (dtype {s.dtype}); "
                                 "choose the columns with columns=[...]")
    for c in forced:
        if c not in chosen:
            raise ValueError(f"DataFrame: categorical column '{c}' is not among the selected columns")
    if not chosen:
        raise ValueError("DataFrame: no numeric columns")
    frame = df[[df.columns[names.index(c)] for c in chosen]]
    values = np.empty((len(frame), len(chosen)), dtype=np.float64)
    labels = [[] for _ in chosen]
    found = []
    for k, c in enumerate(chosen):
        s = frame[c]
        if c in forced or _is_categorical_dtype(s):
            values[:, k], labels[k] = _encode_labels(s, c, max_categories, empty_ok=c == condition)
            if c not in forced and c != condition:  # the condition column is no feature: no note
                found.append(c)
        elif s.dtype.kind in "iuf":
            values[:, k] = s.to_numpy(dtype=np.float64)
        else:
            raise ValueError(f"DataFrame: column '{c}': not numeric (dtype {s.dtype})")
    return np.ascontiguousarray(values), chosen, ids, skipped, labels, found


def prepare(data, *, columns=None, id_column=None, preset="default", seq_len=24, stride=1, seed=0,
            verbose=False, categorical=None, max_categories=64, missing="error", static_columns=None, static=None,
            condition=None):
    """Prepares `data` for training or evaluation. Returns (_core.Data, kind, notes); kind is
    "frame", "long", "rows", "windows" or "path"; notes: lines for stderr (skipped date
    columns, columns read as categorical). missing="mask" keeps NaN (and None) cells of numeric columns as
    missing values; "error" refuses them naming the column and row.
    static_columns: columns of a long-format DataFrame / CSV (id_column=) constant within each
    sequence, or with `static` the columns of that per-id table to use (default: all).
    static: a per-id DataFrame (with a CSV path: a per-id CSV path, as ``--static FILE``) of
    static values.
    condition: a column of long-format data (id_column=), constant within each sequence, that the
    model is conditioned on (as ``--condition``)."""
    condition = _condition_name(condition) or None
    common = dict(preset=preset, seq_len=seq_len, stride=stride, seed=seed, categorical=categorical,
                  max_categories=max_categories, missing=missing)
    static_frame = static is not None and _is_dataframe(static)
    if static is not None and not static_frame and not isinstance(static, (str, os.PathLike)):
        raise ValueError("static= takes a DataFrame of static values per id or the path of such a CSV")
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if path != "sine" and not os.path.exists(path):
            raise FileNotFoundError(f"{path}: cannot open: No such file or directory")
        if static_frame:
            raise ValueError("static= a DataFrame applies to DataFrame data; with a CSV file give the static CSV's path")
        if static is not None and not os.path.exists(os.fspath(static)):
            raise FileNotFoundError(f"{os.fspath(static)}: cannot open: No such file or directory")
        opts = data_options(path, columns=columns, id_column=id_column, static_columns=static_columns,
                            static_file=os.fspath(static) if static is not None else None, condition=condition,
                            **common)
        return _core.prepare_source(json.dumps(opts), not verbose), "path", []
    if _is_dataframe(data):
        if static is not None and not static_frame:
            raise ValueError("static= a path applies to a CSV path as data; with a DataFrame give a DataFrame")
        values, names, ids, skipped, labels, found = _frame_table(
            data, columns, id_column, categorical, max_categories, None if static_frame else static_columns, condition)
        inline = ([] if static_frame else _names(static_columns)) + ([condition] if condition else [])
        opts = data_options("DataFrame", columns=[c for c in names if c not in inline], id_column=id_column,
                            static_columns=static_columns, static_file="DataFrame" if static_frame else None,
                            condition=condition, **common)
        if static_frame:
            svalues, snames, sids = _static_frame(static, id_column, static_columns)
            d = _core.prepare_table(values, names, ids, json.dumps(opts), labels, svalues, snames, sids)
        else:
            d = _core.prepare_table(values, names, ids, json.dumps(opts), labels)
        notes = [f"note: skipping date/time column '{s}'" for s in skipped]
        notes += [f"note: column '{c}' is not numeric: read as categorical ({len(labels[names.index(c)])} labels)"
                  for c in found]
        return d, ("long" if id_column is not None else "frame"), notes
    if id_column is not None:
        raise ValueError("id_column= applies to a DataFrame")
    if static is not None or _names(static_columns):
        raise ValueError("static values apply to long-format data: a DataFrame or a CSV file with id_column=")
    if condition:
        raise ValueError("condition: applies to long-format data (a DataFrame or a CSV file with id_column=); "
                         "arrays have no per-sequence columns")
    if _names(categorical):
        raise ValueError("categorical= applies to a DataFrame or a CSV file")
    arr = np.asarray(data)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"array data must be numeric, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)  # no copy when already C-ordered float64
    if arr.ndim == 2:
        if columns is not None:
            raise ValueError("columns= applies to a DataFrame or a CSV file")
        names = [f"feature_{k + 1}" for k in range(arr.shape[1])]
        opts = data_options("array", **common)
        return _core.prepare_table(arr, names, None, json.dumps(opts)), "rows", []
    if arr.ndim == 3:
        if columns is not None:
            raise ValueError("columns= applies to a DataFrame or a CSV file")
        opts = data_options("array", **common)
        return _core.prepare_windows(arr, json.dumps(opts)), "windows", []
    raise ValueError(f"array data must be rows [rows, d] or windows [n, T, d], got shape {arr.shape}")
