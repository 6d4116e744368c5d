"""`aevb reproduce`: one of the paper's experiments, end to end, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..experiments import EXPERIMENTS
from .arguments import DATA_DIR_HELP, parse_budget, parse_count


def add_parser(verbs) -> None:
    listing = "\n".join(f"  {name:<14} {e.what}; default {e.default_budget:,} per run"
                         for name, e in EXPERIMENTS.items())
    p = verbs.add_parser("reproduce", help="run one of the paper's experiments and write its CSV, plot and summary",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Run one of the paper's experiments: train every model it needs (resuming "
                                     "unfinished runs,\nskipping finished ones) and write its CSV, pictures and "
                                     "markdown summary into OUT/EXPERIMENT/.\n\nexperiments:\n" + listing)
    p.add_argument("experiment", choices=sorted(EXPERIMENTS), metavar="EXPERIMENT",
                   help=f"one of {sorted(EXPERIMENTS)}")
    p.add_argument("--budget", type=parse_budget, default=None,
                   help="datapoints per run (e.g. 1e7), 'paper' for the paper's budget, or hours (e.g. 2h, "
                        "mnist-likelihood only) (default: the experiment's, listed above)")
    p.add_argument("--out", type=Path, default=Path("reproduce"), help="(default: reproduce/)")
    p.add_argument("--jobs", type=parse_count, default=1,
                   help="runs trained at once, in separate processes sharing the CPU's cores (default: 1; "
                        "2 on a 2-core machine: about 1.5× the datapoints per second in all for the paper's small models)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages, only the path written")
    p.set_defaults(handler=run_reproduce)


def run_reproduce(args) -> int:
    experiment = EXPERIMENTS[args.experiment]
    budget = experiment.default_budget if args.budget is None else args.budget
    if isinstance(budget, str) and budget.endswith("h") and not experiment.budget_in_hours:
        raise InputError(f"--budget {budget}: {args.experiment} takes its budget in datapoints (e.g. 1e7) or 'paper'; "
                         "only mnist-likelihood takes hours")
    log = (lambda *a: None) if args.quiet else print
    out = experiment.run(args.out / args.experiment, budget, data_dir=args.data_dir, jobs=args.jobs,
                         progress=not args.quiet, log=log)
    print(f"wrote {out}")
    return 0
