"""Argument types and help texts shared by the `aevb` verbs: one clear message for a bad value."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from ..errors import InputError

DATA_HELP = ("mnist, frey (Frey Face), digits (scikit-learn's 8x8, offline), a .npy/.npz/.csv file, or a folder of "
             "PNG/JPEG images (default: mnist)")
DATA_DIR_HELP = "where to look for MNIST and Frey Face files first (default: $AEVB_DATA, then the cache)"
DEVICES = ("auto", "cpu", "cuda", "mps")


def parse_count(text: str) -> int:
    """A positive whole number, also written as 1e6."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value < math.inf or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return int(value)


def parse_run_directory(text: str) -> Path:
    """A directory to create; an empty name (which would mean the current directory) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give the run directory a name, e.g. --out runs/first")
    return Path(text)


def parse_seed(text: str) -> int:
    """A seed for torch's generators: a whole number in [0, 2⁶³ − 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is outside [0, 2**63 − 1], the seeds torch accepts")
    return value


def parse_table_file(text: str) -> Path:
    """An output table: FILE.csv (with a header) or FILE.npy, checked before any work is done."""
    if Path(text).suffix.lower() not in (".csv", ".npy"):
        raise argparse.ArgumentTypeError(f"{text!r}: name a .csv (a table with a header) or a .npy (an array) file")
    return Path(text)


def parse_budget(text: str) -> int | str:
    """Datapoints per run (a count such as 1e7), "paper" for the paper's budget, or hours such as "2h" (for the
    experiments that measure their speed: mnist-likelihood)."""
    if text == "paper":
        return text
    if text.endswith("h"):
        try:
            hours = float(text[:-1])
        except ValueError:
            hours = math.nan
        if not 0 < hours < math.inf:
            raise argparse.ArgumentTypeError(f"{text!r}: give hours as a positive number followed by h, e.g. 2h")
        return text
    return parse_count(text)


def parse_hidden(text: str) -> tuple[int, ...]:
    """"500" → (500,); "200,200" → (200, 200); "" or "none" → () (linear maps)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: give widths separated by commas, e.g. 500 or 200,200, "
                                         "or none for linear maps") from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"--hidden {text!r}: every width must be a positive integer")
    return widths


def resolve_device(name: str) -> str:
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is visible to PyTorch here; use --device cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps: no Apple GPU is available here; use --device cpu")
    return name
