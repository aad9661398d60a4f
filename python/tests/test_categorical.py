"""Categorical columns from Python: DataFrames with text / category columns picked
automatically, TimeGAN(categorical=[...]), sample() returning labels, save/load keeping the
vocabularies, evaluate with the category frequencies, one-line errors."""

import numpy as np
import pytest

import timegan
from conftest import TINY

pd = pytest.importorskip("pandas")


def regime_frame(rows=60):
    rng = np.random.default_rng(3)
    regime = np.where((np.arange(rows) // 6) % 2 == 0, "up", "down")
    price = np.where(regime == "up", 0.8, 0.2) + 0.01 * rng.random(rows)
    return pd.DataFrame({"price": price, "regime": regime, "volume": 100 + np.arange(rows, dtype=float)})


def test_text_column_is_categorical_and_sample_returns_labels(capsys):
    df = regime_frame()
    m = timegan.TimeGAN(**{**TINY, "verbose": True, "log_every": 1000}).fit(df)
    assert "column 'regime' is not numeric: read as categorical (2 labels)" in capsys.readouterr().err
    assert m.config_["output_map"]["categorical"] == [{"name": "regime", "labels": ["down", "up"]}]
    s = m.sample(5, seed=1)
    assert list(s.columns) == ["sequence_id", "t", "price", "regime", "volume"]  # the data's order
    assert set(s["regime"]) <= {"up", "down"}
    assert s["price"].dtype.kind == "f"


def test_category_dtype_and_explicit_categorical(tmp_path, cli):
    df = regime_frame()
    df["regime"] = df["regime"].astype("category")
    df["code"] = np.arange(len(df)) % 3  # numbers used as labels
    m = timegan.TimeGAN(**TINY, categorical=["code"]).fit(df)
    cats = {c["name"]: c["labels"] for c in m.config_["output_map"]["categorical"]}
    assert cats == {"regime": ["down", "up"], "code": ["0", "1", "2"]}
    # save / load keeps the vocabularies; the CLI generates the same labels.
    m.save(tmp_path / "run")
    m2 = timegan.TimeGAN.load(tmp_path / "run")
    a, b = m.sample(4, seed=2), m2.sample(4, seed=2)
    assert a.equals(b)
    cli("generate", "--model", tmp_path / "run", "--n", 4, "--seed", 2, "--out", tmp_path / "g.csv", "--quiet")
    g = pd.read_csv(tmp_path / "g.csv", dtype={"code": str})
    assert list(g["regime"]) == list(a["regime"])
    assert list(g["code"]) == list(a["code"])


def test_windows_from_a_csv_path_hold_labels(tmp_path):
    path = tmp_path / "r.csv"
    regime_frame().to_csv(path, index=False)
    m = timegan.TimeGAN(**TINY).fit(str(path))
    w = m.sample(3, seed=0)
    assert w.dtype == object and w.shape == (3, 6, 3)
    assert set(w[:, :, 1].ravel()) <= {"up", "down"}  # the CSV's order: price, regime, volume
    assert all(isinstance(v, float) for v in w[:, :, 0].ravel())
    assert all(isinstance(v, float) for v in w[:, :, 2].ravel())
    # evaluate maps the labels at their place
    ev = timegan.evaluate(str(path), m.sample(20, seed=1), seq_len=6, repeats=1, metric_iterations=2, tsne_iterations=5)
    assert set(ev["categorical"]["regime"]["synthetic"]) <= {"up", "down"}


def test_evaluate_reports_category_frequencies():
    df = regime_frame()
    m = timegan.TimeGAN(**TINY).fit(df)
    for syn in (m, m.sample(len(df))):
        r = timegan.evaluate(df, syn, repeats=1, metric_iterations=3, tsne_iterations=10)
        freq = r["categorical"]["regime"]
        assert freq["real"]["up"] + freq["real"]["down"] == pytest.approx(1.0)
        assert 0.0 <= freq["total_variation"] <= 1.0


def test_bad_categorical_input_is_a_value_error():
    df = regime_frame()
    with pytest.raises(ValueError, match="unknown categorical column 'nope'"):
        timegan.TimeGAN(**TINY, categorical=["nope"]).fit(df)
    with pytest.raises(ValueError, match="column 'volume': more than 5 categories"):
        timegan.TimeGAN(**TINY, categorical=["volume"], max_categories=5).fit(df)
    bad = df.copy()
    bad.loc[4, "regime"] = None
    with pytest.raises(ValueError, match="row 4: column 'regime': empty field"):
        timegan.TimeGAN(**TINY).fit(bad)


def test_categorical_sampling_draws_the_labels_as_the_cli(tmp_path, cli):
    m = timegan.TimeGAN(**TINY).fit(regime_frame())
    m.save(tmp_path / "run")
    argmax = m.sample(30, seed=4)
    drawn = m.sample(30, seed=4, categorical_sampling="sample")
    pd.testing.assert_frame_equal(drawn, m.sample(30, seed=4, categorical_sampling="sample"))
    pd.testing.assert_frame_equal(drawn[["price", "volume"]], argmax[["price", "volume"]])
    assert set(drawn["regime"]) <= {"up", "down"}
    assert list(drawn["regime"]) != list(argmax["regime"])
    cli("generate", "--model", tmp_path / "run", "--n", 30, "--seed", 4, "--categorical-sampling", "sample",
        "--out", tmp_path / "g.csv", "--quiet")
    assert list(pd.read_csv(tmp_path / "g.csv")["regime"]) == list(drawn["regime"])
    with pytest.raises(ValueError, match="categorical_sampling: 'top' is not one of argmax, sample"):
        m.sample(3, categorical_sampling="top")
