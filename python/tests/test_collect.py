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
