"""The AEVB algorithm (the paper's Algorithm 1) with periodic evaluation, checkpoints and resume.

    repeat: x ← M datapoints; ε ~ p(ε); g ← ∇_{θ,φ} L̃(θ, φ; x, ε); update θ, φ with g

A run lives in a directory (`aevb.io.run_directory`): config.json (model, training and data settings),
model.safetensors (the best weights on the validation split, else the latest), checkpoint.safetensors
(everything needed to continue) and metrics.jsonl. `train` starts a run; `resume` continues one exactly where its checkpoint stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import datasets
from ..datasets.binarization import BINARIZATIONS
from ..errors import InputError
from ..io.checkpoint import model_config_document, read_config
from ..io.files import write_json_atomic
from ..io.run_directory import CHECKPOINT_FILE, CONFIG_FILE, check_new_run_directory
from ..io.run_lock import locked
from ..kernels import dense, fused_elbo
from ..kernels.fused_step import fused_step
from ..model.loading import model_from_document
from ..model.vae import VAE
from ..randomness import seeded
from . import checkpointing, distributed, watching
from .config import EVAL_SPACINGS, OBJECTIVES, PRECISIONS, TrainConfig
from .data import check_data, data_description, run_data, split
from .epochs import Position, minibatches
from .evaluation import describe, evaluate, evaluation_sets
from .optimizers import make_optimizer, set_step_size, set_weight_decay
from .schedules import Where, kl_weight


class Objective(nn.Module):
    """The training bound of a minibatch as a module, so that DistributedDataParallel can wrap it."""

    def __init__(self, model: VAE, config: TrainConfig):
        super().__init__()
        self.model, self.config = model, config
        self.bound = OBJECTIVES[config.objective].bound
        self.beta = config.beta          # the weight of the KL term at this step (a KL warm-up changes it)

    def fused(self, x: torch.Tensor) -> bool:
        """Whether the hand-written pass computes this bound for x."""
        config = self.config
        return fused_elbo.supports(self.model, config.objective, config.estimator, config.samples, x)

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Σ over the rows of x [B, D] of the bound: a scalar (by the hand-written pass where it applies)."""
        if self.fused(x):
            return fused_elbo.fused_bound_sum(self.model, x, noise, self.beta)
        return self.bound(self.model, x, self.config, noise, self.beta).sum()


def _bound_and_gradients(objective, x: torch.Tensor, noise: torch.Tensor, scale: float, autocast) -> torch.Tensor:
    """Σ of the training bound over the rows of x [B, D], with every parameter's .grad set to
    scale · ∂Σ/∂θ: straight from the hand-written pass where it applies and no DistributedDataParallel
    hook waits for the graph (the same numbers, without autograd's engine), else by autograd."""
    with autocast:
        if isinstance(objective, Objective) and objective.fused(x):
            return fused_elbo.bound_and_gradients(objective.model, x, noise, objective.beta, scale)
        bound_sum = objective(x, noise)
    objective.zero_grad(set_to_none=True)
    (bound_sum * scale).backward()
    return bound_sum.detach()


@dataclass
class TrainingState(Position):
    """Where a run stands; saved in every checkpoint."""

    step: int = 0
    seconds: float = 0.0      # wall-clock time spent in this run, over all its sessions
    metrics: list[dict] = field(default_factory=list)
    best: dict | None = None  # the evaluation with the best validation bound so far (training/watching.py)
    evaluations_since_best: int = 0
    lr_reductions: int = 0    # the plateau schedule's halvings of the step size so far


def train(model: VAE, dataset: datasets.Dataset, config: TrainConfig, out=None, *, progress: bool = True,
          log=print, on_evaluation=None) -> VAE:
    """Train `model` on `dataset` with Algorithm 1, writing the run directory `out` (which must not
    hold a run already), or keeping everything in memory when `out` is None. `on_evaluation(row)` is
    called with each evaluation's row of metrics. Returns the trained model.

    The run draws from the global generators seeded with `config.seed`, and gives them back to the
    caller as they were: the caller's random stream continues as if `train` had not been called.

    The run records the data it was trained on as `dataset.locator` (a registered name or an absolute
    path), or None for arrays held in memory, whatever `config.data` says."""
    if out is not None:
        out = Path(out)
        check_new_run_directory(out)
    dataset = split(dataset, config)
    config = dataclasses.replace(config, data=dataset.locator,
                                 data_dir=None if config.data_dir is None else str(Path(config.data_dir).resolve()))
    check_data(model, dataset, config)
    distributed.init_from_environment(torch.device(config.device))
    distributed.barrier()            # every process has checked `out` before the first one writes to it
    with _writer_lock(out), seeded(config.seed, torch.device(config.device)):
        if out is not None and distributed.is_main():
            write_json_atomic(out / CONFIG_FILE, model_config_document(
                model.config, train=dataclasses.asdict(config), data=data_description(dataset)))
        optimizer = make_optimizer(model, config, len(dataset.train))
        return _run(model, optimizer, dataset, config, out, TrainingState(), progress, log, on_evaluation)


def _writer_lock(run_dir: Path | None):
    """The run directory's lock, held by the process that writes it (rank 0); none for a run in memory."""
    return locked(run_dir) if run_dir is not None and distributed.is_main() else contextlib.nullcontext()


def resume(run_dir, *, epochs: float | None = None, max_samples: int | None = None, device: str | None = None,
           progress: bool = True, log=print) -> VAE:
    """Continue the run in `run_dir` from its checkpoint, optionally with a new budget or device. A run
    stopped before its first checkpoint (only config.json written) starts again from its first step, with
    the model rebuilt from its configuration and seed, as `aevb train` builds it."""
    run_dir = Path(run_dir)
    document = read_config(run_dir)
    if "train" not in document:
        raise InputError(f"{run_dir} holds a saved model, not a training run: there is nothing to resume")
    changes = {k: v for k, v in (("epochs", epochs), ("max_samples", max_samples), ("device", device)) if v is not None}
    if "epochs" in changes or "max_samples" in changes:
        changes.setdefault("epochs", epochs)
        changes.setdefault("max_samples", max_samples)
    config = dataclasses.replace(TrainConfig.from_dict(document["train"], f"{run_dir / CONFIG_FILE}'s \"train\" section"),
                                 **changes)
    distributed.init_from_environment(torch.device(config.device))
    dataset = run_data(run_dir, config, log)                   # checked before the lock: a refusal touches nothing
    recorded = (document.get("data") or {}).get("n_train")
    if recorded is not None and recorded != len(dataset.train):
        raise InputError(f"{config.data} now gives {len(dataset.train):,} training rows, and {run_dir}'s checkpoint was "
                         f"made on {recorded:,}: put back the data the run was trained on, or start a new run")
    with _writer_lock(run_dir), seeded(None, torch.device(config.device)):   # the checkpoint's generators, then the caller's
        if not (run_dir / CHECKPOINT_FILE).exists():
            return _start_again(run_dir, document, config, dataset, progress, log)
        return _resume_locked(run_dir, document, config, dataset, progress, log)


def _resume_locked(run_dir: Path, document: dict, config: TrainConfig, dataset, progress, log) -> VAE:
    model = model_from_document(document, run_dir)
    check_data(model, dataset, config)
    saved, best_weights, optimizer = checkpointing.restore(
        run_dir, model, lambda model: make_optimizer(model.to(config.device), config, len(dataset.train)))
    set_weight_decay(optimizer, config, len(dataset.train))     # the config, not the saved groups, decides
    state = TrainingState(**saved)
    if distributed.is_main():
        log(f"resuming {run_dir} at {state.samples_seen:,} samples seen (epoch {state.epoch})")
        write_json_atomic(run_dir / CONFIG_FILE, {**document, "train": dataclasses.asdict(config)})
    return _run(model, optimizer, dataset, config, run_dir, state, progress, log, best_weights=best_weights)


def _start_again(run_dir: Path, document: dict, config: TrainConfig, dataset, progress, log) -> VAE:
    """A run with a config.json and no checkpoint, trained from its first step."""
    torch.manual_seed(config.seed)                 # the model's initial weights, as `aevb train` draws them
    model = model_from_document(document, run_dir)
    check_data(model, dataset, config)
    if distributed.is_main():
        log(f"{run_dir} has no checkpoint yet: training it from its first step")
        write_json_atomic(run_dir / CONFIG_FILE, {**document, "train": dataclasses.asdict(config)})
    torch.manual_seed(config.seed)
    return _run(model, make_optimizer(model, config, len(dataset.train)), dataset, config, run_dir, TrainingState(),
                progress, log)


def _run(model, optimizer, dataset, config: TrainConfig, out: Path | None, state: TrainingState, progress, log,
         on_evaluation=None, best_weights: dict | None = None) -> VAE:
    device = distributed.init_from_environment(torch.device(config.device))
    model.to(device)
    main = distributed.is_main()
    objective = plain_objective = Objective(model, config)
    if distributed.world_size() > 1:
        objective = DistributedDataParallel(objective)
    binarization = BINARIZATIONS[config.binarize]
    train_x = binarization.prepare(dataset.train, config.seed).to(device)          # [N, D]
    eval_sets = evaluation_sets(dataset, config, binarization, device)
    n_train, latent_dim, draws = len(train_x), model.config.latent_dim, config.draws
    budget = config.budget(n_train)
    next_evaluation = EVAL_SPACINGS[config.eval_spacing]
    next_eval = next_evaluation(state.samples_seen, config, n_train)
    started = time.perf_counter() - state.seconds
    bar = tqdm(total=budget, initial=state.samples_seen, unit="img", unit_scale=True, dynamic_ncols=True,
               disable=not (progress and main and sys.stderr.isatty()), desc="training")
    report = bar.write if not bar.disable else log
    running_bound, running_count = torch.zeros((), device=device), 0
    low_precision = PRECISIONS[config.precision]
    autocast = torch.autocast(device.type, dtype=low_precision or torch.float32, enabled=low_precision is not None)
    if low_precision is torch.bfloat16 and device.type == "cpu" and not dense.ONEDNN_BF16 and main:
        report("note: this CPU has no native bfloat16 products (AVX512_BF16 or AMX); PyTorch emulates them, "
               "slower than --precision fp32")

    checkpointing_run = main and out is not None
    if checkpointing_run and state.step == 0 and not (out / CHECKPOINT_FILE).exists():
        checkpointing.save(model, optimizer, state, best_weights, out)        # resumable from its first moment
    model.train()
    first_step = state.step
    end = state.samples_seen if watching.patience_spent(state, config) else budget   # a resumed run that had stopped
    for indices in minibatches(state, config.seed, n_train, config.batch_size, end):
        # Every process draws the randomness of the whole global minibatch, then keeps its rows.
        # index_select: a seventh of the time of train_x[indices] for these uint8 rows here.
        indices = indices.to(device)
        x = binarization.per_batch(train_x.index_select(0, indices))          # [M, D]
        noise = torch.randn(draws, len(indices), latent_dim, device=device)   # ε [L, M, Nz]
        rows = distributed.my_rows(len(indices))
        # The loss is −mean bound; DDP averages gradients over the W processes: −W·Σ_rows / M makes
        # that the global mean.
        scale = -distributed.world_size() / len(indices)
        plain_objective.beta = kl_weight(config.beta, config.kl_warmup, state.step)
        bound_sum = _bound_and_gradients(objective, x[rows], noise[:, rows], scale, autocast)
        if not distributed.all_true(torch.isfinite(bound_sum)):
            raise TrainingDiverged(_divergence(state, config, f"the bound became {float(bound_sum):g}"))
        set_step_size(optimizer, config, Where(state.step, state.samples_seen, budget, n_train, state.lr_reductions))
        fused_step(optimizer)
        state.step += 1
        bar.update(len(indices))
        running_bound += bound_sum / max(1, rows.stop - rows.start)
        running_count += 1
        if not bar.disable and state.step % 50 == 0:
            bar.set_postfix_str(f"bound {running_bound.item() / running_count:.2f}")
            running_bound, running_count = torch.zeros((), device=device), 0
        if state.samples_seen >= next_eval or state.samples_seen >= budget:
            state.seconds = time.perf_counter() - started
            if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):   # the same on every process
                raise TrainingDiverged(_divergence(state, config, "a weight became NaN or infinite"))
            # Every process evaluates (the same weights, the same seeded noise: the same numbers), so every
            # one takes the same decisions on the best weights, the step size and stopping.
            state.metrics.append(evaluate(model, eval_sets, state, n_train, config.validation_k))
            if watching.observe(state, state.metrics[-1], config):
                best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if main:
                report(describe(state.metrics[-1], n_train))
                if on_evaluation is not None:
                    on_evaluation(state.metrics[-1])
            if checkpointing_run:
                checkpointing.save(model, optimizer, state, best_weights, out)
            next_eval = next_evaluation(state.samples_seen, config, n_train)
            if watching.patience_spent(state, config):
                if main:
                    report(f"early stopping: {config.early_stopping} evaluations in a row without a better "
                           "validation bound")
                break
    bar.close()
    if checkpointing_run and state.step == first_step:   # a resumed run with nothing left to do: its files
        checkpointing.save(model, optimizer, state, best_weights, out)    # are derived from its checkpoint again
    if best_weights is not None:
        model.load_state_dict(best_weights)       # what the run keeps: the best weights on the validation rows
        if main:
            report(watching.describe_best(state, config))
    distributed.barrier()
    return model


class TrainingDiverged(InputError):
    """The bound or a weight became NaN or infinite; the run directory keeps its last finite checkpoint."""


def _divergence(state: TrainingState, config: TrainConfig, what: str) -> str:
    kept = (f"its last checkpoint, at {state.metrics[-1]['samples_seen']:,} datapoints, is kept" if state.metrics
            else "its checkpoint from before the first step is kept")
    return (f"training diverged at minibatch {state.step + 1} ({state.samples_seen:,} datapoints seen): {what}; "
            f"{kept}. Try a smaller --lr (this run: {config.learning_rate:g}) or another --optimizer")
