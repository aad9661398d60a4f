"""Missing values from Python: a DataFrame or an array with NaN cells is refused by default
(naming the column) and kept as missing with TimeGAN(missing="mask"): training, sample() without
NaN, save/load keeping the option, and evaluate scoring only complete real windows."""

import numpy as np
import pytest

import timegan
from conftest import TINY

pd = pytest.importorskip("pandas")


def holey_frame(rows=60):
    rng = np.random.default_rng(5)
    a = 0.5 + 0.1 * np.sin(np.arange(rows) / 3.0)
    b = 10 + rng.random(rows)
    a[[4, 30]] = np.nan
    b[45] = np.nan
    return pd.DataFrame({"a": a, "b": b})


def test_nan_is_refused_by_default():
    with pytest.raises(ValueError, match="column 'a': NaN or infinite value"):
        timegan.TimeGAN(**TINY).fit(holey_frame())


def test_mask_trains_samples_complete_sequences_and_round_trips(tmp_path):
    df = holey_frame()
    m = timegan.TimeGAN(**TINY, missing="mask").fit(df)
    assert m.config_["data"]["missing"] == "mask"
    assert m.config_["model"]["missing"] == "mask"
    # Scaling over the observed cells: b's minimum is its smallest observed value.
    assert m.config_["output_map"]["outer"]["min"][1] == pytest.approx(np.nanmin(df["b"]))
    s = m.sample(5, seed=1)
    assert not s[["a", "b"]].isna().any().any()
    m.save(tmp_path / "run")
    back = timegan.TimeGAN.load(tmp_path / "run")
    assert back.missing == "mask"
    assert np.array_equal(back.sample(5, seed=1)[["a", "b"]].to_numpy(), s[["a", "b"]].to_numpy())
    # Arrays: NaN in rows [rows, d] works the same way.
    rows = df.to_numpy()
    m2 = timegan.TimeGAN(**TINY, missing="mask").fit(rows)
    w = m2.sample(3)
    assert w.shape == (3, 6, 2)
    assert np.isfinite(w).all()


def test_evaluate_counts_missing_cells():
    df = holey_frame()
    m = timegan.TimeGAN(**TINY, missing="mask").fit(df)
    r = timegan.evaluate(df, m, repeats=1, metric_iterations=3, tsne_iterations=10)
    miss = r["missing"]
    # 55 windows of 6 rows; rows 4, 30 and 45 each lie in 5 or 6 of them, no window holds two.
    assert miss["real_windows"] == 55
    assert miss["windows_with_missing"] == 5 + 6 + 6
    assert miss["cells"] == 17
    assert miss["windows_evaluated"] == 55 - 17
    with pytest.raises(ValueError, match="missing"):
        timegan.TimeGAN(**TINY, missing="impute").fit(df)


def test_windows_array_with_nan():
    rng = np.random.default_rng(2)
    w = 0.5 + 0.2 * rng.random((20, 6, 2))
    w[3, 2, 0] = np.nan
    m = timegan.TimeGAN(**TINY, missing="mask").fit(w)
    out = m.sample(4)
    assert out.shape == (4, 6, 2)
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="NaN"):
        timegan.TimeGAN(**TINY).fit(w)
