"""The user's own data: .npy, .npz, .csv (a table: numbers, text, empty cells) and folders of PNG/JPEG images.

Each loader reads real values, refuses what it cannot use with one sentence that names the problem
and the fix, and splits rows without a given split 90 / 10 after a seeded shuffle. `read_table` gives all the rows of a
file in its own order, with its column names, for the verbs that answer row by row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from ..errors import DataNotFound, InputError
from ..io.images import read_image
from .dataset import MAPPED_BYTES, Dataset, as_rows, likelihood_for, shuffled_split, split_order
from .decoded_cache import shuffled_copies

if TYPE_CHECKING:
    import pandas as pd

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


class Table(NamedTuple):
    """The rows of a data file in its order: float32 [N, D], the column names (a CSV header) or None, the
    image shape (H, W) or (C, H, W) or None, the layout of an array of images in words, and for a CSV file the table as read (text kept, for a model's levels) and
    its cells' text [N, D] (what `aevb impute` writes back unchanged)."""

    rows: torch.Tensor
    columns: list[str] | None
    image_shape: tuple[int, ...] | None
    layout: str = ""
    frame: pd.DataFrame | None = None
    text: np.ndarray | None = None


def _split_dataset(name: str, table: Table, source: str) -> Dataset:
    """A data set from all of a file's rows: 90 / 10 after a seeded shuffle."""
    train, test = shuffled_split(table.rows)
    return replace(_dataset(name, train, None, test, table.image_shape, source), columns=table.columns)


def _mapped_split_dataset(path: Path, table: Table) -> Dataset:
    """The split of `_split_dataset` for a file larger than MAPPED_BYTES: the same rows, written once
    into the cache in their shuffled order and read from there through memory maps."""
    train, test = shuffled_copies(path, table.rows, split_order(len(table.rows)))
    return _dataset(path.stem, train, None, test, table.image_shape, str(path))


def _dataset(name: str, train: torch.Tensor, valid, test: torch.Tensor, image_shape, source: str) -> Dataset:
    for split, rows in (("test", test), ("valid", valid)):
        if rows is not None and rows.shape[1] != train.shape[1]:
            raise InputError(f"{source}: train rows have {train.shape[1]} values and {split} rows {rows.shape[1]}: "
                             "every split needs the same features")
    return Dataset(name, train, valid, test, image_shape, likelihood_for([train, test], images=image_shape is not None), source)


def _image_shape(array: np.ndarray):
    """(H, W) for grey images [N, H, W], (C, H, W) for images with channels first [N, C, H, W]; None for
    rows of features."""
    return tuple(array.shape[1:]) if array.ndim in (3, 4) else None


CHANNELS = (1, 3)   # grey, RGB


def channels_first(array: np.ndarray, what: str) -> tuple[np.ndarray, str]:
    """Images [N, H, W, C] or [N, C, H, W] (C = 1 or 3) as [N, C, H, W], with the layout inferred, in words;
    other arrays unchanged (and no words)."""
    if array.ndim != 4:
        return array, ""
    last, second = array.shape[3] in CHANNELS, array.shape[1] in CHANNELS
    if last and not second:
        return np.ascontiguousarray(np.moveaxis(array, 3, 1)), f" (images {list(array.shape)} read as [N, H, W, C])"
    if second and not last:
        return array, f" (images {list(array.shape)} read as [N, C, H, W])"
    raise InputError(f"{what} has shape {list(array.shape)}: say where its channels are by saving it as [N, H, W, C] "
                     f"or [N, C, H, W] with C one of {list(CHANNELS)} and H, W larger")


def _not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty")


def read_npy(path: Path) -> Table:
    """An array [N, features] or [N, H, W]; a file larger than MAPPED_BYTES is memory-mapped (float32
    rows are then read from the file as they are used, not held in memory)."""
    _not_empty(path)
    try:
        array = np.load(path, mmap_mode="r" if _is_large(path) else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{path} is not a .npy array ({error}); write it with numpy.save") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path} is a .npz archive, not a .npy array: name it .npz")
    array, layout = channels_first(array, str(path))
    return Table(as_rows(array, str(path)), None, _image_shape(array), layout)


def load_npy(path: Path) -> Dataset:
    table = read_npy(path)
    if _is_large(path):
        return _mapped_split_dataset(path, table)
    return _split_dataset(path.stem, table, str(path) + table.layout)


def _is_large(path: Path) -> bool:
    return path.stat().st_size > MAPPED_BYTES


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    _not_empty(path)
    try:
        archive = np.load(path, allow_pickle=False)
        arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"{path} is not a .npz archive ({error}); write it with numpy.savez") from None
    return arrays


def load_npz(path: Path) -> Dataset:
    """Arrays named train and test (and optionally valid), or a single array to be split."""
    arrays = _npz_arrays(path)
    if "train" in arrays and "test" in arrays:
        images = {key: channels_first(arrays[key], f"{path}[{key}]") for key in ("train", "valid", "test")
                  if key in arrays}
        rows = {key: as_rows(array, f"{path}[{key}]") for key, (array, _) in images.items()}
        return _dataset(path.stem, rows["train"], rows.get("valid"), rows["test"], _image_shape(images["train"][0]),
                        str(path) + images["train"][1])
    if len(arrays) == 1:
        table = read_npz(path)
        return _split_dataset(path.stem, table, str(path) + table.layout)
    raise InputError(f"{path} holds arrays {sorted(arrays)}: name them train and test (and valid), "
                     "or save a single array")


def read_npz(path: Path) -> Table:
    """The single array of an .npz archive; an archive of named splits is refused (score one split saved
    alone)."""
    arrays = _npz_arrays(path)
    if len(arrays) != 1:
        raise InputError(f"{path} holds the arrays {sorted(arrays)}, so its rows have no one order: save the one "
                         "to use alone with numpy.save")
    (array,) = arrays.values()
    array, layout = channels_first(array, str(path))
    return Table(as_rows(array, str(path)), None, _image_shape(array), layout)


def read_csv(path: Path) -> Table:
    """One row per datapoint, with or without a header line (its names are kept). A column of numbers is
    numeric (True/False as 1/0); a column holding any other text is categorical; a cell that is empty or NA, N/A, NaN, null, None
    or ? is missing. `rows` holds the
    numbers, each level's code (levels in sorted order), NaN for a missing cell; `frame` the table itself."""
    _not_empty(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:          # -sig: a byte-order mark is no name
            text = f.read()
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text CSV file (it holds binary data)") from None
    delimiter = _delimiter(text)
    # A blank line is no row; a line of empty cells (",,,") is a row with every cell missing.
    lines = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row and (len(row) > 1 or row[0].strip())]
    header = None
    if lines and not any(_is_number(cell) for cell in lines[0]):   # a header: names only ("1,NA,3" is data)
        header, lines = [cell.strip() for cell in lines[0]], lines[1:]
    if not lines:
        raise InputError(f"{path} has no rows of data")
    width = len(lines[0])
    for number, row in enumerate(lines, start=1):
        if len(row) != width:
            raise InputError(f"{path}: data row {number} has {len(row)} columns, the first has {width}")
    if header is not None and len(header) != width:
        raise InputError(f"{path}: the header names {len(header)} columns but the rows have {width}")
    import pandas as pd  # imported here: a start-up without tables does not pay for it

    from .tables import encode, infer_specs

    names = header or [str(i) for i in range(width)]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: the header names a column twice ({sorted(n for n in set(names) if names.count(n) > 1)})")
    frame = pd.DataFrame({name: _csv_column([row[c] for row in lines]) for c, name in enumerate(names)})
    if all(pd.api.types.is_numeric_dtype(column) for _, column in frame.items()):
        rows = frame.to_numpy(dtype=np.float64)
    else:
        rows = encode(frame, infer_specs(frame), dtype=np.float64)
    layout = "" if delimiter == "," else f" (columns separated by {DELIMITER_NAMES[delimiter]})"
    return Table(as_rows(rows, str(path)), header, None, layout, frame, np.array(lines, dtype=object))


DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}
SNIFFED_LINES = 50


def _delimiter(text: str) -> str:
    """The comma, unless it does not split the first lines into the same number (> 1) of cells and one of
    ; tab | does: then that one (the most cells wins)."""
    head = "\n".join(text.splitlines()[:SNIFFED_LINES])
    widths = {d: {len(row) for row in csv.reader(io.StringIO(head), delimiter=d) if row} for d in DELIMITER_NAMES}
    consistent = [d for d, seen in widths.items() if len(seen) == 1 and min(seen) > 1]
    if "," in consistent or not consistent:
        return ","
    return max(consistent, key=lambda d: min(widths[d]))


MISSING_CELLS = {"", "na", "n/a", "nan", "null", "none", "?"}   # an empty cell, or these words (any case)
TRUTH_VALUES = {"true": 1.0, "false": 0.0}                        # a column of them is binary


def _csv_column(cells: list[str]) -> pd.Series:
    """Numbers (float, NaN for a missing cell) when every cell that is not missing is one; else text
    (None when missing)."""
    import pandas as pd

    stripped = [None if cell.strip().lower() in MISSING_CELLS else cell.strip() for cell in cells]
    if all(cell is None or _is_number(cell) for cell in stripped):
        return pd.Series([np.nan if cell is None else float(cell) for cell in stripped], dtype=np.float64)
    if all(cell is None or cell.lower() in TRUTH_VALUES for cell in stripped):        # True/False: 1/0
        return pd.Series([np.nan if cell is None else TRUTH_VALUES[cell.lower()] for cell in stripped], dtype=np.float64)
    return pd.Series(stripped, dtype=object)


def load_csv(path: Path) -> Dataset:
    """A table: a likelihood per column, chosen from the data (types and levels from every row of the file,
    the constants of each column from its training rows)."""
    from .tables import infer_specs

    table = read_csv(path)
    dataset = _split_dataset(path.stem, table, str(path) + table.layout)
    train_rows, _ = split_order(len(table.rows))
    specs = infer_specs(table.frame, fit_rows=train_rows.numpy())
    return replace(dataset, likelihood="columns", column_specs=tuple(specs))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def read_image_folder(path: Path) -> Table:
    """Every PNG/JPEG in the folder (sorted by name), intensities /255, all one size: grey images as
    [H, W], and all of them in colour, channels first [3, H, W], as soon as one of them has colour."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise InputError(f"{path} holds {len(files)} PNG/JPEG images; a data set needs at least 2")
    images = [read_image(file) for file in files]
    colour = any(image.ndim == 3 for image in images)
    images = [np.broadcast_to(image, (3, *image.shape)) if colour and image.ndim == 2 else image for image in images]
    for file, image in zip(files, images):
        if image.shape[-2:] != images[0].shape[-2:]:
            raise InputError(f"images in {path} differ in size: {files[0].name} is {images[0].shape[-1]}×"
                             f"{images[0].shape[-2]} but {file.name} is {image.shape[-1]}×{image.shape[-2]} "
                             "(width×height); resize them to one size")
    array = np.stack(images)
    return Table(as_rows(array, str(path)), None, _image_shape(array))


def load_image_folder(path: Path) -> Dataset:
    table = read_image_folder(path)
    return _split_dataset(path.name, table, f"{len(table.rows)} images in {path}")


def read_table(path) -> Table:
    """All the rows of a data file (or image folder) in the file's order, with its column names."""
    path = Path(path).expanduser()
    if path.is_dir():
        return read_image_folder(path)
    if path.suffix.lower() not in FILE_READERS:
        raise InputError(f"--data {str(path)!r} is neither a folder of images nor a file of a known kind "
                         f"{sorted(FILE_READERS)}")
    if not path.is_file():
        raise DataNotFound(f"data file {path} does not exist")
    return FILE_READERS[path.suffix.lower()](path)


FILE_LOADERS = {".npy": load_npy, ".npz": load_npz, ".csv": load_csv}
FILE_READERS = {".npy": read_npy, ".npz": read_npz, ".csv": read_csv}
