"""Ctrl-C during fit: SIGINT reaches Python while the engine works without the GIL; training stops at
the next iteration with a checkpoint, KeyboardInterrupt is raised, and fit again continues."""
import os
import signal
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import timegan

    rng = np.random.default_rng(0)
    rows = 100 + np.cumsum(rng.normal(size=(80, 3)), axis=0)
    params = dict(seq_len=6, hidden_dim=4, num_layers=2, batch_size=16, iterations=400, verbose=False)
    told = []

    def started(phase, iteration, losses):
        if not told:
            told.append(1)
            print("started", flush=True)

    m = timegan.TimeGAN(**params)
    try:
        m.fit(rows, callback=started)
        print("not interrupted", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    done = len(m.losses_)
    assert 0 < done < 1200 and not m.is_fitted_, done
    m.fit()
    reference = timegan.TimeGAN(**params).fit(rows)
    assert np.array_equal(m.sample(5, seed=1), reference.sample(5, seed=1))
    assert len(m.losses_) == 1200
    print("resumed after", done, flush=True)
""")


def test_sigint_stops_fit_with_a_checkpoint_and_fit_continues():
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert out.startswith("resumed after"), out + err
