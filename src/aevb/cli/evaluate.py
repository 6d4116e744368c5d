"""`aevb evaluate`: the ELBO, the importance-sampled log-likelihood and the diagnostics of a trained model."""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

from ..datasets.reported import reported_split
from ..errors import DataWarning, InputError
from ..estimators.diagnostics import report
from ..io.files import write_json_atomic
from ..io.run_directory import EVALUATION_SEED
from ..model import load
from .arguments import DATA_DIR_HELP, DEVICES, resolve_device


def add_parser(verbs) -> None:
    p = verbs.add_parser("evaluate", help="ELBO, importance-sampled log-likelihood and diagnostics of a trained model",
                         description="Evaluate the model in RUN on a split of its data set, binarised once with a "
                                     "fixed seed as in training's reports: the ELBO (estimator B, L = 1), KL per "
                                     "latent dimension and active units; with --k also the importance-sampled "
                                     "log p(x) (--k 5000 is the standard protocol), its effective sample size, the "
                                     "gap to the ELBO, the NLL and bits per dimension. Nats per datapoint.")
    p.add_argument("run", type=Path, metavar="RUN", help="run directory (or a directory written by model.save)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="(default: test)")
    p.add_argument("--k", type=int, default=0,
                   help="importance samples per datapoint for log p(x); 0 skips it (default: 0; standard: 5000)")
    p.add_argument("--hmc", type=int, default=0, metavar="N",
                   help="also the paper's estimator (Appendix D: HMC, a fitted Gaussian, a harmonic-mean-type "
                        "estimate) with N posterior samples; reliable for latent_dim ≤ 5 only (default: 0, off)")
    p.add_argument("--limit", type=int, help="only the first N datapoints of the split")
    p.add_argument("--data", help="data set, when RUN does not record one (a model saved with model.save)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON to FILE (- for stdout)")
    p.add_argument("--device", default="auto", choices=DEVICES, help="where to compute; auto: a GPU if one is visible (default: auto)")
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    if args.k < 0:
        raise InputError(f"--k {args.k} must be 0 (no log-likelihood) or a positive number of samples")
    if args.hmc < 0 or args.hmc == 1:
        raise InputError(f"--hmc {args.hmc} must be 0 (off) or at least 2 samples")
    if args.json is not None and str(args.json) != "-" and (args.json.is_dir() or not args.json.parent.is_dir()):
        what = "is a directory" if args.json.is_dir() else f"is in {args.json.parent}, which does not exist"
        raise InputError(f"--json {args.json} {what}: name a file in an existing directory")
    if args.limit is not None and args.limit < 2:
        raise InputError(f"--limit {args.limit}: evaluate at least 2 datapoints (a standard error needs two)")
    device = resolve_device(args.device)
    model = load(args.run, device=device)
    x, _, data, binarize = reported_split(args.run, args.split, data=args.data, data_dir=args.data_dir)
    x = x[:args.limit].to(device)
    model.check_data(x, f"the {args.split} split of {data}")
    advice = model.likelihood.advice(x, f"the {args.split} split of {data}")
    if advice:                                    # the warning training gave for the same data
        warnings.warn(advice, DataWarning, stacklevel=2)
    figures = report(model, x, k=args.k, hmc_samples=args.hmc, seed=EVALUATION_SEED, progress=sys.stderr.isatty())
    protocol = {"run": str(args.run), "data": data, "split": args.split, "binarize": binarize,
                "likelihood": model.config.likelihood}
    print(format_report(figures, protocol))
    if args.json is not None:
        if str(args.json) == "-":
            print(json.dumps({**protocol, **figures}, indent=2))
        else:
            write_json_atomic(args.json, {**protocol, **figures})
    return 0


def format_report(figures: dict, protocol: dict) -> str:
    """The evaluation as an aligned table, with the protocol that produced it."""
    rows = [("ELBO (estimator B, L = 1)", figures["elbo"], figures["elbo_stderr"])]
    if "log_likelihood" in figures:
        rows += [(f"log p(x), importance sampled, k = {figures['k']}", figures["log_likelihood"],
                  figures["log_likelihood_stderr"]),
                 ("gap log p(x) − ELBO", figures["gap"], figures["gap_stderr"]),
                 ("NLL = −log p(x)", figures["nll"], figures["log_likelihood_stderr"])]
        if "bits_per_dim" in figures:
            rows.append(("bits per dimension", figures["bits_per_dim"],
                         figures["log_likelihood_stderr"] / (figures["data_dim"] * math.log(2))))
    if "log_likelihood_hmc" in figures:
        rows.append((f"log p(x), HMC + fitted Gaussian (App. D), {figures['hmc_samples']}", figures["log_likelihood_hmc"],
                     figures["log_likelihood_hmc_stderr"]))
    rows.append(("KL(q(z|x) ‖ p(z))", figures["kl"], None))
    lines = [f"{protocol['split']} split of {protocol['data']}: {figures['n']:,} datapoints, "
             f"binarize={protocol['binarize']}, likelihood={protocol['likelihood']} (nats per datapoint)"]
    lines += [f"  {name:<44} {value:>11.3f}" + (f" ± {stderr:.3f}" if stderr is not None else "")
              for name, value, stderr in rows]
    if "no_bits_per_dim" in figures:
        lines.append(f"  no bits per dimension: {figures['no_bits_per_dim']}")
    if "log_likelihood" in figures:
        lines.append(f"  {'effective sample size of the weights':<44} {figures['ess_mean']:>11.1f} mean, "
                     f"{figures['ess_min']:.1f} min of {figures['k']}")
    else:
        lines.append("  log p(x) not estimated: pass --k 5000 for the standard protocol")
    lines.append(f"  {'active units (Cov_x E[z_u] > 0.01)':<44} {figures['active_units']:>11d} of {figures['latent_dim']}")
    if figures["active_units"] < figures["latent_dim"]:
        lines.append(f"  posterior collapse: {figures['latent_dim'] - figures['active_units']} latent dimensions carry "
                     "no information about x (their q(z|x) is the prior whatever x); with β > 1 lower β, else a "
                     "smaller --latent-dim loses nothing (docs/guide/05-beta-and-collapse.md)")
    if protocol["likelihood"] == "gaussian":
        lines.append("  Gaussian likelihood: these are log-densities of continuous values, not probabilities of "
                     "discrete pixels; they are not comparable with Bernoulli figures")
    return "\n".join(lines)
