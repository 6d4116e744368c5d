"""Argument types shared by the `aevb` verbs: one clear message for a bad value."""

from __future__ import annotations

import argparse


def parse_count(text: str) -> int:
    """A positive whole number, also written as 1e6."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return int(value)


def parse_budget(text: str) -> int | str:
    """Datapoints per run (a count such as 1e7), or "paper" for the paper's budget."""
    return "paper" if text == "paper" else parse_count(text)
