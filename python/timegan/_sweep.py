"""timegan.sweep: hyperparameter and seed sweeps on Ray Tune (docs/scaling.md).

Each trial is a ``TimeGAN.fit`` followed by ``timegan.evaluate``, so that trials are ranked by the
project's scores (discriminative, predictive, MMD, ...), not by a loss. Ray is optional: the
package works without it, and ``sweep`` says how to install it (``pip install timegan[sweep]``).
"""

from __future__ import annotations

import math
import os
import tempfile

from ._evaluate import SCORE_FIELDS
from ._model import TimeGAN, copy_run_files

# The scores a sweep can rank by (all lower is better); each is read from metrics.json as
# SCORE_FIELDS (_evaluate.py) says.
SCORES = ("discriminative", "predictive", "mmd2", "wasserstein1", "acf_difference", "xcorr_difference")
# Options a sweep sets itself for each trial: not part of a search space.
_TRIAL_SET = ("threads", "verbose", "max_time", "device")
_PHASES = ("embedding", "supervised", "joint")
_EVALUATE_OPTIONS = ("repeats", "metric_iterations", "tsne_iterations", "seed")


def _ray_tune():
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise ImportError("timegan.sweep needs Ray Tune: pip install 'timegan[sweep]' (or pip install 'ray[tune]')"
                          ) from e
    return ray, tune


def timegan_trial(config, *, data, fixed, fit_kw, eval_kw, eval_every, log_every):
    """One trial: fit (resuming from Tune's checkpoint when Ray restarted the trial), report the
    losses every log interval and a checkpoint at every checkpoint, evaluate at the end."""
    from ray import tune

    from ._evaluate import evaluate

    ctx = tune.get_context()
    res = ctx.get_trial_resources().required_resources
    cpus = max(1, int(math.floor(res.get("CPU", 1))))
    params = {**fixed, **config, "verbose": False, "threads": cpus}
    if res.get("GPU", 0) >= 1:
        from ._core import cuda_available
        if cuda_available():
            params["device"] = "cuda"
    model = TimeGAN(**params)
    iterations = int(params.get("iterations", 50000))
    offset = {p: k * iterations for k, p in enumerate(_PHASES)}
    resume = False
    ckpt = tune.get_checkpoint()
    if ckpt is not None:  # restarted by Ray: go on from the last checkpoint
        with ckpt.as_directory() as d:
            copy_run_files(d, model._workdir())
        # (a run that had finished before the restart has summary.json: only its scores are left)
        resume = not model._has("summary.json")
    score_kw = {**eval_kw, "threads": cpus, "device": params.get("device", "cpu")}
    score_kw.update({k: v for k, v in fit_kw.items() if k in ("columns", "id_column", "static")})

    def on_step(phase, iteration, losses):
        if (iteration + 1) % log_every == 0:
            tune.report({**losses, "phase": phase, "iterations_done": offset[phase] + iteration + 1})

    def on_checkpoint(phase, iteration, run_dir):
        done = offset[phase] + iteration
        with tempfile.TemporaryDirectory(prefix="timegan-ckpt-") as tmp:
            copy_run_files(run_dir, tmp)
            metrics = {"phase": phase, "iterations_done": done}
            if eval_every and phase == "joint" and iteration % eval_every == 0:
                metrics.update(evaluate(data, TimeGAN.load(tmp), **score_kw).scores())
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))

    if not model._has("summary.json"):
        model.fit(data, resume=resume, callback=on_step, on_checkpoint=on_checkpoint, **fit_kw)
    with tempfile.TemporaryDirectory(prefix="timegan-final-") as tmp:
        copy_run_files(model.run_dir_, tmp)
        scores = evaluate(data, model, report=os.path.join(tmp, "report"), **score_kw).scores()
        tune.report({**scores, "phase": "done", "iterations_done": 3 * iterations},
                    checkpoint=tune.Checkpoint.from_directory(tmp))


class SweepResult:
    """What ``sweep`` returns.

    table: a DataFrame with a row per trial: its options (the searched ones and the fixed ones),
    its scores (the last reported: final, or the last intermediate one for a trial a scheduler
    stopped early), its status and its run directory.
    best_run: the best trial's run directory (config.json, model.ckpt, losses.csv, summary.json
    and report/): ``TimeGAN.load(best_run)``, ``timegan generate --model best_run``.
    best_config: the best trial's options.
    grid: Ray Tune's ResultGrid.
    """

    def __init__(self, grid, metric, mode, fixed):
        self.grid = grid
        self.metric = metric
        self.mode = mode
        rows, runs = [], []
        for r in grid:
            m = r.metrics or {}
            row = {"trial": m.get("trial_id", os.path.basename(r.path))}
            row.update(fixed)
            row.update(r.config or {})
            for k in SCORE_FIELDS:
                row[k] = m.get(k, math.nan)
            row["iterations_done"] = m.get("iterations_done", 0)
            row["finished"] = m.get("phase") == "done"
            row["error"] = "" if r.error is None else str(r.error).splitlines()[0]
            run = r.checkpoint.path if (r.checkpoint is not None and m.get("phase") == "done") else None
            row["run_dir"] = run
            rows.append(row)
            runs.append(run)
        import pandas as pd
        self.table = pd.DataFrame(rows)
        ok = [i for i, row in enumerate(rows) if row["finished"] and not math.isnan(row[metric])]
        self.best_run = None
        self.best_config = None
        if ok:
            key = (lambda i: rows[i][metric]) if mode == "min" else (lambda i: -rows[i][metric])
            best = min(ok, key=key)
            self.best_run = runs[best]
            self.best_config = {**fixed, **(grid[best].config or {})}

    def best_model(self):
        """The best trial's model (``TimeGAN.load(best_run)``)."""
        if self.best_run is None:
            raise RuntimeError("no trial finished")
        return TimeGAN.load(self.best_run)

    def __repr__(self):
        return (f"SweepResult({len(self.table)} trials, best {self.metric} "
                f"{self.table[self.metric].min() if self.mode == 'min' else self.table[self.metric].max():.4f}, "
                f"best_run={self.best_run!r})")


def sweep(data, space, metric="discriminative", mode="min", num_samples=1, scheduler=None, resources=None,
          address=None, storage=None, name="timegan-sweep", *, evaluate=None, eval_every=None, log_every=None,
          max_failures=3, max_concurrent=None, resume=True, search_seed=0, columns=None, id_column=None,
          static=None, verbose=1, **options):
    """Trains and scores TimeGAN models over a search space on Ray Tune; returns a SweepResult.

    data: anything ``TimeGAN.fit`` takes (a DataFrame, rows, windows, or a path every node can
    read); it is put in Ray's object store once, not sent once per trial.
    space: {option: value or a Ray Tune search space} over any ``TimeGAN`` option (hidden_dim,
    num_layers, lr, batch_size, iterations, seed, cell, ...), e.g.
    ``{"hidden_dim": tune.choice([24, 48]), "seed": tune.grid_search([0, 1, 2])}``.
    **options: TimeGAN options fixed for every trial (iterations=10000, ...).
    metric, mode: the score the best trial is chosen by: one of discriminative, predictive,
    mmd2, wasserstein1, acf_difference, xcorr_difference (lower is better: mode "min").
    num_samples: how many times the space is sampled (times each grid point).
    scheduler: None (every trial runs to its end), "asha" (early stopping on the metric, scored
    every ``eval_every`` joint iterations) or a Ray Tune scheduler.
    resources: per trial, {"cpu": 1, "gpu": 0}; a trial trains with as many threads as CPUs, and
    on the GPU where one is allocated and the build has CUDA.
    address: an existing Ray cluster ("auto", "ray://host:10001", ...); None uses the running Ray
    of this process or starts a local one.
    storage: where Tune keeps its state and the trials' checkpoints (a local folder, a shared file
    system or object storage such as s3://bucket/path); default ./timegan-sweeps. The sweep is
    storage/name: called again with the same storage and name, an interrupted sweep continues
    (finished trials are not rerun; trials stopped mid-way resume from their last checkpoint);
    resume=False refuses to continue one.
    evaluate: options of ``timegan.evaluate`` for the final scores (repeats, metric_iterations,
    tsne_iterations, seed); eval_every: also score every that many joint iterations at a
    checkpoint (required by "asha"; default there: checkpoint_every).
    log_every: losses are reported to Tune every that many iterations (default: the options'
    log_every, 1000).
    max_failures: how often a trial is restarted (from its last checkpoint) after its worker or
    node is lost.
    search_seed: the seed of the draws from random search spaces (the same sweep draws the same
    settings; None: fresh draws each time). Each trial's training seed is its ``seed`` option.
    columns, id_column, static: as ``fit``.
    """
    ray, tune = _ray_tune()
    if not isinstance(space, dict):
        raise TypeError("space: expected a dict {option: value or search space}")
    known = set(TimeGAN._PARAMS) - set(_TRIAL_SET)
    for k in list(space) + list(options):
        if k not in known:
            hint = " (a sweep sets it for each trial)" if k in _TRIAL_SET else ""
            raise ValueError(f"unknown TimeGAN option '{k}'{hint}; options: {', '.join(sorted(known))}")
    both = set(space) & set(options)
    if both:
        raise ValueError(f"option(s) both searched and fixed: {', '.join(sorted(both))}")
    if metric not in SCORES:
        raise ValueError(f"metric '{metric}' is not a score; one of: {', '.join(SCORES)}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode: 'min' or 'max', got {mode!r}")
    evaluate = dict(evaluate or {})
    for k in evaluate:
        if k not in _EVALUATE_OPTIONS:
            raise ValueError(f"evaluate: unknown option '{k}'; options: {', '.join(_EVALUATE_OPTIONS)}")
    resources = dict(resources or {"cpu": 1})
    for k in resources:
        if k not in ("cpu", "gpu"):
            raise ValueError(f"resources: unknown key '{k}'; keys: cpu, gpu")
    defaults = TimeGAN().get_params()
    fixed = dict(options)
    checkpoint_every = fixed.get("checkpoint_every", defaults["checkpoint_every"])
    if log_every is None:
        log_every = fixed.get("log_every", defaults["log_every"])
    if scheduler == "asha":
        if "iterations" in space:
            raise ValueError("scheduler='asha' compares trials at the same iteration: iterations must be fixed")
        if eval_every is None:
            eval_every = checkpoint_every
        iterations = fixed.get("iterations", defaults["iterations"])
        scheduler = tune.schedulers.AsyncHyperBandScheduler(
            time_attr="iterations_done", max_t=3 * iterations,
            grace_period=2 * iterations + eval_every, reduction_factor=2)
    elif isinstance(scheduler, str):
        raise ValueError(f"scheduler: None, 'asha' or a Ray Tune scheduler, got {scheduler!r}")
    if eval_every is not None and (eval_every <= 0 or eval_every % checkpoint_every):
        raise ValueError("eval_every: a multiple of checkpoint_every (scores are taken at checkpoints)")

    storage = str(storage or "timegan-sweeps")
    if "://" not in storage:  # a local folder (object storage URIs go to Ray as they are)
        storage = os.path.abspath(os.path.expanduser(storage))
    started = False
    if address is not None:
        ray.init(address=address, ignore_reinit_error=True)
    elif not ray.is_initialized():
        ray.init()
        started = True
    try:
        fit_kw = {k: v for k, v in (("columns", columns), ("id_column", id_column), ("static", static))
                  if v is not None}
        trainable = tune.with_parameters(timegan_trial, data=data, fixed=fixed, fit_kw=fit_kw, eval_kw=evaluate,
                                         eval_every=eval_every, log_every=int(log_every))
        trainable = tune.with_resources(trainable, {k: v for k, v in resources.items() if v})
        from ray.tune.search.basic_variant import BasicVariantGenerator

        path = storage.rstrip("/") + "/" + name
        # Loss reports carry no score (only checkpoints do): Tune's check that every result holds
        # the metric is for trainables that report it each time.
        os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
        own = scheduler is not None and getattr(scheduler, "metric", None) is not None
        if tune.Tuner.can_restore(path):
            if not resume:
                raise FileExistsError(f"{path}: a sweep of this name is there; resume=True continues it")
            tuner = tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True, resume_errored=True)
        else:
            tuner = tune.Tuner(
                trainable, param_space=space,
                # (a scheduler given with its own metric and mode keeps them; Tune refuses both)
                tune_config=tune.TuneConfig(metric=None if own else metric, mode=None if own else mode,
                                            num_samples=num_samples, scheduler=scheduler,
                                            max_concurrent_trials=max_concurrent,
                                            search_alg=BasicVariantGenerator(random_state=search_seed)),
                run_config=tune.RunConfig(name=name, storage_path=storage, verbose=verbose,
                                          failure_config=tune.FailureConfig(max_failures=max_failures),
                                          checkpoint_config=tune.CheckpointConfig(num_to_keep=2)))
        grid = tuner.fit()
        return SweepResult(grid, metric, mode, fixed)
    finally:
        if started:
            ray.shutdown()
