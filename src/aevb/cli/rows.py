"""The `aevb` verbs that answer row by row, in the input's order: encode, score and impute."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ..datasets.reported import reported_rows
from ..estimators.imputation import impute
from ..estimators.per_row import codes, row_scores
from ..io.files import write_rows
from ..io.run_directory import EVALUATION_SEED
from ..model import load
from .arguments import DEVICES, parse_count, parse_table_file, resolve_device


def model_and_rows(args, missing: bool = False):
    """RUN's model on its device and the rows of --data, checked to suit it (with NaN for cells to fill
    where `missing`): (model, Table)."""
    device = resolve_device(args.device)
    model = load(args.run, device=device).eval()
    table = reported_rows(args.run, args.data)
    model.check_data(table.rows, str(args.data), missing=missing)
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
    columns = ["row", "elbo", "log_likelihood", "anomaly_rank", "observed_cells"]
    values = torch.stack([torch.arange(len(table.rows)).double(), *(scores[c].double().cpu() for c in columns[1:])], 1)
    write_rows(args.out, columns, values.numpy())
    unranked = int((scores["observed_cells"] == 0).sum())
    print(f"wrote the scores of {len(values):,} rows of {args.data} to {args.out} (log p(x) with k = {args.k}; "
          "anomaly_rank 1 is the least likely row" + (f"; {unranked:,} rows with no observed cell have no rank)"
                                                      if unranked else ")"))
    return 0


def run_impute(args) -> int:
    model, table = model_and_rows(args, missing=True)
    filled = impute(model, table.rows, args.k, seed=EVALUATION_SEED).cpu().numpy()               # [N, D]
    specs = model.config.columns
    names = table.columns or ([spec["name"] for spec in specs] if specs else [f"x{d}" for d in range(filled.shape[1])])
    if table.text is not None and args.out.suffix.lower() == ".csv":
        write_rows(args.out, names, _filled_cells(table, filled, specs))
    else:
        write_rows(args.out, names, filled)
    holes = int(torch.isnan(table.rows).sum())
    empty = int(torch.isnan(table.rows).all(1).sum())
    print(f"filled {holes:,} missing cells in {len(filled):,} rows of {args.data}, wrote {args.out} (E[x_missing | "
          f"x_observed] by importance sampling, k = {args.k}; observed cells unchanged" +
          (f"; {empty:,} rows with no observed cell got the model's mean over all rows, E[x])" if empty else ")"))
    return 0


def _filled_cells(table, filled, specs) -> np.ndarray:
    """The CSV's cells as read, its missing ones from `filled` [N, D] (levels as labels): an object array [N, D]."""
    from ..datasets.tables import decode  # pandas, only for tables

    imputed = decode(filled, specs).to_numpy(dtype=object) if specs else filled.astype(object)
    cells = table.text.copy()
    missing = torch.isnan(table.rows).numpy()
    cells[missing] = [f"{v:.9g}" if isinstance(v, float) else v for v in imputed[missing]]
    return cells


def add_parser(verbs) -> None:
    def verb(name, handler, help_text):
        p = verbs.add_parser(name, help=help_text, description=help_text + ". One output row per input row, in "
                             "the input's order; rows are binarised as the run's reports binarise them.")
        p.add_argument("run", type=Path, metavar="RUN", help="run directory")
        p.add_argument("--data", type=Path, required=True,
                       help="the rows: a .csv (with or without a header), .npy, single-array .npz, or image folder")
        p.add_argument("--out", type=parse_table_file, required=True, help="FILE.csv (with a header) or FILE.npy")
        p.add_argument("--device", default="auto", choices=DEVICES,
                       help="where to compute; auto: a GPU if one is visible (default: auto)")
        p.set_defaults(handler=handler)
        return p

    verb("encode", run_encode, "the code of every row: the mean and standard deviation of q(z|x) "
         "(columns row, mean_z0.., std_z0..)")
    p = verb("score", run_score, "per row: the ELBO, the importance-sampled log p(x) and its rank as an anomaly "
             "score (columns row, elbo, log_likelihood, anomaly_rank, observed_cells; rank 1 = lowest log p(x); a "
             "row with no observed cell has no rank); every row uses "
             "the same draws, so a row's score does not depend on the rows beside it")
    p.add_argument("--k", type=parse_count, default=1000, help="importance samples per row (default: 1000)")
    p = verb("impute", run_impute, "the rows with their missing cells (empty in a CSV, NaN in an array) filled by "
             "the model's estimate of E[x_missing | x_observed] (the most probable level for a category), by "
             "importance sampling; observed cells are written unchanged, with the input's columns")
    p.add_argument("--k", type=parse_count, default=1000, help="importance samples per row (default: 1000)")
