"""The `aevb` verbs that answer row by row, in the input's order: encode and score."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ..datasets.reported import reported_rows
from ..estimators.per_row import codes, row_scores
from ..io.files import write_rows
from ..io.run_directory import EVALUATION_SEED
from ..model import load
from .arguments import DEVICES, parse_count, parse_table_file, resolve_device


def model_and_rows(args):
    """RUN's model on its device and the rows of --data, checked to suit it: (model, Table)."""
    device = resolve_device(args.device)
    model = load(args.run, device=device).eval()
    table = reported_rows(args.run, args.data)
    model.check_data(table.rows, str(args.data))
    return model, table._replace(rows=table.rows.to(device))


def run_encode(args) -> int:
    model, table = model_and_rows(args)
    loc, scale = codes(model, table.rows)                                                  # [N, Nz] each
    latent = range(loc.shape[1])
    columns = ["row", *(f"mean_z{u}" for u in latent), *(f"std_z{u}" for u in latent)]
    write_rows(args.out, columns, torch.cat([torch.arange(len(loc))[:, None].to(loc), loc, scale], 1).cpu().numpy())
    print(f"wrote the codes of {len(loc):,} rows of {args.data} to {args.out}")
    return 0


def run_score(args) -> int:
    model, table = model_and_rows(args)
    scores = row_scores(model, table.rows, args.k, EVALUATION_SEED, progress=sys.stderr.isatty())
    columns = ["row", "elbo", "log_likelihood", "anomaly_rank"]
    values = torch.stack([torch.arange(len(table.rows)).double(), *(scores[c].double().cpu() for c in columns[1:])], 1)
    write_rows(args.out, columns, values.numpy())
    print(f"wrote the scores of {len(values):,} rows of {args.data} to {args.out} (log p(x) with k = {args.k}; "
          "anomaly_rank 1 is the least likely row)")
    return 0


def add_parser(verbs) -> None:
    def verb(name, handler, help_text):
        p = verbs.add_parser(name, help=help_text, description=help_text + ". One output row per input row, in "
                             "the input's order; rows are binarised as the run's reports binarise them.")
        p.add_argument("run", type=Path, metavar="RUN", help="run directory")
        p.add_argument("--data", type=Path, required=True,
                       help="the rows: a .csv (with or without a header), .npy, single-array .npz, or image folder")
        p.add_argument("--out", type=parse_table_file, required=True, help="FILE.csv (with a header) or FILE.npy")
        p.add_argument("--device", default="auto", choices=DEVICES)
        p.set_defaults(handler=handler)
        return p

    verb("encode", run_encode, "the code of every row: the mean and standard deviation of q(z|x) "
         "(columns row, mean_z0.., std_z0..)")
    p = verb("score", run_score, "per row: the ELBO, the importance-sampled log p(x) and its rank as an anomaly "
             "score (columns row, elbo, log_likelihood, anomaly_rank; rank 1 = lowest log p(x)); every row uses "
             "the same draws, so a row's score does not depend on the rows beside it")
    p.add_argument("--k", type=parse_count, default=1000, help="importance samples per row (default: 1000)")
