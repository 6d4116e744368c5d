"""Pictures as PNG bytes: grids of images, scatters of latent codes, training curves. Each carries a
title that says what it shows (which run; what rows and columns are). Callers write them with
`aevb.io.files.write_bytes_atomic` or embed them in a report."""

from __future__ import annotations

import io
import math

import numpy as np

from ..randomness import seeded


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 1) -> np.ndarray:
    """[n, H, W] grey or [n, C, H, W] intensities (C = 1 or 3) → one picture with white lines between:
    [rows·(H+p)+p, columns·(W+p)+p], and a last axis of 3 for colour."""
    if images.ndim == 4:                                                    # channels first → last
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    n, height, width = images.shape[:3]
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding, *images.shape[3:]),
                   dtype=np.float32)
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (height + padding), padding + (i % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def grid_png(images, columns: int | None = None, scale: int = 2, title: str | None = None) -> bytes:
    """[n, H, W] grey or [n, C, H, W] images with values in [0, 1] as a PNG grid (RGB for colour), each
    pixel `scale`×`scale`, with `title` (what the picture shows, what its rows and columns are) in a white
    band above it."""
    from PIL import Image

    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    grid = image_grid(images, columns)
    grid = grid.repeat(scale, 0).repeat(scale, 1)                           # each pixel scale × scale
    picture = Image.fromarray(np.round(grid * 255).astype(np.uint8), mode="RGB" if grid.ndim == 3 else "L")
    if title:
        picture = _titled(picture, title)
    buffer = io.BytesIO()
    picture.save(buffer, format="png")
    return buffer.getvalue()


def _titled(picture, title: str, size: int = 11, margin: int = 4):
    """`picture` (a PIL image) below `title`, wrapped to the picture's width (at least 240 pixels)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    width = max(picture.width, 240)
    lines, line = [], ""
    for word in title.split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > width - 2 * margin:
            lines.append(line)
            candidate = word
        line = candidate
    lines.append(line)
    band = len(lines) * (size + 3) + 2 * margin
    white, black = (255, 0) if picture.mode == "L" else ((255, 255, 255), (0, 0, 0))
    titled = Image.new(picture.mode, (width, band + picture.height), white)
    draw = ImageDraw.Draw(titled)
    for number, text in enumerate(lines):
        draw.text((margin, margin + number * (size + 3)), text, fill=black, font=font)
    titled.paste(picture, (0, band))
    return titled


def new_figure(width: float = 6.0, height: float = 4.5):
    """A figure and axes on Matplotlib's non-interactive Agg canvas (no display, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def method_panels_png(panels: list[tuple[str, dict[str, list[dict]], tuple | None]], train_key: str, test_key: str,
                      ylabel: str, colours: dict[str, str], width: float = 3.2, marker: str = "") -> bytes:
    """Panels side by side, one per (title, {method: rows}, y-limits or None): each method's
    rows[train_key] dashed and rows[test_key] solid against rows["samples_seen"] on a log axis (the
    layout of the paper's Figures 2 and 3)."""
    figure, _ = new_figure(width * len(panels), 3.5)
    figure.clear()
    for index, (title, methods, limits) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        for method, rows in methods.items():
            seen = [r["samples_seen"] for r in rows]
            axes.plot(seen, [r[train_key] for r in rows], "--" + marker, ms=3, color=colours[method],
                      label=f"{method} train")
            axes.plot(seen, [r[test_key] for r in rows], "-" + marker, ms=3, color=colours[method],
                      label=f"{method} test")
        if limits:
            axes.set_ylim(*limits)
        axes.set_xscale("log")
        axes.set_title(title)
        axes.set_xlabel("training samples evaluated")
        if index == 0:
            axes.set_ylabel(ylabel)
            axes.legend(fontsize=7)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure_png(figure)


def embedding_png(points: np.ndarray, labels: np.ndarray | None, title: str) -> bytes:
    """A scatter of 2-D points [N, 2], coloured by label when there are labels."""
    figure, axes = new_figure(6, 5.5)
    scatter = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    if labels is not None:
        figure.colorbar(scatter, ax=axes, label="label")
    axes.set_title(title)
    return figure_png(figure)


def curves_png(rows: list[dict], title: str) -> bytes:
    """Train and test ELBO against datapoints seen (log axis), from metrics.jsonl rows, under `title`
    (which run it is)."""
    figure, axes = new_figure()
    axes.set_title(title, fontsize=9)
    seen = [row["samples_seen"] for row in rows]
    for key, label in (("train_elbo", "train"), ("test_elbo", "test")):
        axes.plot(seen, [row[key] for row in rows], marker="o", markersize=3, label=label)
    axes.set_xscale("log")
    axes.set_xlabel("datapoints seen")
    axes.set_ylabel("ELBO (nats per datapoint)")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure_png(figure)


def samples_png(model, image_shape, n: int = 100, seed: int = 0, mean: bool = True, title: str | None = None) -> bytes:
    """The means of p(x|z) (or draws, mean=False) for n draws z ~ p(z), as a grid of `image_shape` images."""
    with seeded(seed, next(model.parameters()).device):
        images = model.sample(n, mean=mean).cpu().numpy().reshape(n, *image_shape)
    return grid_png(images, title=title)
