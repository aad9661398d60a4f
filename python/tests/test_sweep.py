"""timegan.sweep on a real Ray (no mocks): scores equal a plain fit + evaluate, a trial whose node
is lost resumes from its checkpoint and ends bit-identical, an interrupted sweep continues, bad
input gets one clear error each. Skipped where Ray is not installed (CI installs it)."""

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import timegan

ray = pytest.importorskip("ray")
from ray import tune  # noqa: E402

# Tiny trials with checkpoints along the way (scores from a tiny evaluation).
OPTS = dict(seq_len=6, num_layers=2, batch_size=16, checkpoint_every=20, log_every=10)
EVAL = {"repeats": 1, "metric_iterations": 20, "tsne_iterations": 10}
SCORES = ("discriminative", "predictive", "predictive_real_on_real", "mmd2", "wasserstein1", "acf_difference",
          "xcorr_difference")


def data(rows=160, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    return 100 + np.cumsum(rng.normal(size=(rows, dim)), axis=0)


def plain_fit(x, **params):
    """The same trial without Ray: one thread, as a trial with one CPU."""
    return timegan.TimeGAN(**{**OPTS, **params}, threads=1, verbose=False).fit(x)


def plain_scores(x, model):
    s = timegan.evaluate(x, model, threads=1, **EVAL).summary()
    return {"discriminative": s["discriminative"][0], "predictive": s["predictive"][0],
            "predictive_real_on_real": s["predictive_real_on_real"], "mmd2": s["mmd2"],
            "wasserstein1": s["wasserstein1"], "acf_difference": s["acf_difference"],
            "xcorr_difference": s["xcorr_difference"]}


def same_run(run_dir, model, x):
    """The run directory's losses and samples equal the plain fit's, bit for bit."""
    with open(os.path.join(run_dir, "losses.csv"), "rb") as f:
        got = f.read()
    with open(os.path.join(model.run_dir_, "losses.csv"), "rb") as f:
        want = f.read()
    assert got == want
    a = timegan.TimeGAN.load(run_dir).sample(40, seed=5)
    b = model.sample(40, seed=5)
    np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the tests that use it (starting one takes seconds)."""
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def test_four_trials_score_as_plain_fit_and_evaluate(local_ray, tmp_path):
    x = data()
    space = {"hidden_dim": tune.grid_search([4, 6]), "seed": tune.grid_search([0, 1])}
    r = timegan.sweep(x, space, storage=str(tmp_path), name="four", evaluate=EVAL, iterations=40, verbose=0, **OPTS)
    t = r.table
    assert len(t) == 4 and t["finished"].all() and (t["error"] == "").all()
    assert sorted(zip(t["hidden_dim"], t["seed"])) == [(4, 0), (4, 1), (6, 0), (6, 1)]
    for _, row in t.iterrows():
        model = plain_fit(x, hidden_dim=int(row["hidden_dim"]), seed=int(row["seed"]), iterations=40)
        want = plain_scores(x, model)
        for k in SCORES:
            assert row[k] == want[k], (k, row["hidden_dim"], row["seed"])
        same_run(row["run_dir"], model, x)
        assert os.path.exists(os.path.join(row["run_dir"], "report", "report.html"))
    best = t.loc[t["discriminative"].idxmin()]
    assert r.best_run == best["run_dir"]
    assert r.best_config["hidden_dim"] == best["hidden_dim"] and r.best_config["iterations"] == 40
    assert isinstance(r.best_model(), timegan.TimeGAN)
    assert r.grid.num_errors == 0


def test_random_draws_repeat_with_the_search_seed(local_ray, tmp_path):
    x = data()
    space = {"lr": tune.loguniform(1e-4, 1e-2), "hidden_dim": tune.choice([4, 5, 6])}
    kw = dict(num_samples=2, evaluate=EVAL, iterations=2, verbose=0, **OPTS)
    a = timegan.sweep(x, space, storage=str(tmp_path), name="a", **kw).table
    b = timegan.sweep(x, space, storage=str(tmp_path), name="b", **kw).table
    c = timegan.sweep(x, space, storage=str(tmp_path), name="c", search_seed=1, **kw).table
    key = lambda t: sorted(zip(t["lr"], t["hidden_dim"]))  # noqa: E731
    assert key(a) == key(b) and key(a) != key(c)


def test_asha_scores_at_checkpoints_and_stops_weak_trials(local_ray, tmp_path):
    x = data()
    space = {"hidden_dim": tune.grid_search([4, 5, 6]), "seed": tune.grid_search([0, 1])}
    # (ranked by MMD: at this tiny evaluation the discriminative score is the same for every trial)
    # (one trial at a time: ASHA's decisions then depend on the scores only, not on timing)
    r = timegan.sweep(x, space, metric="mmd2", scheduler="asha", storage=str(tmp_path), name="asha", evaluate=EVAL,
                      max_concurrent=1,
                      iterations=40, verbose=0, **OPTS)
    t = r.table
    assert len(t) == 6 and (t["error"] == "").all()
    assert t["mmd2"].notna().all()  # every trial was scored, at a checkpoint or at its end
    stopped = t[~t["finished"]]
    assert len(stopped) >= 1 and (stopped["iterations_done"] < 120).all() and stopped["run_dir"].isna().all()
    assert r.best_run in set(t.loc[t["finished"], "run_dir"])
    with open(os.path.join(glob.glob(os.path.join(tmp_path, "asha", "*", "result.json"))[0])) as f:
        scored = [json.loads(line) for line in f if '"mmd2"' in line]
    assert [s["iterations_done"] for s in scored][:2] == [80, 100]  # joint iterations 0 and 20


def _checkpoints(root):
    """Trial folder -> its checkpoint folders (Tune's layout: storage/name/trial/checkpoint_N)."""
    out = {}
    for c in glob.glob(os.path.join(root, "*", "checkpoint_*")):
        out.setdefault(os.path.dirname(c), []).append(c)
    return out


def _restarted(trial_dir):
    """True when Tune restored the trial after a failure: its results count the iterations since
    the last restore from 1 again (the trial went on from its checkpoint)."""
    with open(os.path.join(trial_dir, "result.json")) as f:
        since = [json.loads(line)["iterations_since_restore"] for line in f]
    return 1 in since[1:]


def test_a_lost_node_restarts_its_trial_from_the_checkpoint_bit_identical(tmp_path):
    from ray.cluster_utils import Cluster

    ray.shutdown()  # (the local Ray of the tests above)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)
    x = data()
    root = os.path.join(tmp_path, "nodes")
    removed = []

    def remove_a_worker_mid_trial():
        # Once both trials have a checkpoint and neither has finished, a worker node goes.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ck = _checkpoints(root)
            if len(ck) == 2 and not any(os.path.exists(os.path.join(c, "summary.json")) for cs in ck.values()
                                        for c in cs):
                cluster.remove_node(workers[0])
                removed.append(True)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=remove_a_worker_mid_trial)
    watcher.start()
    try:
        r = timegan.sweep(x, {"seed": tune.grid_search([0, 1])}, address=cluster.address, storage=str(tmp_path),
                          name="nodes", evaluate=EVAL, iterations=300, hidden_dim=6, verbose=0, **OPTS)
    finally:
        watcher.join()
        ray.shutdown()
        cluster.shutdown()
    assert removed, "no worker was removed mid-trial (the trials ended too soon)"
    t = r.table
    assert len(t) == 2 and t["finished"].all(), t[["seed", "finished", "error"]]
    trials = sorted(glob.glob(os.path.join(root, "*")))
    trials = [d for d in trials if os.path.isdir(d)]
    assert any(_restarted(d) for d in trials), "no trial went on from a checkpoint"
    for _, row in t.iterrows():
        model = plain_fit(x, seed=int(row["seed"]), iterations=300, hidden_dim=6)
        same_run(row["run_dir"], model, x)
        want = plain_scores(x, model)
        assert all(row[k] == want[k] for k in SCORES)


DRIVER = textwrap.dedent("""
    import sys, numpy as np, ray, timegan
    from ray import tune
    rng = np.random.default_rng(0)
    x = 100 + np.cumsum(rng.normal(size=(160, 3)), axis=0)
    ray.init(num_cpus=1, include_dashboard=False)
    r = timegan.sweep(x, {"seed": tune.grid_search([0, 1, 2, 3])}, storage=sys.argv[1], name="again",
                      evaluate=%r, iterations=150, hidden_dim=6, verbose=0, max_concurrent=1, **%r)
    print("TRIALS", len(r.table), int(r.table["finished"].sum()))
""") % (EVAL, OPTS)


def test_an_interrupted_sweep_continues_where_it_stopped(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    root = os.path.join(tmp_path, "again")
    p = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    finished_before = {}
    deadline = time.monotonic() + 180
    # Interrupt (Ctrl-C) once a trial has finished and the next one has a checkpoint.
    while time.monotonic() < deadline and p.poll() is None:
        ck = _checkpoints(root)
        done = [d for d, cs in ck.items() if any(os.path.exists(os.path.join(c, "summary.json")) for c in cs)]
        mid = [d for d in ck if d not in done]
        if done and mid:
            p.send_signal(signal.SIGINT)
            break
        time.sleep(0.05)
    out, _ = p.communicate(timeout=120)
    assert "TRIALS 4 4" not in out, "the sweep ended before it was interrupted"
    ck = _checkpoints(root)
    for d, cs in ck.items():
        if any(os.path.exists(os.path.join(c, "summary.json")) for c in cs):
            with open(os.path.join(d, "result.json")) as f:
                finished_before[d] = f.read()
    assert finished_before

    q = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert q.returncode == 0, q.stdout + q.stderr
    assert "TRIALS 4 4" in q.stdout, q.stdout[-3000:] + q.stderr[-3000:]
    for d, text in finished_before.items():  # not rerun: nothing more reported
        with open(os.path.join(d, "result.json")) as f:
            assert f.read() == text
    x = data()
    for d in sorted(_checkpoints(root)):
        final = [c for c in _checkpoints(root)[d] if os.path.exists(os.path.join(c, "summary.json"))]
        assert len(final) == 1
        seed = json.load(open(os.path.join(final[0], "config.json")))["model"]["seed"]
        same_run(final[0], plain_fit(x, seed=seed, iterations=150, hidden_dim=6), x)


def test_bad_input_gets_one_clear_error(tmp_path):
    x = data()
    with pytest.raises(ValueError, match="unknown TimeGAN option 'hiden_dim'"):
        timegan.sweep(x, {"hiden_dim": tune.choice([4, 6])}, storage=str(tmp_path))
    with pytest.raises(ValueError, match="unknown TimeGAN option 'threads'.*sets it for each trial"):
        timegan.sweep(x, {"threads": 2}, storage=str(tmp_path))
    with pytest.raises(ValueError, match="metric 'g_loss_u' is not a score; one of: discriminative"):
        timegan.sweep(x, {"seed": 1}, metric="g_loss_u", storage=str(tmp_path))
    with pytest.raises(ValueError, match="both searched and fixed: seed"):
        timegan.sweep(x, {"seed": 1}, seed=2, storage=str(tmp_path))
    with pytest.raises(ValueError, match="iterations must be fixed"):
        timegan.sweep(x, {"iterations": tune.choice([10, 20])}, scheduler="asha", storage=str(tmp_path))
    with pytest.raises(ValueError, match="evaluate: unknown option 'repeat'"):
        timegan.sweep(x, {"seed": 1}, evaluate={"repeat": 2}, storage=str(tmp_path))
    assert not ray.is_initialized()  # nothing started for a refused sweep
    # Without Ray: one line naming the extra to install.
    code = ("import sys; sys.modules['ray'] = None\nimport timegan\n"
            "try:\n    timegan.sweep([[1.0]], {})\nexcept ImportError as e:\n    print('ERR', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "ERR timegan.sweep needs Ray Tune: pip install 'timegan[sweep]'" in r.stdout, r.stdout + r.stderr
