"""fused_step: the optimiser's update bit for bit, by a direct call of its fused kernel."""

import pytest
import torch

import aevb
from aevb.kernels.fused_step import _state_lists, fused_step

OPTIMIZERS = [(torch.optim.Adam, dict(lr=1e-3, weight_decay=1e-4)),
              (torch.optim.Adam, dict(lr=3e-2, betas=(0.5, 0.9), eps=1e-6)),
              (torch.optim.Adagrad, dict(lr=0.02, weight_decay=2e-5)),
              (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, eps=1e-8))]


def trajectory(optimizer_class, options, step, steps=4):
    torch.manual_seed(0)
    model = aevb.VAE(30, 3, hidden=(16,))
    optimizer = optimizer_class(model.parameters(), **options, fused=True)
    x = torch.rand(20, 30).round()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        (-aevb.elbo(model, x).mean()).backward()
        step(optimizer)
    return model, optimizer


@pytest.mark.parametrize("optimizer_class, options", OPTIMIZERS)
def test_the_update_and_the_state_equal_the_optimizers_own(optimizer_class, options):
    ours, our_optimizer = trajectory(optimizer_class, options, fused_step)
    theirs, their_optimizer = trajectory(optimizer_class, options, lambda optimizer: optimizer.step())
    assert _state_lists(our_optimizer) is not None            # after the first step the direct call is taken
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(our_optimizer.state.values(), their_optimizer.state.values()):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_adams_first_step_creates_the_state_adam_creates_without_calling_step():
    ours, our_optimizer = trajectory(torch.optim.Adam, dict(lr=1e-3), fused_step, steps=1)
    theirs, their_optimizer = trajectory(torch.optim.Adam, dict(lr=1e-3), lambda optimizer: optimizer.step(), steps=1)
    for a, b in zip(our_optimizer.state.values(), their_optimizer.state.values()):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))
    assert our_optimizer.state_dict()["state"].keys() == their_optimizer.state_dict()["state"].keys()


def test_cases_it_does_not_cover_go_through_the_optimizer():
    model = aevb.VAE(30, 3, hidden=(16,))
    assert _state_lists(torch.optim.Adam(model.parameters(), fused=True)) is None            # no state yet
    _, amsgrad = trajectory(torch.optim.Adam, dict(amsgrad=True), lambda optimizer: optimizer.step(), steps=1)
    assert _state_lists(amsgrad) is None
    _, plain = trajectory(torch.optim.SGD, dict(lr=0.1), lambda optimizer: optimizer.step(), steps=1)
    assert _state_lists(plain) is None
