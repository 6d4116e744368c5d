"""Make the figures of one page of the guide (docs/guide/), and print the numbers the page quotes.

    python docs/guide/make_figures.py PAGE [--budget full|small] [--out docs/guide/figures]

PAGE is one of: bound, reparameterisation, estimators, autoencoder, beta, kl-direction, mixture,
likelihoods, bug (or `all`). Every page trains on scikit-learn's 8×8 digits (offline, 1 797 images), so
`--budget full` (the pages' figures) takes a minute or two per page on a laptop CPU; `--budget small` runs
the same code on a tiny budget, as the test suite does, so the pages cannot go stale. Each page writes
PAGE-*.png and PAGE.json (its numbers) into --out.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import aevb
from aevb.apps.pictures import grid_png
from aevb.datasets.binarization import fixed_draw
from aevb.estimators.linear_gaussian import exact_elbo, exact_gap, exact_log_likelihood
from aevb.io.files import write_bytes_atomic, write_json_atomic
from aevb.training.loop import TrainingDiverged

FIGURES = Path(__file__).parent / "figures"
BUDGETS = {"full": {"epochs": 200, "repeats": 400, "steps": 3000},
           "small": {"epochs": 2, "repeats": 20, "steps": 30}}


def figure(columns=1, width=4.5, height=3.6):
    canvas = Figure(figsize=(width * columns, height))
    FigureCanvasAgg(canvas)
    return canvas, canvas.subplots(1, columns, squeeze=False)[0]


def save(canvas, out: Path, name: str) -> None:
    canvas.tight_layout()
    canvas.savefig(out / f"{name}.png", dpi=100)


def digits(binary: bool = True):
    """scikit-learn's digits (aevb.datasets "digits", intensities in [0, 1]): train and test [N, 64], their
    labels, binarised once with a fixed seed when `binary`."""
    data = aevb.datasets.load("digits", log=lambda *a: None)
    train, test = (fixed_draw(x, seed=0) if binary else x for x in (data.train, data.test))
    return train, test, data.labels["train"], data.labels["test"]


def fit(x: torch.Tensor, budget: dict, latent_dim=2, hidden=(200,), likelihood="bernoulli", seed=0,
        gaussian_variance="network", **train_options):
    """A VAE trained with aevb.train on the rows x [N, D] (no binarisation: x is used as given)."""
    torch.manual_seed(seed)
    model = aevb.VAE(x.shape[1], latent_dim, hidden=hidden, likelihood=likelihood, gaussian_variance=gaussian_variance)
    dataset = aevb.Dataset("guide", x, None, x[:2], (8, 8), likelihood, "the guide's data")
    config = aevb.TrainConfig(data=None, binarize="none", epochs=budget["epochs"], seed=seed, **train_options)
    return aevb.train(model, dataset, config, out=None, progress=False, log=lambda *a: None)


# 1. The bound and its gap -------------------------------------------------------------------------------

def page_bound(budget, out):
    """Linear-Gaussian model on standardised digits: exact log p(x), exact ELBO and their gap during training."""
    train, _, _, _ = digits(binary=False)
    x = ((train - train.mean(0)) / (train.std(0) + 0.1)).double()                   # [N, 64]
    torch.manual_seed(0)
    model = aevb.VAE(64, 5, hidden=(), likelihood="gaussian", gaussian_mean="linear",
                     gaussian_variance="learned").double()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    rows = []
    for step in range(budget["steps"] + 1):
        if step % max(1, budget["steps"] // 60) == 0:
            with torch.no_grad():
                log_px, bound, gap = (f(model, x).mean().item() for f in (exact_log_likelihood, exact_elbo, exact_gap))
            rows.append({"step": step, "log_px": log_px, "elbo": bound, "gap": gap})
        batch = x[torch.randint(len(x), (100,))]
        optimizer.zero_grad()
        (-aevb.elbo(model, batch).mean()).backward()
        optimizer.step()
    canvas, (left, right) = figure(2)
    steps = [r["step"] for r in rows]
    left.plot(steps, [r["log_px"] for r in rows], label="log p(x), exact")
    left.plot(steps, [r["elbo"] for r in rows], label="ELBO, exact")
    left.set(xlabel="Adam step (M = 100, L = 1)", ylabel="nats per digit", title="the bound under log p(x)")
    left.legend()
    right.plot(steps, [r["gap"] for r in rows], color="C2", label="KL(q ‖ p(z|x)), closed form")
    right.plot(steps, [r["log_px"] - r["elbo"] for r in rows], "k:", label="log p(x) − ELBO")
    right.set(xlabel="Adam step", ylabel="nats per digit", yscale="log", title="KL(q(z|x) ‖ p(z|x)), exact")
    right.legend()
    save(canvas, out, "bound-curves")
    last = rows[-1]
    return {"final": last, "identity_error": abs(last["log_px"] - last["elbo"] - last["gap"]),
            "largest_gap": max(r["gap"] for r in rows)}


# 2. The reparameterisation trick --------------------------------------------------------------------------

def gradient_estimates(model, x, draws: int, repeats: int, reparameterised: bool) -> torch.Tensor:
    """`repeats` estimates [R, B, 2·Nz] of ∇_(μ, log σ²) E_q[log p(x|z)], each from `draws` draws of z."""
    q = model.encode(x)
    mean, log_var = q.base_dist.loc.detach(), (2 * q.base_dist.scale.log()).detach()            # [B, Nz]
    estimates = []
    for _ in range(repeats):
        mu, lv = mean.clone().requires_grad_(), log_var.clone().requires_grad_()
        eps = torch.randn(draws, *mu.shape)
        z = mu + (0.5 * lv).exp() * eps                                                          # [L, B, Nz]
        if not reparameterised:
            z = z.detach()                       # score function: f(z) ∇ log q(z), f held fixed
        f = model.decode(z).log_prob(x)                                                          # [L, B]
        if reparameterised:
            objective = f.mean(0).sum()
        else:
            log_q = torch.distributions.Normal(mu, (0.5 * lv).exp()).log_prob(z).sum(-1)        # [L, B]
            objective = (f.detach() * log_q).mean(0).sum()
        gradients = torch.autograd.grad(objective, (mu, lv))
        estimates.append(torch.cat(gradients, -1))
    return torch.stack(estimates)


def page_reparameterisation(budget, out):
    train, test, _, _ = digits()
    model = fit(train, budget, latent_dim=2)
    x = test[:20]
    draws = [1, 4, 16, 64]
    variances = {}
    for name, reparameterised in (("reparameterisation", True), ("score function (REINFORCE)", False)):
        variances[name] = [gradient_estimates(model, x, L, budget["repeats"], reparameterised).var(0).mean().item()
                           for L in draws]
    canvas, (ax,) = figure()
    for name, values in variances.items():
        ax.loglog(draws, values, "o-", label=name)
    ax.set(xlabel="L, draws of z per estimate", ylabel="variance per gradient coordinate",
           title="∇ E_q[log p(x|z)] w.r.t. (μ, log σ²)")
    ax.legend()
    save(canvas, out, "reparameterisation-variance")
    ratio = [score / reparameterised for reparameterised, score in zip(*variances.values())]
    return {"draws": draws, "variance": variances, "score_over_reparameterised": ratio}


# 3. Estimators A and B, L and M ---------------------------------------------------------------------------

def page_estimators(budget, out):
    train, _, _, _ = digits()
    model = fit(train, budget, latent_dim=10)
    repeats = budget["repeats"]
    with torch.no_grad():
        x = train[:200]
        q = model.encode(x)
        analytic = aevb.objectives.analytic_kl(q, model.prior, None)                         # [B]
        z = q.rsample((repeats,))                                                            # [R, B, Nz]
        one_draw = q.log_prob(z) - model.prior.log_prob(z)                                   # [R, B] estimator A's KL, L = 1
        per_point = {name: torch.stack([aevb.elbo(model, train, kl=kl) for _ in range(repeats)])   # [R, N]
                     for name, kl in (("A", "mc"), ("B", "analytic"))}
    between = per_point["B"].mean(0).var().item()               # variance of L(x_i) across datapoints
    within = {name: v.var(0).mean().item() for name, v in per_point.items()}   # variance of one draw, per datapoint
    sizes, draws = [1, 10, 100], [1, 10, 100]
    # Std of the minibatch estimate of the mean bound (1/M) Σ_i ℓ̂_L(x_i), drawn i.i.d.: √((between + within/L) / M);
    # and the same measured: `repeats` minibatches per (M, L), each with its own draws of z.
    predicted = {L: [math.sqrt((between + within["B"] / L) / M) for M in sizes] for L in draws}
    with torch.no_grad():
        measured = {L: [torch.stack([aevb.elbo(model, train[torch.randint(len(train), (M,))], samples=L).mean()
                                     for _ in range(repeats)]).std().item() for M in sizes] for L in draws}
    canvas, (left, right) = figure(2)
    left.hist(one_draw[:, 0].numpy(), bins=40, color="C1", alpha=0.7, label="log q(z|x) − log p(z), z ~ q (A, L = 1)")
    left.axvline(analytic[0].item(), color="k", label="KL(q ‖ p), closed form (B)")
    left.set(xlabel="nats", title="the KL term of one digit")
    left.legend(fontsize=7)
    for colour, L in enumerate(draws):
        right.loglog(sizes, predicted[L], "-", color=f"C{colour}", label=f"L = {L}: √((V_x + V_z / L) / M)")
        right.loglog(sizes, measured[L], "o", color=f"C{colour}")
    right.set(xlabel="M, minibatch size", ylabel="std of the minibatch bound (nats)",
              title="estimator B: measured (dots), predicted (lines)")
    right.legend(fontsize=7)
    save(canvas, out, "estimators-kl-and-minibatch")
    return {"kl_closed_form": analytic[0].item(), "kl_one_draw_mean": one_draw[:, 0].mean().item(),
            "kl_one_draw_std": one_draw[:, 0].std().item(), "variance_between_datapoints": between,
            "variance_of_one_draw": within,
            "std_M100": {L: {"predicted": predicted[L][2], "measured": measured[L][2]} for L in draws}}


# 4. Autoencoder against VAE ---------------------------------------------------------------------------------

def nearest_digits(images: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> dict:
    """For decoded images [n, D]: the mean root-mean-square pixel distance to the nearest row of `reference`,
    and the entropy (bits) of that nearest row's label: log₂ 10 = 3.32 when every class is drawn alike."""
    distance, nearest = torch.cdist(images, reference).min(1)
    shares = torch.bincount(labels[nearest], minlength=10).double() / len(images)
    entropy = -(shares[shares > 0] * shares[shares > 0].log2()).sum().item()
    return {"distance_to_nearest_digit": (distance / math.sqrt(images.shape[1])).mean().item(),
            "entropy_of_nearest_label_bits": entropy}


def page_autoencoder(budget, out):
    train, test, train_labels, _ = digits()
    models = {"autoencoder": fit(train, budget, objective="autoencoder"), "VAE": fit(train, budget)}
    torch.manual_seed(1)
    standard = torch.randn(400, 2)                                                            # z ~ N(0, I)
    with torch.no_grad():
        codes = {name: model.encode(train).mean for name, model in models.items()}           # [N, 2] each
    fitted = torch.distributions.MultivariateNormal(codes["autoencoder"].mean(0), torch.cov(codes["autoencoder"].T))
    draws = {"VAE, z ~ N(0, I)": ("VAE", standard), "autoencoder, z ~ N(0, I)": ("autoencoder", standard),
             "autoencoder, z ~ a Gaussian fitted to its codes": ("autoencoder", fitted.sample((400,)))}
    numbers = {"test digits themselves": nearest_digits(test, train, train_labels)}
    for name, (model, z) in draws.items():
        with torch.no_grad():
            images = models[model].decode(z).mean                                               # [400, 64]
        numbers[name] = nearest_digits(images, train, train_labels)
        slug = name.split(",")[0].lower() + ("-fitted" if "fitted" in name else "")
        write_bytes_atomic(out / f"autoencoder-samples-{slug}.png",
                           grid_png(images[:50].view(-1, 8, 8).numpy(), columns=10, scale=3, title=name))
    canvas, axes = figure(2)
    for ax, name in zip(axes, models):
        ax.scatter(*codes[name].T, c=train_labels, cmap="tab10", s=4)
        ax.scatter(*standard[:100].T, marker="x", color="k", s=12, label="z ~ N(0, I)")
        if name == "autoencoder":
            ax.scatter(*draws["autoencoder, z ~ a Gaussian fitted to its codes"][1][:100].T, marker="+", color="r",
                       s=16, label="z ~ Gaussian fitted to the codes")
        ax.set(title=f"{name}: codes of the training digits", xlabel="z₁", ylabel="z₂")
        ax.legend(fontsize=7)
    save(canvas, out, "autoencoder-latents")
    return numbers


# 5. β and posterior collapse -------------------------------------------------------------------------------

def page_beta(budget, out):
    train, test, _, _ = digits()
    rows = []
    betas = [0.25, 0.5, 1, 2, 4, 8] if budget["epochs"] > 10 else [0.5, 8]
    for beta in betas:
        model = fit(train, budget, latent_dim=10, beta=beta)
        with torch.no_grad():
            q = model.encode(test)
            rate = aevb.objectives.analytic_kl(q, model.prior, None).mean().item()
            distortion = -model.decode(q.rsample()).log_prob(test).mean().item()
        rows.append({"beta": beta, "rate": rate, "distortion": distortion,
                     "active_units": aevb.active_units(model, test)})
    canvas, (left, right) = figure(2)
    left.plot([r["rate"] for r in rows], [r["distortion"] for r in rows], "o-")
    for r in rows:
        left.annotate(f"β = {r['beta']:g}", (r["rate"], r["distortion"]), fontsize=8)
    left.set(xlabel="rate: KL(q(z|x) ‖ p(z)), nats", ylabel="distortion: −E_q log p(x|z), nats",
             title="rate–distortion on test digits")
    right.semilogx([r["beta"] for r in rows], [r["active_units"] for r in rows], "o-", base=2)
    right.set(xlabel="β", ylabel="active units (of 10)", title="posterior collapse as β grows", ylim=(0, 10.5))
    save(canvas, out, "beta-rate-distortion")
    return {"rows": rows}


# 6. Forward and reverse KL ---------------------------------------------------------------------------------

def two_modes() -> torch.distributions.Distribution:
    mixture = torch.distributions.Categorical(torch.tensor([0.5, 0.5]))
    return torch.distributions.MixtureSameFamily(mixture, torch.distributions.Normal(torch.tensor([-2.5, 2.5]),
                                                                                       torch.tensor([0.5, 0.5])))


def page_kl_direction(budget, out):
    target = two_modes()
    # Forward KL(p ‖ q) over Gaussians q is minimised by matching p's mean and variance (mass-covering).
    draws = target.sample((100_000,))
    forward = (draws.mean().item(), draws.std().item())
    # Reverse KL(q ‖ p) = E_q[log q − log p], by the reparameterisation trick (as the ELBO is fitted).
    torch.manual_seed(0)
    mean, log_std = torch.tensor(1.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)   # q = N(1, 1)
    optimizer = torch.optim.Adam([mean, log_std], lr=0.02)
    for _ in range(budget["steps"]):
        z = mean + log_std.exp() * torch.randn(256)
        loss = (torch.distributions.Normal(mean, log_std.exp()).log_prob(z) - target.log_prob(z)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    reverse = (mean.item(), log_std.exp().item())
    grid = torch.linspace(-5, 5, 400)
    canvas, (ax,) = figure(width=6)
    ax.fill_between(grid, target.log_prob(grid).exp(), color="0.85", label="p: two modes")
    for (m, s), name in ((forward, "argmin KL(p ‖ q): covers both"), (reverse, "argmin KL(q ‖ p): picks one")):
        ax.plot(grid, torch.distributions.Normal(m, s).log_prob(grid).exp(), label=name)
    ax.set(xlabel="z", ylabel="density", title="a Gaussian q fitted to a two-mode p")
    ax.legend(fontsize=8)
    save(canvas, out, "kl-direction-fits")
    return {"forward": {"mean": forward[0], "std": forward[1]}, "reverse": {"mean": reverse[0], "std": reverse[1]}}


# 7. A mixture against a VAE ---------------------------------------------------------------------------------

def page_mixture(budget, out):
    from aevb.baselines import BernoulliMixture

    train, test, _, _ = digits()
    numbers = {}
    k = 50 if budget["epochs"] > 10 else 5
    for components in (10, 50):
        mixture = BernoulliMixture(components, random_state=0).fit(train.numpy())
        numbers[f"mixture of {components} Bernoulli products"] = float(mixture.score_samples(test.numpy()).mean())
        samples = mixture.sample(40, random_state=0)[0]
    model = fit(train, budget, latent_dim=5)
    with torch.no_grad():
        numbers["VAE, Nz = 5 (log p(x), importance sampled)"] = aevb.log_likelihood(model, test, k=k).mean().item()
        numbers["VAE, Nz = 5 (ELBO)"] = aevb.elbo(model, test).mean().item()
        torch.manual_seed(0)
        vae_samples = model.decode(torch.randn(40, 5)).sample()
    write_bytes_atomic(out / "mixture-samples-mixture.png",
                       grid_png(np.asarray(samples, np.float32).reshape(-1, 8, 8), columns=10, scale=3,
                                title="mixture of 50 Bernoulli products: samples"))
    write_bytes_atomic(out / "mixture-samples-vae.png",
                       grid_png(vae_samples.view(-1, 8, 8).numpy(), columns=10, scale=3, title="VAE: samples"))
    return {"test_log_likelihood": numbers, "k": k}


# 8. Choosing a likelihood -----------------------------------------------------------------------------------

def page_likelihoods(budget, out):
    binary_train, binary_test, _, _ = digits()
    grey_train, grey_test, _, _ = digits(binary=False)
    levels = torch.round(grey_test * 255) / 255
    cases = [("bernoulli", "binary", binary_train, binary_test, {}),
             ("bernoulli", "grey", grey_train, grey_test, {}),
             ("continuous-bernoulli", "grey", grey_train, grey_test, {}),
             ("gaussian", "grey", grey_train, grey_test, {"gaussian_variance": "network"}),
             ("gaussian", "grey", grey_train, grey_test, {"gaussian_variance": "fixed"}),
             ("discretized-logistic", "8-bit grey", torch.round(grey_train * 255) / 255, levels, {})]
    rows = []
    for likelihood, data, train, test, options in cases:
        row = {"likelihood": likelihood, "data": data, **options}
        try:
            model = fit(train, budget, latent_dim=5, likelihood=likelihood, **options)
            with torch.no_grad():
                row["elbo"] = aevb.elbo(model, test).mean().item()
        except TrainingDiverged as error:                  # what aevb says when a density runs away
            row["diverged"] = str(error)
        rows.append(row)
    lam = torch.linspace(0.001, 0.999, 500)
    log_normaliser = torch.where((lam - 0.5).abs() < 1e-3, torch.full_like(lam, math.log(2)),
                                 torch.log((2 * torch.atanh(1 - 2 * lam)) / (1 - 2 * lam)))
    canvas, (ax,) = figure()
    ax.plot(lam, log_normaliser)
    ax.set(xlabel="λ, the Bernoulli's mean", ylabel="log C(λ)",
           title="what the Bernoulli misses on [0, 1]: log C(λ)")
    save(canvas, out, "likelihoods-normaliser")
    return {"rows": rows}


# 9. A common bug -------------------------------------------------------------------------------------------

class VarianceBug(torch.nn.Module):
    """Trains the model's networks as a tutorial with the bug does: z = μ + exp(log σ²) ε (σ² where σ is
    due), while the KL term is the closed form for σ = exp(½ log σ²). The q it samples from is then
    N(μ, exp(2 log σ²)), not the one its KL describes."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def loss(self, x):
        q = self.model.encode(x)
        mean, log_var = q.base_dist.loc, 2 * q.base_dist.scale.log()
        z = mean + log_var.exp() * torch.randn_like(mean)                    # the bug: exp(log σ²) = σ²
        kl = 0.5 * (mean ** 2 + log_var.exp() - 1 - log_var).sum(-1)
        return (kl - self.model.decode(z).log_prob(x)).mean()


def honest_bound_of_buggy(model, x):
    """The ELBO of the q the buggy code really samples from, N(μ, σ⁴): the same networks, evaluated right."""
    q = model.encode(x)
    mean, scale = q.base_dist.loc, q.base_dist.scale ** 2
    true_q = torch.distributions.Independent(torch.distributions.Normal(mean, scale), 1)
    z = true_q.rsample()
    return model.decode(z).log_prob(x) - torch.distributions.kl_divergence(true_q, model.prior)


def page_bug(budget, out):
    train, test, _, _ = digits()
    right = fit(train, budget, latent_dim=10)
    torch.manual_seed(0)
    buggy = aevb.VAE(64, 10, hidden=(200,))
    trainer, optimizer = VarianceBug(buggy), torch.optim.Adam(buggy.parameters(), lr=1e-3)
    for _ in range(budget["epochs"]):
        for indices in torch.randperm(len(train)).split(100):
            optimizer.zero_grad()
            trainer.loss(train[indices]).backward()
            optimizer.step()
    with torch.no_grad():
        torch.manual_seed(0)
        numbers = {"right": {"elbo": aevb.elbo(right, test).mean().item()},
                   "bug": {"elbo_it_reports": -trainer.loss(test).item(),
                           "elbo_of_its_real_q": honest_bound_of_buggy(buggy, test).mean().item()}}
        for name, model in (("right", right), ("bug", buggy)):
            numbers[name]["posterior_std"] = model.encode(test).base_dist.scale.mean().item()
            samples = model.decode(torch.randn(40, 10)).mean
            write_bytes_atomic(out / f"bug-samples-{name}.png", grid_png(samples.view(-1, 8, 8).numpy(), columns=10,
                                                                         scale=3, title=f"{name}: decoded z ~ N(0, I)"))
    return numbers


PAGES = {"bound": page_bound, "reparameterisation": page_reparameterisation, "estimators": page_estimators,
         "autoencoder": page_autoencoder, "beta": page_beta, "kl-direction": page_kl_direction,
         "mixture": page_mixture, "likelihoods": page_likelihoods, "bug": page_bug}


def make(page: str, budget: str = "full", out: Path = FIGURES) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    numbers = PAGES[page](BUDGETS[budget], out)
    write_json_atomic(out / f"{page}.json", {"budget": budget, "cpu": torch.backends.cpu.get_cpu_capability(),
                                             **numbers})
    return numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", choices=[*PAGES, "all"])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    parser.add_argument("--out", type=Path, default=FIGURES)
    args = parser.parse_args()
    for page in PAGES if args.page == "all" else [args.page]:
        print(page, json.dumps(make(page, args.budget, args.out), indent=1, default=float))


if __name__ == "__main__":
    main()
