"""Ctrl-C during fit: training stops at the next iteration with a checkpoint, KeyboardInterrupt is
raised, and fit again continues. The signal lands either while the engine works without the GIL
(picked up after the iteration) or while Python code runs in a callback (raised there); both stop
training the same way."""
import os
import signal
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import signal
    import sys
    import numpy as np
    import timegan

    # Ctrl-C raises KeyboardInterrupt, as in an interactive Python, also where this test runs as a
    # background job of a non-interactive shell (CI): such a job starts with SIGINT ignored, and
    # Python then installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    rng = np.random.default_rng(0)
    rows = 100 + np.cumsum(rng.normal(size=(80, 3)), axis=0)
    # the engine case: a schedule far longer than the signal's way (it cannot end first on a busy
    # machine); the callback case waits for the signal, and resumes to the end to compare
    total = 20000 if sys.argv[1] == "engine" else 400
    params = dict(seq_len=6, hidden_dim=4, num_layers=2, batch_size=16, iterations=total, verbose=False)
    told = []

    def started(phase, iteration, losses):
        if not told:
            told.append(1)
            print("started", flush=True)
            if sys.argv[1] == "callback":
                sys.stdin.readline()  # blocks until the parent's SIGINT raises KeyboardInterrupt here

    m = timegan.TimeGAN(**params)
    try:
        m.fit(rows, callback=started)
        print("not interrupted", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    done = len(m.losses_)
    assert 0 < done < 3 * total and not m.is_fitted_, done
    if sys.argv[1] == "engine":
        print("stopped after", done, flush=True)
        sys.exit(0)
    m.fit()
    reference = timegan.TimeGAN(**params).fit(rows)
    assert np.array_equal(m.sample(5, seed=1), reference.sample(5, seed=1))
    assert len(m.losses_) == 3 * total
    print("resumed after", done, flush=True)
""")


def interrupted_child(mode):
    p = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    return p.returncode, out, err


def test_sigint_while_the_engine_works_stops_fit_with_a_checkpoint():
    rc, out, err = interrupted_child("engine")
    assert rc == 0, out + err
    assert out.startswith("stopped after"), out + err


def test_sigint_during_a_callback_stops_fit_with_a_checkpoint_and_fit_continues():
    """Deterministic: the child's callback waits until the signal arrives."""
    rc, out, err = interrupted_child("callback")
    assert rc == 0, out + err
    assert out.startswith("resumed after"), out + err


def test_on_checkpoint_gives_resumable_states(tmp_path):
    """fit(on_checkpoint=...) is called after each periodic checkpoint (not the last) with the phase
    and the iterations done in it; a copy of the run directory then continues bit-identical."""
    import shutil

    import numpy as np
    import pytest

    import timegan

    rng = np.random.default_rng(0)
    rows = 100 + np.cumsum(rng.normal(size=(80, 3)), axis=0)
    params = dict(seq_len=6, hidden_dim=4, num_layers=2, batch_size=16, iterations=30, checkpoint_every=20,
                  verbose=False)
    seen = []

    def keep(phase, iteration, run_dir):
        seen.append((phase, iteration))
        if len(seen) == 2:  # supervised iteration 10: 40 iterations done
            shutil.copytree(run_dir, tmp_path / "copy")

    m = timegan.TimeGAN(**params).fit(rows, on_checkpoint=keep)
    assert seen == [("embedding", 20), ("supervised", 10), ("joint", 0), ("joint", 20)]
    copy = timegan.TimeGAN.load(tmp_path / "copy")
    assert not copy.is_fitted_
    copy.fit(rows)  # continues the interrupted state
    assert np.array_equal(copy.sample(5, seed=1), m.sample(5, seed=1))
    assert open(os.path.join(copy.run_dir_, "losses.csv")).read() == open(os.path.join(m.run_dir_, "losses.csv")).read()

    def fail(phase, iteration, run_dir):
        raise RuntimeError("stop here")

    s = timegan.TimeGAN(**params)
    with pytest.raises(RuntimeError, match="stop here"):
        s.fit(rows, on_checkpoint=fail)
    assert not s.is_fitted_
    s.fit(rows)
    assert np.array_equal(s.sample(5, seed=1), m.sample(5, seed=1))
