import os
import shutil
import subprocess

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Tiny networks and schedules: every fit takes well under a second.
TINY = dict(seq_len=6, hidden_dim=4, num_layers=2, batch_size=16, iterations=4, verbose=False)
# Long format (id column): sequences of 6 rows (TINY's seq_len), seq_len 0 = the longest; the
# same settings as timegan options.
LONG = {**TINY, "seq_len": 0}
CLI_TINY_LONG = ["--seq-len", 0, "--hidden-dim", 4, "--num-layers", 2, "--batch-size", 16, "--iterations", 4,
                 "--id-column", "id"]


def timegan_bin():
    """The timegan executable of the same build: $TIMEGAN_BIN, the one pip installed beside
    python, or the CMake build's."""
    env = os.environ.get("TIMEGAN_BIN")
    if env:
        return env
    found = shutil.which("timegan")
    if found:
        return found
    for b in ("build", "build-py", "build-release"):
        p = os.path.join(ROOT, b, "apps", "timegan")
        if os.path.exists(p):
            return p
    pytest.skip("no timegan executable (set TIMEGAN_BIN)")


@pytest.fixture
def cli():
    exe = timegan_bin()

    def run(*args, check=True):
        r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"timegan {' '.join(map(str, args))}: exit {r.returncode}: {r.stderr}")
        return r

    return run


def make_frame(rows=60, dim=3, seed=1, date=True):
    """A small price-like table: random walks, and a Date column the readers skip."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    values = 100 + np.cumsum(rng.normal(size=(rows, dim)), axis=0)
    df = pd.DataFrame(values, columns=[f"c{k}" for k in range(dim)])
    if date:
        df.insert(0, "Date", pd.date_range("2020-01-01", periods=rows).strftime("%Y-%m-%d"))
    return df


@pytest.fixture
def frame():
    return make_frame()
