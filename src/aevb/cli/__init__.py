"""The `aevb` command: a thin layer that parses flags and calls the library; nothing lives only here.
One module per group of verbs (train, evaluate, pictures, reproduce), each with `add_parser(verbs)`."""

from __future__ import annotations

import argparse
import sys

from ..io.checkpoint import CheckpointError
from . import evaluate, pictures, reproduce, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aevb", description="Auto-Encoding Variational Bayes: train, evaluate and sample variational autoencoders.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb_group in (train, evaluate, pictures, reproduce):
        verb_group.add_parser(verbs)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError, CheckpointError) as error:
        print(f"aevb: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aevb: interrupted; a run continues from its last checkpoint with --resume", file=sys.stderr)
        return 130
