"""Static columns in Python: TimeGAN(static_columns=...) on long DataFrames and CSV paths, a
per-id static table (fit(..., static=...)), sample() with the static values, save/load, evaluate,
resume, the CLI's errors, and byte-identical results through Python and the command line."""
import json

import numpy as np
import pytest

import timegan
from conftest import CLI_TINY_LONG as CLI_TINY, LONG, TINY

pd = pytest.importorskip("pandas")


def long_frame(n=12, T=6, seed=3):
    """id, two temporal columns, and two static columns: level (10 or 30) and size (1..3)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = 0.8 if i % 2 else 0.2
        for t in range(T):
            rows.append((f"s{i}", base + 0.05 * np.sin(t + i) + 0.01 * rng.normal(), 5 + t + rng.normal(),
                         30 if i % 2 else 10, 1 + i % 3))
    return pd.DataFrame(rows, columns=["id", "value", "other", "level", "size"])


def same_static(a, b):
    """Static sections equal up to rounding (values through the data's units and back)."""
    assert a.keys() == b.keys()
    for c in a:
        assert a[c] == pytest.approx(b[c], rel=1e-12), c


def static_part(df):
    return df[["id", "level", "size"]].drop_duplicates("id").reset_index(drop=True)


def temporal_part(df):
    return df[["id", "value", "other"]]


def test_sample_returns_the_static_values_beside_each_sequence():
    m = timegan.TimeGAN(**LONG, static_columns=["level", "size"]).fit(long_frame(), id_column="id")
    assert m.static_columns_ == ["level", "size"]
    assert m.config_["model"]["static_features"] == 2
    s = m.sample(5, seed=2)
    assert list(s.columns) == ["sequence_id", "t", "value", "other", "level", "size"]
    # constant within each sequence, in the data's range
    per_seq = s.groupby("sequence_id")[["level", "size"]].nunique()
    assert (per_seq == 1).all().all()
    assert s["level"].between(10, 30).all() and s["size"].between(1, 3).all()
    frame, statics = m.sample(5, seed=2, return_static=True)
    pd.testing.assert_frame_equal(frame, s)
    assert statics.shape == (5, 2) and statics.dtype == np.float64
    np.testing.assert_array_equal(s.groupby("sequence_id")[["level", "size"]].first().to_numpy(), statics)
    # without static columns: an empty [n, 0] array
    plain = timegan.TimeGAN(**LONG).fit(temporal_part(long_frame()), id_column="id")
    assert plain.sample(3, return_static=True)[1].shape == (3, 0)
    assert plain.static_columns_ == []


def test_windows_output_returns_the_static_values_with_return_static(tmp_path):
    long_frame().to_csv(tmp_path / "s.csv", index=False)
    m = timegan.TimeGAN(**LONG, static_columns="level,size").fit(str(tmp_path / "s.csv"), id_column="id")
    w = m.sample(4, seed=1)
    assert w.shape == (4, 6, 2)
    w2, st = m.sample(4, seed=1, return_static=True)
    np.testing.assert_array_equal(w, w2)
    assert st.shape == (4, 2)


def test_static_columns_errors_are_the_clis_one_line_messages():
    df = long_frame()
    df.loc[2, "level"] = 11  # row 2 = line 4 of the frame's CSV, inside sequence s0
    with pytest.raises(ValueError) as e:
        timegan.TimeGAN(**LONG, static_columns=["level"]).fit(df, id_column="id")
    assert str(e.value) == ("DataFrame:4: static column 'level': value 11 differs from 10 earlier in sequence 's0' "
                            "(a static value is constant within a sequence)")
    with pytest.raises(ValueError, match="unknown static column 'nope'"):
        timegan.TimeGAN(**LONG, static_columns=["nope"]).fit(long_frame(), id_column="id")
    with pytest.raises(ValueError, match="static column 'level' needs long format"):
        timegan.TimeGAN(**TINY, static_columns=["level"]).fit(long_frame().drop(columns="id"))
    labels = long_frame()
    labels["level"] = labels["level"].map({10: "low", 30: "high"})
    with pytest.raises(ValueError, match="static column 'level' is not numeric"):
        timegan.TimeGAN(**LONG, static_columns=["level"]).fit(labels, id_column="id")
    empty = long_frame()
    empty.loc[7, "size"] = np.nan
    with pytest.raises(ValueError, match=r"DataFrame:9: static column 'size': empty field"):
        timegan.TimeGAN(**LONG, static_columns=["size"]).fit(empty, id_column="id")
    with pytest.raises(ValueError, match="static values apply to long-format data"):
        timegan.TimeGAN(**TINY, static_columns=["a"]).fit(np.zeros((10, 2)))


def test_save_load_round_trip(tmp_path):
    m = timegan.TimeGAN(**LONG, static_columns=["level", "size"]).fit(long_frame(), id_column="id")
    m.save(tmp_path / "run")
    back = timegan.TimeGAN.load(tmp_path / "run")
    assert back.static_columns == "level,size"
    pd.testing.assert_frame_equal(back.sample(6, seed=5), m.sample(6, seed=5))
    a, sa = back.sample(6, seed=5, return_static=True)
    np.testing.assert_array_equal(sa, m.sample(6, seed=5, return_static=True)[1])


def test_static_table_equals_the_static_columns_of_the_long_frame():
    df = long_frame()
    inline = timegan.TimeGAN(**LONG, static_columns=["level", "size"]).fit(df, id_column="id")
    joined = timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=static_part(df))
    pd.testing.assert_frame_equal(joined.sample(5, seed=1), inline.sample(5, seed=1))
    assert joined.config_["data"]["static_file"] == "DataFrame"
    assert joined.config_["static_fingerprint"] == inline.config_["static_fingerprint"]
    # static_columns= selects among the table's columns
    one = timegan.TimeGAN(**LONG, static_columns=["size"]).fit(temporal_part(df), id_column="id",
                                                               static=static_part(df))
    assert one.static_columns_ == ["size"]


def test_static_table_errors():
    df = long_frame()
    st = static_part(df)
    dup = pd.concat([st, st.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError) as e:
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=dup)
    assert str(e.value) == ("static DataFrame:14: column 'id': id 's3' occurs twice (first on line 5); "
                            "a static file has one row per id")
    with pytest.raises(ValueError, match=r"DataFrame:62: column 'id': sequence 's10' has no row in the static file"):
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=st[st["id"] != "s10"])
    extra = pd.concat([st, pd.DataFrame([("zz", 1, 1)], columns=st.columns)], ignore_index=True)
    with pytest.raises(ValueError, match=r"static DataFrame:14: column 'id': id 'zz' is not a sequence of DataFrame"):
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=extra)
    text = st.assign(level=st["level"].astype(str))
    with pytest.raises(ValueError, match="static DataFrame: column 'level': not numeric"):
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=text)
    gap = st.assign(size=st["size"].astype(float))
    gap.loc[4, "size"] = np.nan
    with pytest.raises(ValueError, match="static DataFrame: row 4: column 'size': empty field"):
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=gap)
    with pytest.raises(ValueError, match="static DataFrame: unknown id column 'id'"):
        timegan.TimeGAN(**LONG).fit(temporal_part(df), id_column="id", static=st.rename(columns={"id": "key"}))
    with pytest.raises(ValueError, match="static DataFrame: unknown static column 'nope'"):
        timegan.TimeGAN(**LONG, static_columns=["nope"]).fit(temporal_part(df), id_column="id", static=st)


def test_resume_refuses_changed_static_values():
    df = long_frame()
    params = {**LONG, "iterations": 3, "static_columns": ["level", "size"]}
    reference = timegan.TimeGAN(**params).fit(df, id_column="id")
    m = timegan.TimeGAN(**params, max_time=1e-9).fit(df, id_column="id")
    assert not m.is_fitted_
    m.max_time = None
    changed = df.copy()
    changed.loc[changed["id"] == "s3", "level"] = 29
    with pytest.raises(ValueError, match="the static columns or their values differ from those the run started with"):
        m.fit(changed, id_column="id", resume=True)
    m.fit(df, id_column="id", resume=True)
    pd.testing.assert_frame_equal(m.sample(4, seed=0), reference.sample(4, seed=0))


def test_evaluate_reports_the_static_section():
    df = long_frame()
    m = timegan.TimeGAN(**LONG, static_columns=["level", "size"]).fit(df, id_column="id")
    opts = dict(repeats=1, metric_iterations=3, tsne_iterations=5, seed=1)
    from_model = timegan.evaluate(df, m, id_column="id", **opts)
    assert set(from_model["static"]) == {"level", "size"}
    assert from_model["static"]["level"]["real_mean"] == pytest.approx(20.0)
    # the same sequences as a sample DataFrame, and as (windows, static values)
    sample = m.sample(12, seed=1)
    from_frame = timegan.evaluate(df, sample, id_column="id", static_columns=["level", "size"], **opts)
    same_static(from_frame["static"], from_model["static"])
    windows = sample[["value", "other"]].to_numpy().reshape(12, 6, 2)
    statics = sample.groupby("sequence_id")[["level", "size"]].first().to_numpy()
    from_pair = timegan.evaluate(df, (windows, statics), id_column="id", static_columns=["level", "size"], **opts)
    same_static(from_pair["static"], from_model["static"])
    with pytest.raises(ValueError, match=r"expected shape \(12, 2\)"):
        timegan.evaluate(df, (windows, statics[:, :1]), id_column="id", static_columns=["level", "size"], **opts)


def test_cli_and_python_give_the_same_bytes(tmp_path, cli):
    """The same CSV and seed through the CLI and through a DataFrame: the same generated CSV,
    byte for byte, static columns included; Python's sample holds the same numbers."""
    df = long_frame()
    df.to_csv(tmp_path / "s.csv", index=False)
    cli("train", "--data", tmp_path / "s.csv", "--static-columns", "level,size", *CLI_TINY, "--seed", 4, "--sample", 0,
        "--out", tmp_path / "cli", "--quiet")
    read = pd.read_csv(tmp_path / "s.csv")
    m = timegan.TimeGAN(**{**LONG, "seed": 4}, static_columns=["level", "size"]).fit(read, id_column="id")
    m.save(tmp_path / "py")
    cli_cfg = json.loads((tmp_path / "cli" / "config.json").read_text())
    assert m.config_["model"] == cli_cfg["model"]
    assert m.config_["output_map"] == cli_cfg["output_map"]
    assert m.config_["data_fingerprint"] == cli_cfg["data_fingerprint"]
    assert m.config_["static_fingerprint"] == cli_cfg["static_fingerprint"]
    for run in ("cli", "py"):
        cli("generate", "--model", tmp_path / run, "--n", 7, "--seed", 3, "--out", tmp_path / f"{run}.csv", "--quiet")
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "py.csv").read_bytes()
    ours = m.sample(7, seed=3)
    theirs = np.loadtxt(tmp_path / "cli.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(ours.to_numpy(dtype=np.float64), theirs)
    # A per-id static file through the CLI and a static DataFrame through Python: the same bytes.
    temporal_part(read).to_csv(tmp_path / "t.csv", index=False)
    static_part(read).to_csv(tmp_path / "st.csv", index=False)
    cli("train", "--data", tmp_path / "t.csv", "--static", tmp_path / "st.csv", *CLI_TINY, "--seed", 4, "--sample", 0,
        "--out", tmp_path / "cli2", "--quiet")
    j = timegan.TimeGAN(**{**LONG, "seed": 4}).fit(pd.read_csv(tmp_path / "t.csv"), id_column="id",
                                                   static=pd.read_csv(tmp_path / "st.csv"))
    j.save(tmp_path / "py2")
    for run in ("cli2", "py2"):
        cli("generate", "--model", tmp_path / run, "--n", 7, "--seed", 3, "--out", tmp_path / f"{run}.csv", "--quiet")
    assert (tmp_path / "cli2.csv").read_bytes() == (tmp_path / "py2.csv").read_bytes()
    assert (tmp_path / "cli2.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    # The path API with a static CSV equals the CLI's run.
    p = timegan.TimeGAN(**{**LONG, "seed": 4}).fit(str(tmp_path / "t.csv"), id_column="id", static=str(tmp_path / "st.csv"))
    assert p.config_["data"] == json.loads((tmp_path / "cli2" / "config.json").read_text())["data"]
    w, st = p.sample(7, seed=3, return_static=True)
    np.testing.assert_array_equal(w.reshape(-1, 2), theirs[:, 2:4])
    np.testing.assert_array_equal(st, theirs[::6, 4:6])


def test_evaluate_equals_the_cli_with_static_columns(tmp_path, cli):
    df = long_frame()
    df.to_csv(tmp_path / "s.csv", index=False)
    m = timegan.TimeGAN(**LONG, static_columns=["level", "size"]).fit(str(tmp_path / "s.csv"), id_column="id")
    m.save(tmp_path / "run")
    opts = dict(repeats=1, metric_iterations=3, tsne_iterations=5, seed=2)
    ours = timegan.evaluate(str(tmp_path / "s.csv"), m, **opts)
    cli("evaluate", "--model", tmp_path / "run", "--repeats", 1, "--metric-iterations", 3, "--tsne-iterations", 5,
        "--seed", 2, "--out", tmp_path / "rep", "--quiet")
    theirs = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert ours["static"] == theirs["static"]
    # a synthetic CSV with the static columns, through both
    cli("generate", "--model", tmp_path / "run", "--n", 12, "--seed", 2, "--out", tmp_path / "g.csv", "--quiet")
    from_file = timegan.evaluate(str(tmp_path / "s.csv"), str(tmp_path / "g.csv"), id_column="id",
                                 static_columns=["level", "size"], **opts)
    cli("evaluate", "--real", tmp_path / "s.csv", "--id-column", "id", "--seq-len", 0, "--static-columns", "level,size",
        "--synthetic", tmp_path / "g.csv", "--repeats", 1, "--metric-iterations", 3, "--tsne-iterations", 5, "--seed", 2,
        "--out", tmp_path / "rep2", "--quiet")
    assert from_file["static"] == json.loads((tmp_path / "rep2" / "metrics.json").read_text())["static"]
    same_static(from_file["static"], theirs["static"])
