"""The `aevb` verbs that draw: sample, manifold, reconstruct, interpolate, traverse, embed,
plot-curves, and the applications inpaint, denoise and upscale. Each writes a PNG (default: into RUN)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..apps.inference import denoise, inpaint, upscale
from ..apps.pictures import curves_png, embedding_png, grid_png, samples_png
from ..apps.report import run_title, write_report
from ..apps.views import decoded_means, interpolation, latent_plane, principal_plane, reconstructions, traversals
from ..datasets.reported import reported_rows, reported_split
from ..errors import InputError
from ..estimators.diagnostics import latent_means
from ..estimators.imputation import impute
from ..io.checkpoint import read_config
from ..io.files import write_bytes_atomic, write_npy, write_rows
from ..io.images import read_image
from ..io.run_directory import EVALUATION_SEED, METRICS_FILE, read_metrics
from ..model import load
from .arguments import DATA_DIR_HELP, parse_count, parse_seed


def image_shape(run: Path, hint: str = "") -> tuple[int, ...]:
    """RUN's image shape: (H, W) for grey images, (C, H, W) for images with channels."""
    shape = (read_config(run).get("data") or {}).get("image_shape")
    if shape is None or len(shape) not in (2, 3):
        raise InputError(f"{run} records no image shape (its data are not images), so there is no picture to draw"
                         + (f": {hint}" if hint else ""))
    return tuple(shape)


def read_png(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """A PNG as intensities in [0, 1], grey or in the model's channels, checked to be of the model's image
    size: [D]."""
    image = read_image(path)                                                 # [H, W] or [3, H, W]
    if len(shape) == 2 or shape[0] == 1:
        image = image.mean(0) if image.ndim == 3 else image                  # a colour picture for a grey model
    elif image.ndim == 2:
        image = np.broadcast_to(image, (shape[0], *image.shape))             # a grey picture for a colour model
    if image.shape[-2:] != tuple(shape[-2:]):
        raise InputError(f"{path} is {image.shape[-1]}×{image.shape[-2]} pixels; this model draws "
                         f"{shape[-1]}×{shape[-2]} images (width×height): resize it")
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).flatten()


def write_images(images: torch.Tensor, shape, path: Path, title: str | None = None, columns: int | None = None) -> None:
    """A grid of images; the results of inpaint, denoise and upscale go without a title, as images."""
    write_bytes_atomic(path, grid_png(images.detach().cpu().numpy().reshape(-1, *shape), columns, title=title))
    print(f"wrote {path}")


def feature_columns(run: Path, data_dim: int) -> list[str]:
    """The names of RUN's features: its data's column names where it recorded them, else x0, x1, ..."""
    return (read_config(run).get("data") or {}).get("columns") or [f"x{d}" for d in range(data_dim)]


def write_data_rows(run: Path, x: torch.Tensor, out: Path) -> None:
    """Rows in data space [N, D] as FILE.csv (headed by the data's column names) or FILE.npy (images keep
    their shape [N, H, W])."""
    document = read_config(run)
    shape = (document.get("data") or {}).get("image_shape")
    specs = document["model"].get("columns")
    if out.suffix.lower() == ".npy" and shape:
        write_npy(out, x.cpu().numpy().reshape(len(x), *shape))
    elif specs and out.suffix.lower() == ".csv":                            # a table: levels as their labels
        from ..datasets.tables import decode  # pandas, only for tables

        write_rows(out, feature_columns(run, x.shape[1]), decode(x.cpu().numpy(), specs).to_numpy(dtype=object))
    else:
        write_rows(out, feature_columns(run, x.shape[1]), x.cpu().numpy())


def run_sample(args) -> int:
    out = args.out or args.run / "samples.png"
    if out.suffix.lower() not in (".png", ".npy", ".csv"):
        raise InputError(f"--out {out}: name a .png (a picture), .npy (an array) or .csv (a table) file")
    if out.suffix.lower() == ".png":
        shape = image_shape(args.run, hint="use --out FILE.csv or FILE.npy")
        what = "draws x ~ p(x|z)" if args.draw else "means of p(x|z)"
        write_bytes_atomic(out, samples_png(load(args.run), shape, args.n, args.seed, not args.draw,
                                            title=f"{run_title(args.run)}: {what} for {args.n} draws z ~ N(0, I)"))
    else:
        torch.manual_seed(args.seed)
        write_data_rows(args.run, load(args.run).sample(args.n, mean=not args.draw), out)     # [n, D]
    print(f"wrote {args.n} samples to {out}")
    return 0


def run_manifold(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    if args.pca:
        centre, basis = principal_plane(latent_means(model, reported_split(args.run, "test", data_dir=args.data_dir).x))
        z = centre + latent_plane(model, args.n, basis=basis)
        axes = "the first (columns) and second (rows) principal components of the test set's E[z|x]"
    else:
        if model.config.latent_dim < 2:
            raise InputError("a manifold needs at least 2 latent dimensions")
        z = latent_plane(model, args.n, dims=tuple(args.dims))
        axes = f"z_{args.dims[0]} (columns, left to right) and z_{args.dims[1]} (rows, bottom to top)"
    title = (f"{run_title(args.run)}: decoder means on an {args.n}×{args.n} grid of {axes}, "
             "spaced by the inverse Gaussian CDF")
    write_images(decoded_means(model, z), shape, args.out or args.run / "manifold.png", title, columns=args.n)
    return 0


def run_reconstruct(args) -> int:
    model = load(args.run)
    out = args.out or args.run / "reconstructions.png"
    if out.suffix.lower() != ".png":
        if args.data is None:
            raise InputError(f"--out {out}: a table of reconstructions is of the rows of a file: pass --data FILE")
        x = reported_rows(args.run, args.data).rows
        model.check_data(x, str(args.data))
        write_data_rows(args.run, reconstructions(model, x), out)
        print(f"wrote the reconstructions of {len(x):,} rows of {args.data} to {out}")
        return 0
    shape = image_shape(args.run, hint="use --data FILE --out FILE.csv")
    x = (reported_split(args.run, args.split, data_dir=args.data_dir).x if args.data is None
         else reported_rows(args.run, args.data).rows)[: args.n]
    title = (f"{run_title(args.run)}: the first {len(x)} {args.split} images (top row) and their reconstructions "
             "E[x | z = E_q[z|x]] (bottom row)")
    write_images(torch.cat([x, reconstructions(model, x)]), shape, out, title, columns=len(x))
    return 0


def run_interpolate(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    x = reported_split(args.run, args.split, data_dir=args.data_dir).x
    for index in (args.start, args.end):
        if not 0 <= index < len(x):
            raise InputError(f"index {index} is outside the {args.split} split (0..{len(x) - 1})")
    path = interpolation(model, x[args.start], x[args.end], args.steps)
    title = (f"{run_title(args.run)}: decoder means along the line from E[z|x] of {args.split} image {args.start} "
             f"(left) to that of image {args.end} (right), {args.steps} steps")
    write_images(path, shape, args.out or args.run / "interpolation.png", title, columns=args.steps)
    return 0


def run_traverse(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    x = reported_split(args.run, args.split, data_dir=args.data_dir).x
    if not 0 <= args.index < len(x):
        raise InputError(f"--index {args.index} is outside the {args.split} split (0..{len(x) - 1})")
    images = traversals(model, x[args.index], args.steps, args.span)                      # [Nz, steps, D]
    title = (f"{run_title(args.run)}: row u moves z_u from {-args.span:g} (left) to {args.span:g} (right), the other "
             f"dimensions held at E[z|x] of {args.split} image {args.index}")
    write_images(images.flatten(0, 1), shape, args.out or args.run / "traversals.png", title, columns=args.steps)
    return 0


def run_embed(args) -> int:
    model = load(args.run)
    x, labels, _, _ = reported_split(args.run, args.split, data_dir=args.data_dir)
    means = latent_means(model, x)                                                        # [N, Nz]
    if means.shape[1] == 2:
        points, title = means, f"{run_title(args.run)}\nE[z|x] of the {args.split} split"
    elif means.shape[1] > 2:
        centre, basis = principal_plane(means)
        points = (means - centre) @ torch.linalg.pinv(basis)
        title = f"{run_title(args.run)}\nE[z|x] of the {args.split} split, first two principal components"
    else:
        points = torch.cat([means, torch.zeros_like(means)], 1)
        title = f"{run_title(args.run)}\nE[z|x] of the {args.split} split"
    out = args.out or args.run / "embedding.png"
    write_bytes_atomic(out, embedding_png(points.numpy(), None if labels is None else labels.numpy(), title))
    print(f"wrote {out}")
    if args.means is not None:
        if args.means.suffix.lower() == ".npy":
            write_npy(args.means, means.numpy())
        else:
            columns = [f"z{u}" for u in range(means.shape[1])] + ([] if labels is None else ["label"])
            write_rows(args.means, columns, means.numpy() if labels is None
                       else np.column_stack([means.numpy(), labels.numpy()]))
        print(f"wrote {args.means}")
    return 0


def run_plot_curves(args) -> int:
    file = args.run / METRICS_FILE
    if not file.is_file():
        raise InputError(f"{file} does not exist: {args.run} is not a training run")
    rows = read_metrics(args.run)
    if not rows:
        raise InputError(f"{file} holds no evaluation yet")
    out = args.out or args.run / "curves.png"
    write_bytes_atomic(out, curves_png(rows, run_title(args.run)))
    print(f"wrote {out}")
    return 0


def run_inpaint(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    x, missing = read_png(args.input, shape), read_png(args.mask, shape) > 0.5
    if not missing.any():
        raise InputError(f"{args.mask} marks no pixel as missing (white = missing, black = known)")
    if args.method == "importance":
        filled = impute(model, torch.where(missing, torch.nan, x)[None], args.k, seed=EVALUATION_SEED)
    else:
        filled = inpaint(model, x[None], missing[None], steps=args.steps, burn_in=args.steps // 5)
    write_images(filled, shape, args.out)
    return 0


def run_denoise(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    write_images(denoise(model, read_png(args.input, shape)[None]), shape, args.out)
    return 0


def run_upscale(args) -> int:
    model, shape = load(args.run), image_shape(args.run)
    height, width = shape[-2:]
    if height % args.factor or width % args.factor:
        divisors = [f for f in range(2, min(height, width) + 1) if height % f == 0 and width % f == 0]
        raise InputError(f"--factor {args.factor} does not divide this model's {width}×{height} images "
                         f"(width×height) into whole blocks; choose one of {divisors}")
    small = (*shape[:-2], height // args.factor, width // args.factor)
    y = read_png(args.input, small)
    write_images(upscale(model, y[None], shape, args.factor), shape, args.out)
    return 0


def run_report(args) -> int:
    if args.k < 0:
        raise InputError(f"--k {args.k} must be 0 (no log-likelihood) or a positive number of samples")
    has_data = "data" in read_config(args.run).get("train", {})
    test_x = reported_split(args.run, "test", data_dir=args.data_dir).x[: args.limit] if has_data else None
    out = args.out or args.run / "report.html"
    write_report(args.run, out, test_x, k=args.k)
    print(f"wrote {out}")
    return 0


def add_parser(verbs) -> None:
    def verb(name, handler, help_text):
        p = verbs.add_parser(name, help=help_text, description=help_text)
        p.add_argument("run", type=Path, metavar="RUN", help="run directory")
        p.set_defaults(handler=handler)
        return p

    def output(p, default):
        p.add_argument("--out", type=Path, help=f"PNG to write (default: RUN/{default})")

    def data(p, split=True):
        if split:
            p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="(default: test)")
        p.add_argument("--data-dir", help=DATA_DIR_HELP)

    p = verb("sample", run_sample, "draw z ~ N(0, I) and write the means of p(x|z) (or draws) as a grid or an array")
    p.add_argument("-n", type=parse_count, default=100, help="how many (default: 100)")
    p.add_argument("--out", type=Path, help="FILE.png, FILE.npy or FILE.csv (default: RUN/samples.png)")
    p.add_argument("--draw", action="store_true", help="draw x ~ p(x|z) instead of its mean")
    p.add_argument("--seed", type=parse_seed, default=0, help="(default: 0)")

    p = verb("manifold", run_manifold, "the learned manifold (the paper's Figure 4): decoder means on an n×n grid of "
             "the unit square mapped through the inverse Gaussian CDF")
    p.add_argument("-n", type=parse_count, default=20, help="grid size (default: 20)")
    p.add_argument("--dims", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1],
                   help="the two latent dimensions the grid moves, for Nz > 2 (default: 0,1)")
    p.add_argument("--pca", action="store_true", help="move in the plane of the first two principal components "
                   "of the test set's latent means instead")
    data(p, split=False)
    output(p, "manifold.png")

    p = verb("reconstruct", run_reconstruct, "originals (top row) and their reconstructions E[x | z = E_q[z|x]]; "
             "with --out FILE.csv or FILE.npy, the reconstructions of every row of --data, in its order")
    p.add_argument("-n", type=parse_count, default=10, help="how many in the picture (default: 10)")
    p.add_argument("--data", type=Path, help="reconstruct the rows of this file (in its order) instead of a split")
    data(p)
    p.add_argument("--out", type=Path, help="FILE.png, or FILE.csv / FILE.npy for a table (default: "
                   "RUN/reconstructions.png)")

    p = verb("interpolate", run_interpolate, "decoder means along the line between two datapoints' latent means")
    p.add_argument("--from", dest="start", type=int, default=0, help="index of the first datapoint (default: 0)")
    p.add_argument("--to", dest="end", type=int, default=1, help="index of the second datapoint (default: 1)")
    p.add_argument("--steps", type=parse_count, default=10, help="(default: 10)")
    data(p)
    output(p, "interpolation.png")

    p = verb("traverse", run_traverse, "one row per latent dimension: decoder means as that dimension runs from "
             "−span to span, the others held at a datapoint's latent mean")
    p.add_argument("--index", type=int, default=0, help="the datapoint (default: 0)")
    p.add_argument("--steps", type=parse_count, default=9, help="(default: 9)")
    p.add_argument("--span", type=float, default=3.0, help="(default: 3)")
    data(p)
    output(p, "traversals.png")

    p = verb("embed", run_embed, "the latent means E_q[z|x] of a split as a scatter coloured by label (Nz = 2 "
             "directly, else the first two principal components)")
    p.add_argument("--means", type=Path, help="also write the latent means [N, Nz] to FILE.npy or FILE.csv")
    data(p)
    output(p, "embedding.png")

    p = verb("plot-curves", run_plot_curves, "train and test ELBO against datapoints seen, from metrics.jsonl")
    output(p, "curves.png")

    p = verb("report", run_report, "one self-contained HTML file (pictures embedded): configuration, curves, "
             "the evaluation table, samples, manifold, reconstructions")
    p.add_argument("--k", type=int, default=0, help="importance samples for log p(x) in the table (default: 0, off)")
    p.add_argument("--limit", type=parse_count, default=2000, help="test datapoints evaluated (default: 2000)")
    data(p, split=False)
    p.add_argument("--out", type=Path, help="HTML file to write (default: RUN/report.html)")

    p = verb("inpaint", run_inpaint, "fill the missing pixels of an image with the model's E[x_missing | x_known]: "
             "by importance sampling with an adapted proposal (default; MSE 0.070 against the mean image's 0.087 on "
             "MNIST bottom halves, docs/tables.md) or by the average of a Metropolis-within-Gibbs chain (Mattei & "
             "Frellsen 2018; 0.084); known pixels are kept")
    p.add_argument("--method", choices=("importance", "gibbs"), default="importance",
                   help="importance: self-normalised importance sampling, --k draws per round; gibbs: the chain, "
                        "--steps steps (default: importance)")
    p.add_argument("--k", type=parse_count, default=1000, help="importance samples per round (default: 1000)")
    p.add_argument("--input", type=Path, required=True, help="grey PNG of the model's image size")
    p.add_argument("--mask", type=Path, required=True, help="PNG of the same size: white = missing, black = known")
    p.add_argument("--steps", type=parse_count, default=500,
                   help="steps of --method gibbs, the first fifth burn-in (default: 500)")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")

    p = verb("denoise", run_denoise, "a clean estimate of a damaged image: E_{q(z|y)}[E p(x|z)]")
    p.add_argument("--input", type=Path, required=True, help="grey PNG of the model's image size")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")

    p = verb("upscale", run_upscale, "super-resolution: the image at the latent MAP point whose f×f block means "
             "match a low-resolution input")
    p.add_argument("--input", type=Path, required=True, help="grey PNG of the model's size divided by --factor")
    p.add_argument("--factor", type=parse_count, default=2, help="(default: 2)")
    p.add_argument("--out", type=Path, required=True, help="PNG to write")

