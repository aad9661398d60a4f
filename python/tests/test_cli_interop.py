"""Python and the timegan command line read and write the same run directories and give the
same numbers at the same seed."""
import json

import numpy as np
import pytest

import timegan
from conftest import TINY

pd = pytest.importorskip("pandas")

CLI_TINY = ["--seq-len", 6, "--hidden-dim", 4, "--num-layers", 2, "--batch-size", 16, "--iterations", 4]


def read_cli_csv(path, n, T, d):
    """The long CSV of `timegan generate` as windows [n, T, d] (exact: shortest round-trip text)."""
    a = np.loadtxt(path, delimiter=",", skiprows=1)  # Python's float(): correctly rounded
    assert list(a[:, 0]) == [i for i in range(n) for _ in range(T)]
    return a[:, 2:].reshape(n, T, d)


def test_python_fit_then_cli_generate_is_identical(tmp_path, cli, frame):
    m = timegan.TimeGAN(**TINY).fit(frame)
    m.save(tmp_path / "run")
    cli("generate", "--model", tmp_path / "run", "--n", 7, "--seed", 3, "--out", tmp_path / "g.csv", "--quiet")
    cli("generate", "--model", tmp_path / "run", "--n", 7, "--seed", 3, "--out", tmp_path / "g.npy", "--quiet")
    ours = m.sample(7, seed=3)
    ours_w = ours[["c0", "c1", "c2"]].to_numpy().reshape(7, 6, 3)
    np.testing.assert_array_equal(read_cli_csv(tmp_path / "g.csv", 7, 6, 3), ours_w)
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), ours_w.astype(np.float32))


def test_cli_train_then_python_load_sample_is_identical(tmp_path, cli, frame):
    frame.to_csv(tmp_path / "prices.csv", index=False)
    cli("train", "--data", tmp_path / "prices.csv", *CLI_TINY, "--sample", 0, "--out", tmp_path / "run", "--quiet")
    cli("generate", "--model", tmp_path / "run", "--n", 5, "--seed", 2, "--out", tmp_path / "g.csv", "--quiet")
    m = timegan.TimeGAN.load(tmp_path / "run")
    np.testing.assert_array_equal(m.sample(5, seed=2), read_cli_csv(tmp_path / "g.csv", 5, 6, 3))
    assert m.losses_.shape[0] == 12


def test_frame_fit_equals_cli_train_on_its_csv(tmp_path, cli, frame):
    """A DataFrame goes through the same table preparation as the CLI's CSV reader."""
    frame.to_csv(tmp_path / "prices.csv", index=False)
    cli("train", "--data", tmp_path / "prices.csv", *CLI_TINY, "--seed", 4, "--sample", 0, "--out", tmp_path / "run",
        "--quiet")
    df = pd.read_csv(tmp_path / "prices.csv")
    df[["c0", "c1", "c2"]] = np.loadtxt(tmp_path / "prices.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3))
    m = timegan.TimeGAN(**{**TINY, "seed": 4}).fit(df)
    cli_model = timegan.TimeGAN.load(tmp_path / "run")
    np.testing.assert_array_equal(m.sample(6, seed=1)[["c0", "c1", "c2"]].to_numpy().reshape(6, 6, 3),
                                  cli_model.sample(6, seed=1))
    cfg_cli = json.loads((tmp_path / "run" / "config.json").read_text())
    assert m.config_["model"] == cfg_cli["model"]
    assert m.config_["output_map"] == cfg_cli["output_map"]
    assert m.config_["data_fingerprint"] == cfg_cli["data_fingerprint"]
    # the path itself, as --data takes it
    p = timegan.TimeGAN(**{**TINY, "seed": 4}).fit(str(tmp_path / "prices.csv"))
    assert p.config_["data"] == cfg_cli["data"]
    np.testing.assert_array_equal(p.sample(6, seed=1), cli_model.sample(6, seed=1))


def test_python_run_resumes_with_the_cli_after_an_interrupt(tmp_path, cli, frame):
    """A run interrupted in Python is a run directory the CLI continues (given the same data)."""
    frame.to_csv(tmp_path / "prices.csv", index=False)
    params = {**TINY, "iterations": 5}
    reference = timegan.TimeGAN(**params).fit(str(tmp_path / "prices.csv"))
    m = timegan.TimeGAN(**params, max_time=1e-9).fit(str(tmp_path / "prices.csv"))
    run = tmp_path / "run"
    run.mkdir()
    for f in ("config.json", "model.ckpt", "losses.csv"):
        (run / f).write_bytes(open(f"{m.run_dir_}/{f}", "rb").read())
    cli("train", "--resume", run, "--quiet")
    np.testing.assert_array_equal(timegan.TimeGAN.load(run).sample(4, seed=0), reference.sample(4, seed=0))


def test_evaluate_equals_the_cli(tmp_path, cli, frame):
    frame.to_csv(tmp_path / "prices.csv", index=False)
    m = timegan.TimeGAN(**TINY).fit(frame)
    syn = m.sample(40, seed=1)[["c0", "c1", "c2"]].to_numpy().reshape(40, 6, 3)
    np.save(tmp_path / "syn.npy", syn)
    opts = dict(repeats=2, metric_iterations=3, tsne_iterations=5, seed=1)
    ours = timegan.evaluate(str(tmp_path / "prices.csv"), syn, **opts)
    cli("evaluate", "--real", tmp_path / "prices.csv", "--synthetic", tmp_path / "syn.npy", "--seq-len", 6, "--repeats", 2,
        "--metric-iterations", 3, "--tsne-iterations", 5, "--seed", 1, "--out", tmp_path / "rep", "--quiet")
    theirs = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    for key in ("discriminative", "predictive", "wasserstein1", "acf_difference", "xcorr_difference", "mmd",
                "visualisation"):
        if key in theirs:
            assert ours[key] == theirs[key], key
    assert ours["real"] == theirs["real"]
    # the DataFrame itself as the real data: the same table, the same numbers
    from_frame = timegan.evaluate(frame, syn, **opts)
    assert from_frame["discriminative"] == theirs["discriminative"]
    assert from_frame["mmd"] == theirs["mmd"]


def test_evaluate_with_a_model_equals_the_cli_with_model(tmp_path, cli, frame):
    frame.to_csv(tmp_path / "prices.csv", index=False)
    m = timegan.TimeGAN(**TINY).fit(str(tmp_path / "prices.csv"))
    m.save(tmp_path / "run")
    ours = timegan.evaluate(str(tmp_path / "prices.csv"), m, repeats=1, metric_iterations=3, tsne_iterations=5, seed=2)
    cli("evaluate", "--model", tmp_path / "run", "--repeats", 1, "--metric-iterations", 3, "--tsne-iterations", 5,
        "--seed", 2, "--out", tmp_path / "rep", "--quiet")
    theirs = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    for key in ("real", "discriminative", "predictive", "wasserstein1", "mmd", "visualisation"):
        assert ours[key] == theirs[key], key
