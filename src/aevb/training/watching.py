"""Watching the validation bound: the best weights so far, early stopping and the plateau schedule.

After every evaluation the run's validation ELBO (or its IWAE bound L_k: `validation_k`) is compared with the best so far; it counts as better
only by more than `min_improvement` nats per datapoint (scikit-learn's `tol`). The best one's weights are
what the run keeps (model.safetensors, and every verb reads them); `early_stopping` evaluations in a row
without a better one end the run; the `plateau` schedule halves the step size after every
PLATEAU_PATIENCE of them. Everything it counts lives in the training state, which every checkpoint
saves, so a run killed while it waits out its patience resumes to the same decisions.
"""

from __future__ import annotations

from .evaluation import watched_bound
from .schedules import PLATEAU_PATIENCE

STILL_IMPROVING_WITHIN = 2   # a best bound among the last this many evaluations of a run means it was still improving


def observe(state, row: dict, config) -> bool:
    """Record the evaluation `row` in `state`; True when its validation bound is the best so far."""
    bound = row.get(watched_bound(config))
    if bound is None:
        return False
    if state.best is None or bound > state.best["bound"] + config.min_improvement:
        state.best = {**{k: row[k] for k in ("step", "samples_seen", "epoch")}, "bound": bound}
        state.evaluations_since_best = 0
        return True
    state.evaluations_since_best += 1
    if config.lr_schedule == "plateau" and state.evaluations_since_best % PLATEAU_PATIENCE == 0:
        state.lr_reductions += 1
    return False


def patience_spent(state, config) -> bool:
    """Whether early stopping ends the run here."""
    return config.early_stopping is not None and state.evaluations_since_best >= config.early_stopping


def describe_best(state, config) -> str:
    """What the run kept, and whether more training could have done better."""
    best = state.best
    name = "ELBO" if config.validation_k == 1 else f"IWAE bound L_{config.validation_k}"
    kept = (f"best validation {name} {best['bound']:.2f} nats at step {best['step']:,} (epoch "
            f"{best['epoch']:g}); model.safetensors holds those weights")
    if patience_spent(state, config) or state.evaluations_since_best >= STILL_IMPROVING_WITHIN:
        return kept
    return (f"{kept}. The validation bound was still improving when the budget ended: a longer one (--epochs, "
            "--max-samples) may give a better model")
