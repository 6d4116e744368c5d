"""The `aevb` command: a thin layer that parses flags and calls the library; nothing lives only here.
One module per group of verbs (train, evaluate, rows, export, pictures, reproduce), each with `add_parser(verbs)`."""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

import torch

from ..errors import DataWarning, InputError
from . import evaluate, export, pictures, reproduce, rows, train


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported as one line that points to --help instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="aevb", description="Auto-Encoding Variational Bayes: train, evaluate and sample variational autoencoders.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb_group in (train, evaluate, rows, export, pictures, reproduce):
        verb_group.add_parser(verbs)
    return parser


def skip_the_dynamo_import_of_optimizers() -> None:
    """torch.optim.Optimizer's add_param_group, state_dict, load_state_dict and zero_grad are wrapped by
    torch._disable_dynamo, which imports torch._dynamo on their first call (1.3 s on an AVX-512 CPU: most
    of the start-up of a short run) only to keep torch.compile from tracing into them. The `aevb` command
    never compiles, so in its own process it marks them as already handled and they run as they are. The
    library does not do this: a notebook that imports aevb may compile."""
    marker = torch._disable_dynamo(lambda: None).__code__
    for method in vars(torch.optim.Optimizer).values():
        if getattr(method, "__code__", None) is marker:
            setattr(method.__wrapped__, "__dynamo_disable", method.__wrapped__)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    skip_the_dynamo_import_of_optimizers()
    warnings.showwarning = show_data_warning
    try:
        return args.handler(args)
    except InputError as error:
        print(f"aevb: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except PermissionError as error:
        print(f"aevb: error: cannot open {error.filename}: permission denied; give yourself access to it or choose "
              "another path", file=sys.stderr)
        return 2
    except OSError as error:             # the machine's condition (a full disk, a read-only folder), not a bug
        where = f" ({error.filename})" if error.filename else ""
        print(f"aevb: error: {error.strerror or error}{where}; free the resource or choose another path",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aevb: interrupted; a run continues from its last checkpoint with --resume", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("aevb: this is a bug in aevb, not a problem with what you gave it: please report it with the "
              "traceback above and the command that caused it", file=sys.stderr)
        return 1


def show_data_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """aevb's own advice (a DataWarning) as one line; other warnings as Python prints them."""
    if issubclass(category, DataWarning):
        print(f"aevb: warning: {one_line(str(message))}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def one_line(message: str) -> str:
    """A message that spans lines (a list of places searched) joined into one line."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())
