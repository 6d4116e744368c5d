"""Pictures and applications: every verb writes a readable image of the expected size, the manifold uses
the right quantiles, inpainting beats the mean-image fill and keeps the known pixels, and the report is
valid HTML that references nothing outside itself."""

import copy
import html.parser
import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.image import imread
from PIL import Image
from scipy.stats import norm
from titled_grid import assert_titled_grid, grid_size

import aevb
from aevb.apps.inference import denoise, downsample, inpaint, upscale
from aevb.apps.views import interpolation, latent_plane, manifold_quantiles, traversals
from aevb.estimators.imputation import impute


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A 2-latent model of scikit-learn's digits, trained by the command line as a user would."""
    out = tmp_path_factory.mktemp("pictures") / "run"
    subprocess.run([sys.executable, "-m", "aevb", "train", "--data", "digits", "--latent-dim", "2", "--hidden", "64",
                    "--epochs", "40", "--quiet", "--out", str(out)], check=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """A digits model with room for the applications: 8 latent dimensions, 128 hidden units."""
    torch.manual_seed(0)
    data = aevb.datasets.load("digits")
    model = aevb.VAE(64, latent_dim=8, hidden=(128,))
    aevb.train(model, data, aevb.TrainConfig(data="digits", epochs=50), tmp_path_factory.mktemp("model") / "run",
               progress=False, log=lambda *a: None)
    return model


def aevb_cli(*args):
    result = subprocess.run([sys.executable, "-m", "aevb", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("verb, args, rows, columns", [
    ("sample", ["-n", 16], 4, 4),
    ("manifold", ["-n", 5], 5, 5),
    ("reconstruct", ["-n", 6], 2, 6),
    ("interpolate", ["--steps", 7], 1, 7),
    ("traverse", ["--steps", 5], 2, 5),        # one row per latent dimension
])
def test_each_picture_verb_writes_a_titled_grid_of_the_expected_size(digits_run, tmp_path, verb, args, rows, columns):
    aevb_cli(verb, digits_run, *args, "--out", tmp_path / "p.png")
    assert_titled_grid(tmp_path / "p.png", rows, columns)


def test_embed_and_curves_write_pictures_and_the_means(digits_run, tmp_path):
    aevb_cli("embed", digits_run, "--out", tmp_path / "e.png", "--means", tmp_path / "m.csv")
    aevb_cli("plot-curves", digits_run, "--out", tmp_path / "c.png")
    assert imread(tmp_path / "e.png").shape[0] > 200 and imread(tmp_path / "c.png").shape[0] > 200
    for picture in ("e.png", "c.png"):   # the run is named in the title: dark pixels in the band above the axes
        assert (np.asarray(Image.open(tmp_path / picture).convert("L"))[:25] < 128).any()
    table = np.loadtxt(tmp_path / "m.csv", delimiter=",", skiprows=1)
    assert table.shape == (300, 3)                             # z0, z1, label for the 300 test digits
    model = aevb.load(digits_run)
    test = aevb.datasets.load("digits").test
    x = aevb.datasets.binarization.fixed_draw(test, 0)
    assert np.allclose(table[:, :2], model.encode(x).mean.detach().numpy(), atol=1e-5)


def test_manifold_grid_uses_the_inverse_cdf_at_the_midpoints():
    assert np.allclose(manifold_quantiles(4).numpy(), norm.ppf([0.125, 0.375, 0.625, 0.875]), atol=1e-6)
    z = latent_plane(aevb.VAE(10, 3, hidden=()), 4, dims=(2, 0))
    assert z.shape == (16, 3) and torch.all(z[:, 1] == 0)
    assert np.allclose(z[:4, 2].numpy(), norm.ppf([0.125, 0.375, 0.625, 0.875]), atol=1e-6)   # x along a row
    assert np.allclose(z[::4, 0].numpy(), norm.ppf([0.875, 0.625, 0.375, 0.125]), atol=1e-6)  # y up the rows


def test_inpainting_beats_the_mean_image_and_keeps_known_pixels(digits_model):
    torch.manual_seed(0)
    data = aevb.datasets.load("digits")
    x = data.test[:100]
    missing = torch.zeros_like(x, dtype=torch.bool)
    missing.view(-1, 8, 8)[:, :, 4:] = True                        # the right half of every digit
    filled = inpaint(digits_model, x, missing, steps=300, burn_in=100)
    importance = impute(digits_model, torch.where(missing, torch.nan, x), k=500, seed=0)
    mean_fill = torch.where(missing, data.train.mean(0).expand_as(x), x)
    error = lambda guess: ((guess - x)[missing] ** 2).mean().item()
    # Measured with this model: Gibbs 0.067, importance sampling 0.066, the mean image 0.081.
    assert error(filled) < 0.9 * error(mean_fill) and error(importance) < 0.9 * error(mean_fill)
    assert torch.equal(filled[~missing], x[~missing]) and torch.equal(importance[~missing], x[~missing])


def test_denoising_and_upscaling_improve_on_their_inputs(digits_model):
    torch.manual_seed(0)
    x = aevb.datasets.load("digits").test[:100]
    noisy = torch.where(torch.rand_like(x) < 0.15, 1 - x, x)       # 15 % of pixels flipped
    assert ((denoise(digits_model, noisy) - x) ** 2).mean() < ((noisy - x) ** 2).mean()
    small = downsample(x, (8, 8), 2)
    nearest = torch.nn.functional.interpolate(small.view(-1, 1, 4, 4), scale_factor=2).flatten(1)
    digits_model.zero_grad(set_to_none=True)                         # (training left its last gradients)
    assert ((upscale(digits_model, small, (8, 8), 2) - x) ** 2).mean() < ((nearest - x) ** 2).mean()
    assert all(p.grad is None for p in digits_model.parameters())    # upscaling leaves no gradient on the model


def test_inpaint_denoise_upscale_verbs_read_and_write_pngs(digits_run, tmp_path):
    digit = (aevb.datasets.load("digits").test[0].view(8, 8).numpy() * 255).astype(np.uint8)
    Image.fromarray(digit).save(tmp_path / "digit.png")
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[4:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    Image.fromarray(digit[::2, ::2]).save(tmp_path / "small.png")
    aevb_cli("inpaint", digits_run, "--input", tmp_path / "digit.png", "--mask", tmp_path / "mask.png",
             "--k", 100, "--out", tmp_path / "filled.png")
    aevb_cli("denoise", digits_run, "--input", tmp_path / "digit.png", "--out", tmp_path / "clean.png")
    aevb_cli("upscale", digits_run, "--input", tmp_path / "small.png", "--out", tmp_path / "big.png")
    for name in ("filled", "clean", "big"):
        assert imread(tmp_path / f"{name}.png").shape[:2] == grid_size(1, 1)
    filled = np.asarray(Image.open(tmp_path / "filled.png").convert("L"))[2:18:2, 2:18:2]   # the 8×8 image
    assert np.abs(filled[:4].astype(int) - digit[:4]).max() <= 1     # known rows kept (up to PNG rounding)
    wrong = subprocess.run([sys.executable, "-m", "aevb", "denoise", str(digits_run), "--input",
                            str(tmp_path / "small.png"), "--out", str(tmp_path / "x.png")], capture_output=True, text=True)
    assert wrong.returncode == 2 and "is 4×4 pixels; this model draws 8×8 images" in wrong.stderr


class _References(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.references, self.tags, self.images = [], [], 0

    def handle_starttag(self, tag, attributes):
        self.tags.append(tag)
        self.images += tag == "img"
        self.references += [value for name, value in attributes if name in ("src", "href", "srcset", "action")]


def test_report_is_self_contained_html(digits_run, tmp_path):
    aevb_cli("report", digits_run, "--k", 20, "--limit", 100, "--out", tmp_path / "report.html")
    text = (tmp_path / "report.html").read_text()
    parser = _References()
    parser.feed(text)
    parser.close()
    assert text.startswith("<!DOCTYPE html>") and parser.tags[:2] == ["html", "head"]
    assert parser.images >= 4                                    # curves, samples, manifold, reconstructions
    assert parser.references and all(ref.startswith("data:image/png;base64,") for ref in parser.references)
    assert "http" not in text.replace("http-equiv", "") and "<script" not in text
    assert "log p(x), importance sampled, k = 20" in text


def test_views_and_inference_make_their_tensors_on_the_models_device(digits_model):
    """On the meta device any tensor made on the CPU and mixed in fails, as it would on a GPU."""
    model = copy.deepcopy(digits_model).to("meta")
    x = torch.zeros(3, 64, device="meta")
    assert latent_plane(model, 4).device.type == "meta"
    assert interpolation(model, x[0], x[1], 5).shape == (5, 64)
    assert traversals(model, x[0], 5).device.type == "meta"
    assert inpaint(model, x, torch.zeros(3, 64, dtype=torch.bool, device="meta"), steps=3, burn_in=1).device.type == "meta"
    assert denoise(model, x).device.type == "meta"
