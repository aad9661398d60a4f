"""timegan.collect and ``python -m timegan collect``: the scores of many runs in one table."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import timegan

from conftest import TINY


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two run directories with a report each (seeds 0 and 1)."""
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = 100 + np.cumsum(rng.normal(size=(80, 3)), axis=0)
    out = []
    for seed in (0, 1):
        m = timegan.TimeGAN(**TINY, seed=seed).fit(x)
        d = m.save(os.path.join(root, f"s{seed}"))
        timegan.evaluate(x, m, repeats=1, metric_iterations=10, tsne_iterations=10, report=os.path.join(d, "report"))
        out.append(d)
    return out


def test_collect_reads_options_scores_and_times(runs):
    pd = pytest.importorskip("pandas")
    t = timegan.collect([os.path.join(d, "report") for d in runs])
    assert isinstance(t, pd.DataFrame) and len(t) == 2
    assert list(t["discriminative"]) == sorted(t["discriminative"])
    for _, row in t.iterrows():
        d = os.path.dirname(row["run"])
        m = json.load(open(os.path.join(d, "report", "metrics.json")))
        assert row["discriminative"] == m["discriminative"]["mean"]
        assert row["mmd2"] == m["mmd"]["mmd2"]
        assert row["hidden_dim"] == TINY["hidden_dim"] and row["seed"] == int(d[-1])
        assert row["train_seconds"] == json.load(open(os.path.join(d, "summary.json")))["total_seconds"]
    # A run directory holding report/ and a metrics.json file name the same run.
    again = timegan.collect([runs[0], os.path.join(runs[0], "report", "metrics.json")], sort_by=None)
    assert again["discriminative"].nunique() == 1


def test_collect_command_writes_csv_and_markdown(runs, tmp_path):
    csv, md = tmp_path / "t.csv", tmp_path / "t.md"
    r = subprocess.run([sys.executable, "-m", "timegan", "collect", *runs, "--csv", str(csv), "--markdown", str(md)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("run,seq_len,hidden_dim") and len(lines) == 3
    text = md.read_text().splitlines()
    assert text[0].startswith("| run | seq_len |") and text[1].startswith("|---|") and len(text) == 4


def test_collect_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        timegan.collect([str(tmp_path)])
    bad = tmp_path / "metrics.json"
    bad.write_text('{"discriminative": 1}')
    with pytest.raises(ValueError, match="not a metrics.json of timegan evaluate"):
        timegan.collect([str(bad)])
    bad.write_text("{oops")
    with pytest.raises(ValueError, match="line 1: not JSON"):
        timegan.collect([str(bad)])
    r = subprocess.run([sys.executable, "-m", "timegan", "collect", str(tmp_path / "nope")], capture_output=True,
                       text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_slurm_array_script_requeues_resumes_evaluates_and_collects(tmp_path):
    """examples/slurm/timegan-array.sbatch as a job array task would run it (no Slurm here: the task
    id comes from the environment and the requeue is left to the next invocation): the first
    attempt stops at --max-time with a checkpoint, the second continues it and evaluates, a third
    does nothing more; collect then reads the run."""
    from conftest import ROOT, timegan_bin

    script = os.path.join(ROOT, "examples", "slurm", "timegan-array.sbatch")
    rng = np.random.default_rng(0)
    csv = tmp_path / "prices.csv"
    np.savetxt(csv, 100 + np.cumsum(rng.normal(size=(80, 3)), axis=0), delimiter=",", header="a,b,c", comments="")
    env = {**os.environ, "PATH": os.path.dirname(timegan_bin()) + os.pathsep + os.environ["PATH"],
           "SLURM_ARRAY_TASK_ID": "3", "SLURM_CPUS_PER_TASK": "1", "DATA": str(csv), "RUNS": str(tmp_path / "runs"),
           "TRAIN_ARGS": "--seq-len 6 --hidden-dim 4 --num-layers 2 --batch-size 16 --iterations 6000 "
                         "--checkpoint-every 500 --quiet",
           "EVAL_ARGS": "--repeats 1 --metric-iterations 10 --tsne-iterations 10 --quiet"}
    run = tmp_path / "runs" / "stock-s3"
    first = subprocess.run(["bash", script], env={**env, "MAX_TIME": "1s"}, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "time budget reached; requeued" in first.stdout
    assert (run / "model.ckpt").exists() and not (run / "summary.json").exists()
    second = subprocess.run(["bash", script], env={**env, "MAX_TIME": "10m"}, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert (run / "summary.json").exists() and (run / "report" / "metrics.json").exists()
    assert json.load(open(run / "config.json"))["model"]["seed"] == 3
    before = (run / "report" / "metrics.json").stat().st_mtime_ns
    third = subprocess.run(["bash", script], env={**env, "MAX_TIME": "10m"}, capture_output=True, text=True)
    assert third.returncode == 0 and (run / "report" / "metrics.json").stat().st_mtime_ns == before
    t = timegan.collect([str(run / "report")])
    assert len(t) == 1 and t["seed"][0] == 3
