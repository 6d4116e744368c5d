"""What a grid picture must be: the grid of images at the bottom, a band with its title above."""

import numpy as np
from PIL import Image


def grid_size(rows, columns, height=8, width=8, scale=2):
    """(height, width) in pixels of `rows`×`columns` images with 1-pixel white lines, each pixel scale×scale."""
    return (scale * (rows * (height + 1) + 1), scale * (columns * (width + 1) + 1))


def assert_titled_grid(path, rows, columns, height=8, width=8, scale=2):
    picture = np.asarray(Image.open(path).convert("L"))
    grid_height, grid_width = grid_size(rows, columns, height, width, scale)
    assert picture.shape[0] > grid_height and picture.shape[1] == max(grid_width, 240), picture.shape
    grid = picture[-grid_height:, :grid_width]
    lines = np.arange(0, grid_height, scale * (height + 1))
    assert (grid[lines] == 255).all() and (grid[:, ::scale * (width + 1)] == 255).all()   # the white lines
    band = picture[:-grid_height]
    assert (band < 128).any() and (band[-1] == 255).all()                               # text, then a gap
