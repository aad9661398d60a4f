"""TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) on the project's native C++/CUDA engine.

    import timegan
    m = timegan.TimeGAN(seq_len=24, iterations=2000).fit(df)   # a DataFrame, rows [rows, d] or windows [n, T, d]
    synthetic = m.sample(1000, seed=1)                          # in the data's units
    m.save("runs/p")                                            # the CLI's run directory
    scores = timegan.evaluate(df, synthetic, repeats=3, report="runs/p/report")

    from ray import tune                                        # pip install 'timegan[sweep]'
    result = timegan.sweep(df, {"hidden_dim": tune.choice([24, 48]), "seed": tune.grid_search([0, 1, 2])},
                           iterations=2000, resources={"cpu": 1})  # a Ray Tune sweep scored by evaluate
    result.table, result.best_run

The model, the training loop, the run directories and the evaluation are the engine's own (the
same code as the ``timegan`` command line): a model saved here generates with
``timegan generate --model`` and the reverse, with identical output at the same seed.
"""

from ._collect import collect
from ._core import cuda_available, has_cuda_backend
from ._evaluate import Evaluation, evaluate
from ._model import TimeGAN, TrainingDiverged
from ._sweep import SweepResult, sweep

__all__ = ["TimeGAN", "TrainingDiverged", "evaluate", "Evaluation", "sweep", "SweepResult", "collect",
           "cuda_available", "has_cuda_backend"]
__version__ = "0.1.0"
