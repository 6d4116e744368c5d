"""One step of a fused torch.optim.Adam or Adagrad by a direct call of its kernel.

`optimizer.step()` spends, on every call, Python time on finding each parameter's state, grouping the
tensors by device and dtype and checking its options — on the CPU about as long as the fused kernel
takes to update the paper's 800 000 weights. `fused_step(optimizer)` hands the optimiser's own state
tensors to `torch._fused_adam_` / `torch._fused_adagrad_` itself: the same update bit for bit, the same
state (so `state_dict()`, checkpoints and resume are unchanged). Adam's state is created before its
first step as `Adam` creates it for fused=True (a float32 step counter, zero moments): `optimizer.step()`
itself imports torch._dynamo on its first call, over a second of a short run's start-up. Any case it does
not cover — several groups; amsgrad, maximize, AdamW, a tensor learning rate; a parameter without a
gradient — goes through `optimizer.step()`.
"""

from __future__ import annotations

import torch

_STATE = {torch.optim.Adam: ("exp_avg", "exp_avg_sq", "step"), torch.optim.Adagrad: ("sum", "step")}


def fused_step(optimizer: torch.optim.Optimizer) -> None:
    if type(optimizer) is torch.optim.Adam and not optimizer.state and _covered(optimizer):
        for p in optimizer.param_groups[0]["params"]:
            optimizer.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                  "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                  "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
    lists = _state_lists(optimizer)
    if lists is None:
        optimizer.step()
        return
    group = optimizer.param_groups[0]
    params, *state, steps = lists
    grads = [p.grad for p in params]
    torch._foreach_add_(steps, 1)
    if type(optimizer) is torch.optim.Adam:
        exp_avgs, exp_avg_sqs = state
        beta1, beta2 = group["betas"]
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                           beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                           maximize=False)
    else:
        (sums,) = state
        torch._fused_adagrad_(params, grads, sums, steps, lr=group["lr"], lr_decay=group["lr_decay"],
                              weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)


def _covered(optimizer) -> bool:
    """Whether the direct kernel call does what optimizer.step() does: one group, fused, none of the options
    it leaves out, every parameter with a gradient."""
    if type(optimizer) not in _STATE or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    return not (not group.get("fused") or group.get("amsgrad") or group.get("maximize") or group.get("differentiable")
                or group.get("decoupled_weight_decay") or any(map(torch.is_tensor, (group["lr"], *group.get("betas", ()))))
                or any(p.grad is None for p in group["params"]))


def _state_lists(optimizer) -> list[list[torch.Tensor]] | None:
    """[params, then each state tensor of every param], or None where optimizer.step() must decide."""
    if not _covered(optimizer):
        return None
    params = optimizer.param_groups[0]["params"]
    if any(p not in optimizer.state for p in params):
        return None
    return [params, *([optimizer.state[p][name] for p in params] for name in _STATE[type(optimizer)])]
