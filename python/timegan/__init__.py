"""TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) on the project's native C++/CUDA engine.

    import timegan
    m = timegan.TimeGAN(seq_len=24, iterations=2000).fit(df)   # a DataFrame, rows [rows, d] or windows [n, T, d]
    synthetic = m.sample(1000, seed=1)                          # in the data's units
    m.save("runs/p")                                            # the CLI's run directory
    scores = timegan.evaluate(df, synthetic, repeats=3, report="runs/p/report")

The model, the training loop, the run directories and the evaluation are the engine's own (the
same code as the ``timegan`` command line): a model saved here generates with
``timegan generate --model`` and the reverse, with identical output at the same seed.
"""

from ._core import cuda_available, has_cuda_backend
from ._evaluate import Evaluation, evaluate
from ._model import TimeGAN, TrainingDiverged

__all__ = ["TimeGAN", "TrainingDiverged", "evaluate", "Evaluation", "cuda_available", "has_cuda_backend"]
__version__ = "0.1.0"
