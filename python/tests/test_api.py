"""The Python API: each input kind, round trips, errors, interrupt and resume."""
import json
import os
import sys

import numpy as np
import pytest

import timegan
from conftest import TINY, make_frame

pd = pytest.importorskip("pandas")


def fit(data, **kw):
    return timegan.TimeGAN(**{**TINY, **kw}).fit(data)


def test_wide_frame_samples_a_long_frame_in_the_data_units(frame):
    m = fit(frame)
    s = m.sample(5, seed=3)
    assert list(s.columns) == ["sequence_id", "t", "c0", "c1", "c2"]  # the Date column is skipped
    assert len(s) == 5 * 6
    assert s["sequence_id"].tolist() == [i for i in range(5) for _ in range(6)]
    assert s["t"].tolist() == list(range(6)) * 5
    # the default preset maps back through the per-column min-max: values within the data's range
    for c in ("c0", "c1", "c2"):
        assert frame[c].min() - 1e-9 <= s[c].min() and s[c].max() <= frame[c].max() + 1e-9
    assert m.config_["data"]["columns"] == "c0,c1,c2"
    assert m.config_["model"]["features"] == 3
    assert m.config_["windows"] == 60 - 6 + 1


def test_save_is_the_run_directory_s_one_writer(tmp_path, frame):
    m = fit(frame)
    run = tmp_path / "run"
    os.makedirs(run)
    held = timegan._core.RunLock(str(run), "train", True)  # another writer, as timegan train holds it
    with pytest.raises(BlockingIOError, match="in use by timegan train"):
        m.save(run)
    assert os.listdir(run) == [".timegan.lock"]  # nothing written
    held.release()
    m.save(run)
    cfg = json.load(open(run / "config.json"))
    assert json.load(open(run / "summary.json"))["run_id"] == cfg["run_id"]
    assert timegan.TimeGAN.load(run).sample(2).shape[0] == 2 * 6


def test_rows_and_windows_sample_arrays():
    rows = make_frame(date=False).to_numpy()
    m = fit(rows)
    s = m.sample(4, seed=1)
    assert isinstance(s, np.ndarray) and s.shape == (4, 6, 3) and s.dtype == np.float64
    windows = np.stack([rows[i:i + 8] for i in range(0, 40, 2)])
    w = fit(windows)
    s = w.sample(3)
    assert s.shape == (3, 8, 3)  # the windows' own length
    assert w.config_["model"]["seq_len"] == 8


def test_rows_equal_the_same_frame():
    df = make_frame(date=False)
    a = fit(df).sample(4, seed=2)
    b = fit(df.to_numpy()).sample(4, seed=2)
    np.testing.assert_array_equal(a[["c0", "c1", "c2"]].to_numpy().reshape(4, 6, 3), b)


def test_long_frame_with_id_column():
    rng = np.random.default_rng(0)
    parts = []
    for k, length in enumerate([5, 7, 6, 7, 4, 7]):
        parts.append(pd.DataFrame({"id": f"s{k}", "x": rng.normal(size=length), "y": rng.normal(size=length)}))
    df = pd.concat(parts, ignore_index=True)
    m = timegan.TimeGAN(**{**TINY, "seq_len": 0}).fit(df, id_column="id")
    assert m.config_["model"]["seq_len"] == 7  # the longest sequence
    s = m.sample(20, seed=0)
    assert list(s.columns) == ["sequence_id", "t", "x", "y"]
    lengths = s.groupby("sequence_id").size()
    assert set(lengths) <= {4, 5, 6, 7}  # lengths drawn from the data's
    assert (s.groupby("sequence_id")["t"].max() == lengths - 1).all()


def test_save_load_round_trip(tmp_path, frame):
    m = fit(frame)
    m.save(tmp_path / "run")
    assert sorted(os.listdir(tmp_path / "run")) == [".timegan.lock", "config.json", "losses.csv", "model.ckpt",
                                                    "summary.json"]
    back = timegan.TimeGAN.load(tmp_path / "run")
    pd.testing.assert_frame_equal(back.sample(6, seed=9), m.sample(6, seed=9))
    assert back.hidden_dim == 4 and back.num_layers == 2 and back.seq_len == 6 and back.iterations == 4
    assert back.config_ == m.config_
    with pytest.raises(FileExistsError):
        m.save(tmp_path / "run")
    m.save(tmp_path / "run", overwrite=True)


def test_losses_and_callback(frame):
    seen = []
    m = timegan.TimeGAN(**TINY).fit(frame, callback=lambda phase, it, losses: seen.append((phase, it, dict(losses))))
    assert [(p, i) for p, i, _ in seen] == [(p, i) for p in ("embedding", "supervised", "joint") for i in range(4)]
    assert set(seen[0][2]) == {"e_loss_t0", "e_loss0"}  # what the embedding phase computes
    losses = m.losses_
    assert list(losses["phase"]) == [p for p, _, _ in seen]
    assert list(losses["iteration"]) == [i for _, i, _ in seen]
    # losses.csv holds 8 significant digits
    np.testing.assert_allclose(losses["e_loss_t0"][:4], [l["e_loss_t0"] for _, _, l in seen[:4]], rtol=1e-6)
    np.testing.assert_allclose(losses["d_loss"][8:], [l["d_loss"] for _, _, l in seen[8:]], rtol=1e-6)


def test_same_seed_same_model_other_seed_other_model(frame):
    a, b = fit(frame).sample(3, seed=1), fit(frame).sample(3, seed=1)
    pd.testing.assert_frame_equal(a, b)
    c = fit(frame, seed=5).sample(3, seed=1)
    assert not np.array_equal(a["c0"], c["c0"])
    assert not np.array_equal(a["c0"], fit(frame).sample(3, seed=2)["c0"])


def test_interrupt_then_fit_again_ends_as_an_uninterrupted_run(frame):
    params = {**TINY, "iterations": 6, "checkpoint_every": 4}
    reference = timegan.TimeGAN(**params).fit(frame)

    def stop(phase, iteration, losses):
        if phase == "supervised" and iteration == 2:
            raise KeyboardInterrupt

    m = timegan.TimeGAN(**params)
    with pytest.raises(KeyboardInterrupt):
        m.fit(frame, callback=stop)
    assert not m.is_fitted_
    assert len(m.losses_) == 6 + 3  # through the iteration that raised; the checkpoint is there
    m.fit()  # continues with the data it had
    assert m.is_fitted_
    pd.testing.assert_frame_equal(m.sample(5, seed=4), reference.sample(5, seed=4))
    pd.testing.assert_frame_equal(m.losses_, reference.losses_)


def test_callback_error_stops_with_a_checkpoint_and_resume_true_continues(frame):
    params = {**TINY, "iterations": 5}
    reference = timegan.TimeGAN(**params).fit(frame)

    def fail(phase, iteration, losses):
        if phase == "joint" and iteration == 1:
            raise ZeroDivisionError("from the callback")

    m = timegan.TimeGAN(**params)
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        m.fit(frame, callback=fail)
    m.fit(frame, resume=True)
    pd.testing.assert_frame_equal(m.sample(4, seed=0), reference.sample(4, seed=0))


def test_max_time_stops_and_fit_continues(frame):
    params = {**TINY, "iterations": 3}
    reference = timegan.TimeGAN(**params).fit(frame)
    m = timegan.TimeGAN(**params, max_time=1e-9)
    m.fit(frame)  # stops after one iteration, with a checkpoint
    assert not m.is_fitted_ and len(m.losses_) == 1
    m.max_time = None
    m.fit()
    pd.testing.assert_frame_equal(m.sample(4, seed=0), reference.sample(4, seed=0))


def test_more_iterations_on_resume(frame):
    m = timegan.TimeGAN(**{**TINY, "max_time": 1e-9}).fit(frame)
    m.set_params(max_time=None, iterations=5).fit()
    assert m.config_["model"]["iterations"] == 5
    assert len(m.losses_) == 15


def test_resume_false_starts_afresh(frame):
    m = timegan.TimeGAN(**{**TINY, "max_time": 1e-9}).fit(frame)
    m.max_time = None
    m.fit(frame, resume=False)
    assert len(m.losses_) == 12
    with pytest.raises(ValueError, match="no interrupted fit"):
        m.fit(frame, resume=True)


def test_get_params_set_params_repr():
    m = timegan.TimeGAN(hidden_dim=8)
    assert m.get_params()["hidden_dim"] == 8 and m.get_params()["iterations"] == 50000
    assert repr(m) == "TimeGAN(hidden_dim=8)"
    with pytest.raises(ValueError):
        m.set_params(nope=1)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("option, value, message", [
    ("hidden_dim", 0, r"hidden_dim: value 0 out of range \[1, 4096\]"),
    ("num_layers", 1, "num_layers: must be at least 2"),
    ("cell", "rnn", "cell: "),
    ("adam", "sgd", "adam: 'sgd' is not one of tf1, pytorch"),
    ("preset", "fancy", "preset: 'fancy' is not one of default, original"),
    ("iterations", 0, "iterations: value 0 out of range"),
    ("lr", 0.0, "lr: value 0 out of range"),
    ("device", "tpu", "device: 'tpu' is not one of cpu, cuda"),
    ("threads", -1, "threads: value -1 out of range"),
])
def test_bad_options_raise_value_error(frame, option, value, message):
    with pytest.raises(ValueError, match=message):
        timegan.TimeGAN(**{**TINY, option: value}).fit(frame)


def test_bad_data_raise_value_error(frame):
    bad = frame.copy()
    bad["name"] = 1j  # (text is categorical: test_categorical.py)
    with pytest.raises(ValueError, match="column 'name': not numeric"):
        fit(bad)
    nan = frame.copy()
    nan.loc[7, "c1"] = np.nan
    with pytest.raises(ValueError, match="column 'c1'"):
        fit(nan)
    with pytest.raises(ValueError, match="rows"):
        fit(np.zeros(10))
    with pytest.raises(ValueError, match="seq_len|rows|window"):
        fit(frame.iloc[:4])  # fewer rows than seq_len
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        timegan.TimeGAN(**TINY).fit(frame, columns=["c0", "nope"])
    one_row = pd.DataFrame({"id": ["a", "a", "b"], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="sequence 'b' has 1 row"):
        timegan.TimeGAN(**{**TINY, "seq_len": 0}).fit(one_row, id_column="id")


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fit(str(tmp_path / "missing.csv"))
    with pytest.raises(FileNotFoundError):
        timegan.TimeGAN.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        timegan.TimeGAN.load(tmp_path / "empty")


def test_unfitted_model_raises_runtime_error():
    with pytest.raises(RuntimeError, match="not fitted"):
        timegan.TimeGAN().sample(3)
    with pytest.raises(ValueError, match="needs data"):
        timegan.TimeGAN().fit()


def test_sample_n_is_checked(frame):
    m = fit(frame)
    with pytest.raises(ValueError, match="n: value 0 out of range"):
        m.sample(0)


def test_evaluate_returns_the_metrics_and_writes_the_report(tmp_path, frame):
    m = fit(frame)
    syn = m.sample(30, seed=1)
    ev = timegan.evaluate(frame, syn, repeats=2, metric_iterations=3, tsne_iterations=5, report=tmp_path / "rep")
    assert ev["format"] == "timegan-evaluation/1"
    assert len(ev["discriminative"]["per_repeat"]) == 2
    assert ev["real"]["columns"] == ["c0", "c1", "c2"] and ev["synthetic"]["windows"] == 30
    on_disk = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert on_disk["discriminative"] == ev["discriminative"] and on_disk["mmd"] == ev["mmd"]
    assert (tmp_path / "rep" / "report.html").read_text() == ev.html
    assert ev._repr_html_().startswith("<iframe srcdoc=")
    assert set(ev.summary()) >= {"discriminative", "predictive", "mmd2"}
    # a fitted model as the synthetic side: generated as the CLI's --model, with its loss curves
    ev2 = timegan.evaluate(frame, m, repeats=1, metric_iterations=3, tsne_iterations=5, report=tmp_path / "r.html")
    assert ev2["synthetic"]["windows"] == ev2["real"]["windows"]
    assert "loss" in (tmp_path / "r.html").read_text().lower()
    with pytest.raises(ValueError, match="has windows of 6 steps x 3 features but synthetic data synthetic array has 4"):
        timegan.evaluate(frame, np.zeros((5, 4, 3)), seq_len=6, repeats=1, metric_iterations=3, tsne_iterations=5,
                         report=tmp_path / "failed")
    assert not (tmp_path / "failed").exists()  # nothing is left of a failed evaluation


def test_without_pandas_and_tqdm(monkeypatch, capfd):
    """numpy is the only requirement: losses_ is then a dict of arrays, progress plain lines."""
    rows = make_frame(date=False).to_numpy()
    monkeypatch.setitem(sys.modules, "pandas", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    m = timegan.TimeGAN(**{**TINY, "verbose": True, "log_every": 2}).fit(rows)
    err = capfd.readouterr().err
    assert "embedding 2/4" in err and "embedding 4/4" in err and "joint 4/4" in err
    losses = m.losses_
    assert isinstance(losses, dict)
    assert list(losses["phase"]) == ["embedding"] * 4 + ["supervised"] * 4 + ["joint"] * 4
    assert list(losses["iteration"]) == [0, 1, 2, 3] * 3
    assert np.isnan(losses["d_loss"][0]) and np.isfinite(losses["d_loss"][8])
    assert m.sample(2).shape == (2, 6, 3)
