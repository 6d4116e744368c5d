"""Tables: the column types, missing cells, log p(x_observed) and imputation against exact answers."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch.distributions import MultivariateNormal

import aevb
from aevb.datasets.tables import decode, encode, infer_specs
from aevb.errors import InputError
from aevb.estimators.importance import importance_sampling
from aevb.estimators.imputation import impute, sample_imputations
from aevb.model.columns import COLUMN_TYPES, column_spec
from aevb.sklearn import VAEImputer, VariationalAutoencoder

rng = np.random.default_rng(0)
TRAINING_VALUES = {                          # values [300] of a column of each type, as a user's table holds them
    "real": rng.normal(5.0, 3.0, 300),
    "positive": np.exp(rng.normal(1.0, 0.7, 300)),
    "count": rng.poisson(4.0, 300).astype(float),
    "binary": (rng.random(300) < 0.3).astype(float),
    "categorical": rng.integers(0, 3, 300).astype(float),
}
SUPPORT = {                                  # a grid over each type's support, and the width of its cells
    "real": (torch.linspace(-40, 50, 20001, dtype=torch.float64), 90 / 20000),
    "positive": (torch.linspace(1e-6, 200, 200001, dtype=torch.float64), 200 / 200000),
    "count": (torch.arange(0, 200, dtype=torch.float64), 1.0),
    "binary": (torch.tensor([0.0, 1.0], dtype=torch.float64), 1.0),
    "categorical": (torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64), 1.0),
}


def one_column_group(type_name):
    spec = column_spec("x", type_name, TRAINING_VALUES[type_name], ["a", "b", "c"] if type_name == "categorical" else None)
    return COLUMN_TYPES[type_name]([spec]).double()


@pytest.mark.parametrize("type_name", sorted(COLUMN_TYPES))
def test_each_column_type_is_a_normalised_likelihood_whose_samples_have_its_point_as_mean(type_name):
    group = one_column_group(type_name)
    with torch.no_grad():
        group.log_var.fill_(math.log(0.5)) if hasattr(group, "log_var") else None
    out = torch.randn(group.output_width, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    grid, width = SUPPORT[type_name]
    # Σ_x p(x|z) = 1 over the support (a Riemann sum for densities, whose grid error is below 1e-4 here).
    total = (group.cell_log_prob(out, grid[:, None]).squeeze(1).exp() * width).sum()
    assert float(total) == pytest.approx(1.0, abs=1e-4)
    draws = group.sample(out.expand(20000, -1)).squeeze(1)                                      # [20000]
    if type_name in ("binary", "categorical"):        # the point is the most probable value
        probabilities = group.cell_log_prob(out, grid[:, None]).squeeze(1).exp()
        assert float(group.point(out)) == float(grid[probabilities.argmax()])
        frequencies = torch.stack([(draws == v).double().mean() for v in grid])
        assert torch.allclose(frequencies, probabilities, atol=4 * math.sqrt(0.25 / 20000))
    else:                                             # the point is E[x|z]: the draws' mean within 4 standard errors
        stderr = float(draws.std()) / math.sqrt(len(draws))
        assert float(draws.mean()) == pytest.approx(float(group.point(out)), abs=4 * stderr)


@pytest.mark.parametrize("type_name", sorted(COLUMN_TYPES))
def test_a_missing_cell_adds_nothing_and_leaves_gradients_finite(type_name):
    values = TRAINING_VALUES[type_name]
    spec = column_spec("x", type_name, values, ["a", "b", "c"] if type_name == "categorical" else None)
    model = aevb.VAE(2, 2, hidden=(8,), likelihood="columns", columns=[spec, {**spec, "name": "y"}])
    x = torch.tensor([[values[0], values[1]], [values[0], math.nan]], dtype=torch.float32)
    p_x = model.decode(model.encode(x).rsample())
    cells = p_x.cell_log_prob(x)                                                                # [2, 2]
    assert cells[1, 1] == 0 and torch.isfinite(cells).all()
    p_x.log_prob(x).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    inputs = model.likelihood.encoder_input(x)                                                  # […, mask]
    assert inputs[1, -1] == 0 and inputs[0, -1] == 1


def real_columns_model(data_dim=5, latent_dim=2, seed=0):
    """A float64 linear model (hidden=()) of real columns: x = shift + scale ⊙ (Wz + b + σ ⊙ ε), so
    p(x) = N(shift + scale ⊙ b, diag(scale) (WWᵀ + diag σ²) diag(scale)), and so is every marginal."""
    g = torch.Generator().manual_seed(seed)
    specs = [{"name": f"c{i}", "type": "real", "shift": float(torch.randn(1, generator=g)),
              "scale": float(0.5 + torch.rand(1, generator=g))} for i in range(data_dim)]
    model = aevb.VAE(data_dim, latent_dim, hidden=(), likelihood="columns", columns=specs).double()
    with torch.no_grad():
        model.likelihood.out.weight.copy_(torch.randn(data_dim, latent_dim, generator=g, dtype=torch.float64))
        model.likelihood.out.bias.copy_(torch.randn(data_dim, generator=g, dtype=torch.float64))
        model.likelihood.groups[0].log_var.copy_((0.2 + torch.rand(data_dim, generator=g, dtype=torch.float64)).log())
        model.encoder_head.weight.zero_()           # q(z|x) = N(0, I), the prior: a proposal whose weights
        model.encoder_head.bias.zero_()             # w = p(x_o|z) are bounded, whatever cells are missing
    return model


def gaussian_of(model):
    """(mean [D], covariance [D, D]) of the real-columns linear model's p(x)."""
    group = model.likelihood.groups[0]
    w, b = model.likelihood.out.weight.detach(), model.likelihood.out.bias.detach()
    scale = group.scale
    covariance = scale[:, None] * (w @ w.T + torch.diag(group.log_var.detach().exp())) * scale[None, :]
    return group.shift + scale * b, covariance


def test_log_likelihood_of_the_observed_cells_is_the_exact_marginal():
    model = real_columns_model(seed=2)
    mean, covariance = gaussian_of(model)
    x = MultivariateNormal(mean, covariance).sample((60,))                                     # [60, 5]
    missing = torch.rand(x.shape, generator=torch.Generator().manual_seed(3)) < 0.4
    x = torch.where(missing, math.nan, x)
    exact = torch.stack([MultivariateNormal(mean[~m], covariance[~m][:, ~m]).log_prob(row[~m]) if (~m).any()
                         else torch.tensor(0.0, dtype=torch.float64) for row, m in zip(x, missing)])
    k = 5000
    result = importance_sampling(model, x, k, seed=0)
    # log p̂_k has standard deviation ≈ √((k/ESS − 1)/k) (the delta method); 5 of them per row, and the
    # bias of log p̂_k (≈ −(k/ESS − 1)/2k) is below 1e-3 here.
    deviation = torch.sqrt((k / result.effective_sample_size - 1) / k)
    assert torch.all((result.log_likelihood - exact).abs() < 5 * deviation + 1e-3)
    assert (exact[missing.all(1)] == 0).all()


def test_imputation_is_the_exact_conditional_mean_of_a_linear_model():
    """E[x_m | x_o] = μ_m + Σ_mo Σ_oo⁻¹ (x_o − μ_o) for the Gaussian p(x); the self-normalised estimate's
    error shrinks as 1/√ESS: with k = 20 000 it is within 0.05 of the exact value here."""
    model = real_columns_model(seed=4)
    mean, covariance = gaussian_of(model)
    x = MultivariateNormal(mean, covariance).sample((20,))
    missing = torch.zeros_like(x, dtype=torch.bool)
    missing[:, [1, 3]] = True
    filled = impute(model, torch.where(missing, math.nan, x), k=20000, seed=0)
    o, m = ~missing[0], missing[0]
    gain = covariance[m][:, o] @ torch.linalg.inv(covariance[o][:, o])
    exact = mean[m] + (x[:, o] - mean[o]) @ gain.T                                               # [20, 2]
    assert torch.equal(filled[:, o], x[:, o])
    assert torch.allclose(filled[:, m], exact, atol=0.05)
    draws = sample_imputations(model, torch.where(missing, math.nan, x), 400, k=20000, seed=0)   # [400, 20, 5]
    conditional_sd = torch.sqrt(torch.diagonal(covariance[m][:, m] - gain @ covariance[o][:, m]))
    assert torch.all((draws[:, :, m].mean(0) - exact).abs() < 5 * conditional_sd / math.sqrt(400) + 0.05)


def mixed_table(n=240, seed=0):
    g = np.random.default_rng(seed)
    size = g.normal(10, 2, n)
    frame = pd.DataFrame({
        "size": size,
        "price": np.exp(0.2 * size + g.normal(0, 0.3, n)),
        "visits": g.poisson(np.exp(0.1 * size)),
        "member": g.random(n) < 1 / (1 + np.exp(-(size - 10))),
        "colour": np.where(size > 10, "red", np.where(g.random(n) < 0.5, "green", "blue")),
    })
    holes = np.random.default_rng(seed + 1).random(frame.shape) < 0.2
    return frame.mask(holes), holes


def test_a_mixed_table_with_missing_cells_trains_scores_imputes_and_samples():
    frame, holes = mixed_table()
    est = VariationalAutoencoder(hidden=(32,), epochs=30, score_k=200, random_state=0).fit(frame)
    assert [s["type"] for s in est.model_.config.columns] == ["real", "positive", "count", "binary", "categorical"]
    scores = est.score_samples(frame)
    assert scores.shape == (len(frame),) and np.isfinite(scores).all()
    samples = est.sample(50, random_state=0)                                                   # codes [50, 5]
    table = decode(samples, est.model_.config.columns)
    assert set(table["colour"]) <= {"blue", "green", "red"} and set(table["member"]) <= {0.0, 1.0}
    assert (table["visits"] == table["visits"].round()).all() and (table["price"] > 0).all()

    imputer = VAEImputer(VariationalAutoencoder(hidden=(32,), epochs=30, random_state=0), k=200).fit(frame)
    filled = imputer.transform(frame)
    assert list(filled.columns) == list(frame.columns) and (filled.index == frame.index).all()
    assert not filled.isna().any().any()
    observed = ~holes
    for c, name in enumerate(frame.columns):
        kept = filled[name][observed[:, c]].to_numpy()
        assert (kept == frame[name][observed[:, c]].to_numpy(dtype=kept.dtype)).all()
    assert set(filled["colour"]) <= {"blue", "green", "red"}
    draws = imputer.sample_imputations(frame, 3)
    assert len(draws) == 3 and all(not d.isna().any().any() for d in draws)


def test_types_are_chosen_from_the_data_and_overridable():
    frame, _ = mixed_table()
    specs = infer_specs(frame, {"visits": "real", "member": "categorical"})
    assert [s["type"] for s in specs] == ["real", "positive", "real", "categorical", "categorical"]
    assert specs[3]["levels"] == ["False", "True"]
    values = encode(frame, specs)
    assert np.isnan(values).sum() == frame.isna().sum().sum()


@pytest.mark.parametrize("frame, types, message", [
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "oops"]}), {"b": "real"}, "column 'b' holds 'x' in row 0, which is not a number"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [np.nan] * 3}), None, "column 'b' has no observed value"),
    (pd.DataFrame({"a": [1.0, -2.0, 3.0]}), {"a": "positive"}, "'a' \\(positive\\) holds -2 in row 1, but a positive column holds values > 0"),
    (pd.DataFrame({"a": [1.0, 0.5, 3.0]}), {"a": "count"}, "a count column holds whole numbers"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {"z": "real"}, r"column types were given for \['z'\]"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {"a": "ordinal"}, "type 'ordinal' is not one of"),
])
def test_a_table_that_cannot_be_modelled_is_refused_in_one_sentence(frame, types, message):
    with pytest.raises(InputError, match=message):
        infer_specs(frame, types)


def test_an_unseen_level_or_another_table_is_refused_when_scoring():
    frame, _ = mixed_table(60)
    est = VariationalAutoencoder(hidden=(8,), epochs=2, score_k=10, random_state=0).fit(frame)
    with pytest.raises(InputError, match="holds 'purple' in row 0, a level the model has not seen"):
        est.score_samples(frame.assign(colour=["purple"] + list(frame["colour"][1:])))
    with pytest.raises(ValueError, match="infinity"):                     # scikit-learn's own sentence
        est.score_samples(np.full((2, 5), np.inf))


def test_a_csv_with_text_and_empty_cells_trains_scores_and_imputes_from_the_command_line(tmp_path):
    frame, _ = mixed_table(200)
    frame["colour"] = frame["colour"].replace({"red": "red, dark"})             # a label that needs quoting
    frame.to_csv(tmp_path / "shop.csv", index=False)

    def aevb_cli(*args):
        result = subprocess.run([sys.executable, "-m", "aevb", *map(str, args)], capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    printed = aevb_cli("train", "--data", tmp_path / "shop.csv", "--epochs", 3, "--hidden", 16, "--latent-dim", 2,
                       "--quiet", "--out", tmp_path / "run")
    assert printed == ""
    assert [c["type"] for c in json.loads((tmp_path / "run" / "config.json").read_text())["model"]["columns"]] == \
        ["real", "positive", "count", "binary", "categorical"]
    aevb_cli("impute", tmp_path / "run", "--data", tmp_path / "shop.csv", "--out", tmp_path / "filled.csv", "--k", 50)
    aevb_cli("score", tmp_path / "run", "--data", tmp_path / "shop.csv", "--out", tmp_path / "scores.csv", "--k", 50)
    read = pd.read_csv(tmp_path / "shop.csv", dtype=str, keep_default_na=False)
    filled = pd.read_csv(tmp_path / "filled.csv", dtype=str, keep_default_na=False)
    assert list(filled.columns) == list(read.columns) and len(filled) == len(read)
    observed = read != ""
    assert (filled[observed] == read[observed])[observed].all().all()             # written as read, to the digit
    assert (filled != "").all().all() and set(filled["colour"]) <= {"blue", "green", "red, dark"}
    aevb_cli("sample", tmp_path / "run", "-n", 20, "--draw", "--out", tmp_path / "drawn.csv")
    drawn = pd.read_csv(tmp_path / "drawn.csv")
    assert set(drawn["colour"]) <= {"blue", "green", "red, dark"} and (drawn["visits"] % 1 == 0).all()
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores["row"]) == list(range(len(read))) and np.isfinite(scores["log_likelihood"]).all()
