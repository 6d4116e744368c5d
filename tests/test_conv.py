"""The convolutional architecture: shapes for each image size it serves, the same bound as the layers
compute by hand, refusals in one sentence, and a run that resumes bit for bit."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import aevb
from aevb.errors import InputError


def cli(*args):
    result = subprocess.run([sys.executable, "-m", "aevb", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("shape, hidden", [((1, 8, 8), (16, 32)), ((1, 28, 28), (32, 64)), ((3, 32, 32), (32, 64, 128)),
                                           ((1, 28, 20), (32, 64))])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "continuous-bernoulli", "discretized-logistic"])
def test_conv_shapes_for_each_image_size_and_likelihood(shape, hidden, likelihood):
    data_dim = math.prod(shape)
    model = aevb.VAE(data_dim, 5, hidden=hidden, arch="conv", image_shape=shape, likelihood=likelihood)
    x = (torch.rand(6, data_dim) * 255).round() / 255
    q_z = model.encode(x)
    assert q_z.batch_shape == (6,) and q_z.event_shape == (5,)
    p_x = model.decode(q_z.rsample((3,)))                                          # z [3, 6, 5]
    assert p_x.batch_shape == (3, 6) and p_x.event_shape == (data_dim,)
    assert aevb.elbo(model, x.round() if likelihood == "bernoulli" else x).shape == (6,)
    assert model.sample(2).shape == (2, data_dim)


def test_the_conv_decoder_is_the_layers_applied_by_hand():
    """z → Dense → [64, 7, 7] → two transposed convolutions → a 1×1 convolution: the logits of p(x|z)."""
    model = aevb.VAE(784, 3, hidden=(32, 64), arch="conv", image_shape=(1, 28, 28)).double()
    z = torch.randn(4, 3, dtype=torch.float64)
    dense = model.decoder.dense
    h = torch.tanh(z @ dense.weight.T + dense.bias).view(4, 64, 7, 7)
    first, second = model.decoder.layers.layers[0], model.decoder.layers.layers[2]
    h = torch.tanh(torch.nn.functional.conv_transpose2d(h, first.weight, first.bias, stride=2, padding=1))
    h = torch.tanh(torch.nn.functional.conv_transpose2d(h, second.weight, second.bias, stride=2, padding=1))
    projection = model.likelihood.logits.layers
    logits = torch.nn.functional.conv2d(h, projection.weight, projection.bias).flatten(1)      # [4, 784]
    assert torch.allclose(model.decode(z).base_dist.logits, logits, atol=1e-12)


@pytest.mark.parametrize("options, message", [
    (dict(data_dim=784, image_shape=(1, 28, 27)), r"C·H·W = data_dim=784"),
    (dict(data_dim=784, image_shape=(1, 28, 28), hidden=(8, 16, 32)), "do not halve 3 times"),
    (dict(data_dim=784, image_shape=(1, 28, 28), hidden=()), "at least one convolution"),
    (dict(data_dim=64), r"needs image_shape \(C, H, W\)"),
])
def test_a_conv_model_that_cannot_be_built_is_refused_in_one_sentence(options, message):
    with pytest.raises(InputError, match=message):
        aevb.VAE(latent_dim=2, arch="conv", **{"hidden": (16,), **options})


def test_a_conv_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path):
    data = aevb.datasets.load("digits")

    def model():
        torch.manual_seed(0)
        return aevb.VAE(64, 4, hidden=(8, 16), arch="conv", image_shape=(1, 8, 8))

    config = aevb.TrainConfig(data="digits", epochs=2)
    aevb.train(model(), data, config, tmp_path / "whole", progress=False, log=lambda *a: None)
    aevb.train(model(), data, aevb.TrainConfig(data="digits", epochs=1), tmp_path / "halves", progress=False,
               log=lambda *a: None)
    aevb.resume(tmp_path / "halves", epochs=2, progress=False, log=lambda *a: None)
    whole, halves = (load_file(tmp_path / run / "model.safetensors") for run in ("whole", "halves"))
    assert whole.keys() == halves.keys() and all(torch.equal(whole[k], halves[k]) for k in whole)


def colour_patches(n=40, size=8, seed=0):
    """[n, size, size, 3] uint8 patches cut from scikit-learn's two sample photographs."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    return np.stack([photo[y:y + size, x:x + size] for photo in (photos[i % 2] for i in range(n))
                     for y, x in [rng.integers(0, 400, 2)]])


def test_a_folder_of_colour_pngs_trains_with_conv_and_every_picture_is_in_colour(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, patch in enumerate(colour_patches()):
        Image.fromarray(patch).save(folder / f"{i:02d}.png")
    data = aevb.datasets.load(folder)
    assert data.image_shape == (3, 8, 8) and data.data_dim == 192
    run = tmp_path / "run"
    cli("train", "--data", folder, "--arch", "conv", "--hidden", "8,16", "--latent-dim", 2, "--epochs", 2,
        "--quiet", "--out", run)
    for verb, out in (("reconstruct", "r.png"), ("manifold", "m.png"), ("sample", "s.png")):
        cli(verb, run, "--out", tmp_path / out)
    for picture in (run / "samples.png", tmp_path / "r.png", tmp_path / "m.png", tmp_path / "s.png"):
        pixels = np.asarray(Image.open(picture))
        assert pixels.ndim == 3 and pixels.shape[2] == 3
        assert (pixels[..., 0] != pixels[..., 1]).any()                          # not grey in an RGB file


@pytest.mark.parametrize("layout", ["channels last", "channels first"])
def test_an_array_of_colour_images_keeps_its_channels_in_either_layout(layout, tmp_path):
    patches = colour_patches().astype(np.float32) / 255                         # [N, 8, 8, 3]
    array = patches if layout == "channels last" else patches.transpose(0, 3, 1, 2)
    np.save(tmp_path / "p.npy", array)
    data = aevb.datasets.load(tmp_path / "p.npy")
    assert data.image_shape == (3, 8, 8)
    assert "read as [N, H, W, C]" in data.source if layout == "channels last" else "read as [N, C, H, W]" in data.source
    rows = torch.cat([data.train, data.test])                                   # channels first, flattened
    expected = torch.from_numpy(patches.transpose(0, 3, 1, 2).reshape(len(patches), -1))
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, expected.tolist()))


def test_an_array_whose_channels_cannot_be_told_apart_is_refused(tmp_path):
    np.save(tmp_path / "p.npy", np.zeros((4, 3, 5, 3), dtype=np.float32))
    with pytest.raises(InputError, match="say where its channels are"):
        aevb.datasets.load(tmp_path / "p.npy")


def test_grey_turns_colour_images_into_the_luma_of_each_pixel_and_every_verb_follows(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, patch in enumerate(colour_patches()):
        Image.fromarray(patch).save(folder / f"{i:02d}.png")
    grey = aevb.datasets.load(folder, grey=True)
    assert grey.image_shape == (8, 8) and grey.data_dim == 64 and grey.source.endswith("in grey")
    by_pil = np.stack([np.asarray(Image.open(p).convert("L"), np.float32).ravel() / 255
                       for p in sorted(folder.glob("*.png"))])                  # [N, 64], PIL's own BT.601
    rows = torch.cat([grey.train, grey.test]).numpy()                           # the split's order: match by nearest
    nearest = by_pil[np.abs(rows[:, None] - by_pil[None]).sum(-1).argmin(1)]
    assert np.abs(rows - nearest).max() <= 1 / 255 + 1e-6                      # PIL rounds in integers
    assert np.allclose(rows * 255, np.round(rows * 255), atol=1e-4)            # on the 8-bit levels
    run = tmp_path / "run"
    cli("train", "--data", folder, "--grey", "--arch", "conv", "--hidden", "8", "--latent-dim", 2, "--epochs", 1,
        "--quiet", "--out", run)
    cli("reconstruct", run, "--data", folder, "--out", tmp_path / "r.png")
    cli("evaluate", run, "--k", 2)
    for picture in (run / "samples.png", tmp_path / "r.png"):
        pixels = np.asarray(Image.open(picture).convert("RGB"))
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_grey_is_refused_for_rows_that_are_not_images(tmp_path):
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(10, 5)).astype(np.float32))
    with pytest.raises(InputError, match="--grey is for images"):
        aevb.datasets.load(tmp_path / "rows.npy", grey=True)
