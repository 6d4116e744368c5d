"""aevb.sklearn.VariationalAutoencoder: scikit-learn's own estimator checks, its log-likelihood against
the exact one of the linear-Gaussian model, and the workflows of a scikit-learn user (pipelines,
grid search, clone, pickle, pandas, torch input, run directories)."""

import copy
import pickle

import numpy as np
import pytest
import torch
from linear_gaussian import exact_log_likelihood, linear_gaussian_vae
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import aevb
from aevb.estimators.importance import importance_sampling
from aevb.io.run_directory import EVALUATION_SEED
from aevb.sklearn import VAEImputer, VariationalAutoencoder, load

SMALL = dict(hidden=(8,), epochs=3, score_k=50, random_state=0)
EXPECTED_FAILURES = {}   # check name → reason; every scikit-learn check passes


@parametrize_with_checks([VariationalAutoencoder(**SMALL), VariationalAutoencoder(**SMALL, likelihood="gaussian"),
                          VAEImputer(VariationalAutoencoder(**SMALL), k=20)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cancer():
    """scikit-learn's breast cancer table: 569 rows × 30 named columns."""
    return load_breast_cancer(as_frame=True).data


@pytest.fixture(scope="module")
def pipeline(cancer):
    """Standardised columns, handed on as a DataFrame (so the VAE sees the column names), into a VAE."""
    return make_pipeline(StandardScaler().set_output(transform="pandas"),
                         VariationalAutoencoder(latent_dim=2, epochs=30, random_state=0)).fit(cancer)


def test_score_samples_is_the_exact_log_likelihood_of_a_linear_gaussian_model():
    """With hidden=() and a Gaussian likelihood the estimator is the linear-Gaussian model, whose
    log p(x) is exact: the per-row scores agree with it within the importance sampler's deviation."""
    truth = linear_gaussian_vae(data_dim=5, latent_dim=2, seed=1)
    with torch.no_grad():
        x = truth.decode(torch.randn(400, 2, dtype=torch.float64)).sample()               # [400, 5]
    est = VariationalAutoencoder(hidden=(), likelihood="gaussian", epochs=300, score_k=5000, random_state=0).fit(x)
    model = copy.deepcopy(est.model_).double()
    exact = exact_log_likelihood(model, x).numpy()
    scores = est.score_samples(x.numpy())                                                 # [400]
    same_draws = importance_sampling(model, x, 5000, seed=EVALUATION_SEED)
    np.testing.assert_allclose(scores, same_draws.log_likelihood.numpy(), rtol=1e-12)
    # log p̂_k has standard deviation ≈ √((k/ESS − 1)/k) (the delta method, ESS = (Σw)²/Σw²). Every row
    # uses the same ε, so rows' errors are correlated: each row is held to its own deviation.
    k, ess = 5000, same_draws.effective_sample_size.numpy()
    deviation = np.sqrt((k / ess - 1) / k)                                                 # [400]
    assert np.all(np.abs(scores - exact) < 5 * deviation + 1e-3)
    assert abs((scores - exact).mean()) < 5 * deviation.mean()
    assert est.score(x.numpy()) == pytest.approx(scores.mean())


def test_rows_score_the_same_alone_in_a_batch_and_in_float32(cancer):
    x = StandardScaler().fit_transform(cancer)[:40]
    est = VariationalAutoencoder(epochs=5, score_k=200, random_state=0).fit(x)
    together = est.score_samples(x)
    alone = np.array([est.score_samples(x[[i]])[0] for i in range(len(x))])
    np.testing.assert_allclose(alone, together, atol=1e-9)
    np.testing.assert_allclose(est.score_samples(x.astype(np.float32)), together, rtol=1e-4)
    assert est.score_samples(x.astype(np.float32)).dtype == np.float32


def test_pipeline_fits_transforms_scores_and_samples(pipeline, cancer):
    codes = pipeline.transform(cancer)
    assert codes.shape == (569, 2) and np.isfinite(codes).all()
    scores = pipeline.score_samples(cancer)
    assert scores.shape == (569,) and pipeline.score(cancer) == pytest.approx(scores.mean())
    vae = pipeline[-1]
    assert vae.history_[-1]["epoch"] == 30 and vae.history_[-1]["train_elbo"] > vae.history_[0]["train_elbo"]
    assert vae.sample(7, random_state=0).shape == (7, 30)
    np.testing.assert_array_equal(vae.sample(7, random_state=0), vae.sample(7, random_state=0))
    assert vae.inverse_transform(codes[:3]).shape == (3, 30)
    assert list(vae.feature_names_in_) == list(cancer.columns)


def test_grid_search_over_latent_dim_scored_by_log_likelihood(cancer):
    search = GridSearchCV(make_pipeline(StandardScaler(), VariationalAutoencoder(epochs=10, score_k=100, random_state=0)),
                          {"variationalautoencoder__latent_dim": [1, 3]}, cv=2).fit(cancer)
    assert search.best_params_["variationalautoencoder__latent_dim"] in (1, 3)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_clone_and_pickle_give_the_same_outputs(pipeline, cancer):
    again = clone(pipeline).fit(cancer)
    np.testing.assert_array_equal(again.transform(cancer), pipeline.transform(cancer))
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.transform(cancer), pipeline.transform(cancer))
    np.testing.assert_array_equal(restored.score_samples(cancer[:20]), pipeline.score_samples(cancer[:20]))


def test_save_writes_a_run_that_load_and_aevb_read(pipeline, cancer, tmp_path):
    vae, x = pipeline[-1], pipeline[0].transform(cancer)
    rows = torch.tensor(x.to_numpy()[:5], dtype=torch.float32)
    vae.save(tmp_path / "run")
    back = load(tmp_path / "run")
    np.testing.assert_array_equal(back.transform(x), vae.transform(x))
    np.testing.assert_array_equal(back.score_samples(x[:10]), vae.score_samples(x[:10]))
    assert back.get_params() == vae.get_params() and list(back.feature_names_in_) == list(cancer.columns)
    assert back.history_ == vae.history_
    model = aevb.load(tmp_path / "run")
    assert torch.equal(model.encode(rows).mean, vae.model_.encode(rows).mean)
    with pytest.raises(aevb.InputError, match="already holds a run"):
        vae.save(tmp_path / "run")


def test_pandas_output_and_torch_input(cancer):
    x = StandardScaler().set_output(transform="pandas").fit_transform(cancer)
    est = VariationalAutoencoder(latent_dim=3, epochs=2, random_state=0).set_output(transform="pandas").fit(x)
    codes = est.transform(x)
    assert list(codes.columns) == ["variationalautoencoder0", "variationalautoencoder1", "variationalautoencoder2"]
    assert list(codes.index) == list(x.index)
    tensor = torch.tensor(x.to_numpy())
    on_tensor = VariationalAutoencoder(latent_dim=3, epochs=2, random_state=0).fit(tensor)
    np.testing.assert_array_equal(on_tensor.transform(tensor), codes.to_numpy())


def test_fit_leaves_the_callers_random_stream_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    VariationalAutoencoder(epochs=1, random_state=0).fit(np.random.default_rng(0).normal(size=(30, 4)))
    assert torch.equal(torch.rand(3), expected)


def test_likelihood_auto_gives_each_column_a_type_from_its_values_and_bad_settings_are_one_sentence():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(size=30), rng.normal(size=30), rng.integers(0, 2, 30), rng.poisson(3, 30)])
    est = VariationalAutoencoder(epochs=1).fit(x)
    assert est.likelihood_ == "columns"
    assert [spec["type"] for spec in est.model_.config.columns] == ["real", "real", "binary", "count"]
    est = VariationalAutoencoder(epochs=1, column_types={"3": "real"}).fit(x)
    assert est.model_.config.columns[3]["type"] == "real"
    with pytest.raises(ValueError, match="Bernoulli likelihood cannot score"):
        VariationalAutoencoder(likelihood="bernoulli", epochs=1).fit(rng.normal(size=(30, 4)))
    with pytest.raises(ValueError, match=r"likelihood='poisson' is not one of"):
        VariationalAutoencoder(likelihood="poisson").fit(rng.normal(size=(30, 4)))
    with pytest.raises(ValueError, match="latent_dim=0 must be a positive integer"):
        VariationalAutoencoder(latent_dim=0).fit(rng.normal(size=(30, 4)))
    with pytest.raises(ValueError, match="n_samples=0 must be a positive integer"):
        VariationalAutoencoder(epochs=1).fit(rng.normal(size=(30, 4))).sample(0)
