"""The `aevb` command: a thin layer that parses flags and calls the library (DESIGN.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import cli_pictures, datasets, distributed
from .binarization import BINARIZATIONS
from .arguments import parse_budget, parse_count
from .checkpoint import CheckpointError, load
from .config import VAEConfig
from .diagnostics import report
from .experiments import EXPERIMENTS
from .files import write_json_atomic
from .likelihoods import GAUSSIAN_MEANS, GAUSSIAN_VARIANCES, LIKELIHOODS
from .model import VAE
from .networks import INITIALISATIONS
from .dense import ACTIVATIONS
from .objectives import ESTIMATORS
from .reported_data import reported_split
from .training import EVALUATION_SEED, OBJECTIVES, OPTIMIZERS, PRECISIONS, TrainConfig, resume, train

MODEL_OPTIONS = {f.name for f in dataclasses.fields(VAEConfig)} - {"data_dim"}
BUDGET_FLAGS = {"epochs", "max_samples", "device"}
DATA_HELP = ("mnist, frey (Frey Face), digits (scikit-learn's 8x8, offline), a .npy/.npz/.csv file, or a folder of "
             "PNG/JPEG images (default: mnist)")
DATA_DIR_HELP = "where to look for MNIST and Frey Face files first (default: $AEVB_DATA, then the cache)"
DEVICES = ("auto", "cpu", "cuda", "mps")


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
        raise ValueError("--device cuda: no CUDA device is visible to PyTorch here; use --device cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: no Apple GPU is available here; use --device cpu")
    return name


def add_train_parser(verbs) -> None:
    p = verbs.add_parser(
        "train", help="train a VAE with the AEVB algorithm and write a run directory",
        description="Train a VAE with the AEVB algorithm (Kingma & Welling 2013, Algorithm 1). With no flags: the "
                    "paper's MNIST model (784-500-20, tanh, Bernoulli, M = 100) on dynamically binarised MNIST, "
                    f"Adam, {TrainConfig.epochs} epochs. Writes config.json, model.safetensors, checkpoint.safetensors, "
                    "metrics.jsonl and samples.png into the run directory.",
        argument_default=argparse.SUPPRESS)
    data = p.add_argument_group("data")
    data.add_argument("--data", help=DATA_HELP)
    data.add_argument("--data-dir", help=DATA_DIR_HELP)
    data.add_argument("--n-train", type=parse_count, metavar="N",
                      help="train on the first N rows of the train split only (default: all; the paper's "
                           "Figure 3 uses 1000)")
    data.add_argument("--binarize", choices=sorted(BINARIZATIONS),
                      help="none; dynamic: a fresh Bernoulli draw each time a datapoint is used; static: one fixed "
                           "draw (default: dynamic for mnist and digits, none otherwise)")
    model = p.add_argument_group("model")
    model.add_argument("--latent-dim", type=int, help="Nz (default: 20)")
    model.add_argument("--hidden", type=parse_hidden,
                       help="hidden widths of the encoder, mirrored in the decoder: 500, 200,200, or none (default: 500)")
    model.add_argument("--activation", choices=sorted(ACTIVATIONS), help="(default: tanh)")
    model.add_argument("--likelihood", choices=sorted(LIKELIHOODS), help="p(x|z) (default: the data set's own)")
    model.add_argument("--gaussian-mean", choices=sorted(GAUSSIAN_MEANS), help="(default: sigmoid)")
    model.add_argument("--gaussian-variance", choices=sorted(GAUSSIAN_VARIANCES),
                       help="network: per datapoint (the paper); learned: per dimension; fixed (default: network)")
    model.add_argument("--fixed-variance", type=float, help="σ² for --gaussian-variance fixed (default: 1)")
    model.add_argument("--init", choices=sorted(INITIALISATIONS), help="paper: N(0, 0.01²) weights (default: default)")
    objective = p.add_argument_group("objective")
    objective.add_argument("--objective", choices=sorted(OBJECTIVES),
                           help="elbo: the variational bound (SGVB); iwae: the importance-weighted bound L_k "
                                "(Burda et al.); wake-sleep: the paper's baseline (Hinton et al. 1995), same networks; "
                                "autoencoder: log p(x | z = E_q[z|x]), no prior, no sampling (default: elbo)")
    objective.add_argument("--k", type=int, help="importance samples of --objective iwae (default: 5)")
    objective.add_argument("--estimator", choices=sorted(ESTIMATORS),
                           help="A: Monte Carlo KL; B: analytic KL (default: B)")
    objective.add_argument("--samples", type=int, help="L, draws of z per datapoint (default: 1)")
    objective.add_argument("--beta", type=float, help="weight of the KL term (default: 1, the bound)")
    objective.add_argument("--weight-prior", action="store_true", help="MAP: add log N(θ; 0, I) / N (SPEC §5)")
    optimisation = p.add_argument_group("optimisation")
    optimisation.add_argument("--batch-size", type=int, help="M (default: 100)")
    optimisation.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="(default: adam)")
    optimisation.add_argument("--lr", type=float, help="step size (default: 1e-3 for adam, 0.02 for adagrad)")
    optimisation.add_argument("--epochs", type=float, help=f"budget in passes over the data (default: {TrainConfig.epochs})")
    optimisation.add_argument("--max-samples", type=parse_count, help="budget in datapoints seen, e.g. 1e6")
    optimisation.add_argument("--eval-every", type=parse_count, help="datapoints between evaluations (default: an epoch)")
    optimisation.add_argument("--seed", type=int, help="(default: 0)")
    optimisation.add_argument("--device", choices=DEVICES, help="(default: auto)")
    optimisation.add_argument("--precision", choices=sorted(PRECISIONS),
                              help="bf16: the training step's layers (product and activation) in bfloat16 "
                                   "under autocast; the bound's terms, their sums and every evaluation in fp32. "
                                   "Pays only on GPUs and on CPUs with AVX512_BF16 or AMX; elsewhere PyTorch "
                                   "emulates it, slower than fp32 (default: fp32)")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=Path, help="run directory to create (default: runs/DATA-TIME)")
    run.add_argument("--resume", type=Path, metavar="RUN",
                     help="continue RUN from its checkpoint; only --epochs, --max-samples and --device may change")
    run.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("--nproc", type=int, metavar="N",
                     help="train data-parallel on N processes of this machine (the same as `torchrun "
                          "--nproc-per-node N -m aevb train ...`); the global minibatch stays --batch-size")
    p.set_defaults(handler=run_train)


def run_train(args) -> int:
    if getattr(args, "nproc", None) is not None and "WORLD_SIZE" not in os.environ:
        return launch_processes(args.nproc, args.argv)
    given = {k: v for k, v in vars(args).items() if k not in ("handler", "verb", "quiet", "resume", "nproc", "argv")}
    given.setdefault("device", resolve_device("auto"))
    given["device"] = resolve_device(given["device"])
    distributed.init_from_environment(torch.device(given["device"]))
    quiet = getattr(args, "quiet", False) or not distributed.is_main()
    log = (lambda *a: None) if quiet else print
    progress = not quiet
    try:
        return _train_or_resume(args, given, log, progress)
    finally:
        distributed.shut_down()


def launch_processes(nproc: int, argv: list[str]) -> int:
    """Run this same command under torchrun with `nproc` processes (gloo on the CPU)."""
    if nproc < 1:
        raise ValueError(f"--nproc {nproc} must be a positive number of processes")
    rest = [a for i, a in enumerate(argv) if a != "--nproc" and (i == 0 or argv[i - 1] != "--nproc")
            and not a.startswith("--nproc=")]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "aevb", *rest]
    return subprocess.run(command).returncode


def _train_or_resume(args, given: dict, log, progress: bool) -> int:
    if getattr(args, "resume", None) is not None:
        fixed = sorted(set(given) - BUDGET_FLAGS)
        if fixed:
            flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
            raise ValueError(f"--resume continues {args.resume} with its own settings; drop {flags} "
                             "(only --epochs, --max-samples and --device may change)")
        resume(args.resume, **given, progress=progress, log=log)
        return 0
    model_options = {k: given.pop(k) for k in list(given) if k in MODEL_OPTIONS}
    out = given.pop("out", None)
    if "max_samples" in given and "epochs" not in given:
        given["epochs"] = None   # the budget given replaces the default one
    config = TrainConfig(**given)
    dataset = datasets.load(config.data, data_dir=config.data_dir, log=log)
    log(f"data: {dataset.name}, {len(dataset.train):,} train / {len(dataset.test):,} test, from {dataset.source}")
    if "binarize" not in given:
        config = dataclasses.replace(config, binarize=dataset.binarize)
    model_options.setdefault("likelihood", dataset.likelihood)
    if out is None:
        if distributed.world_size() > 1:
            raise ValueError("with more than one process, name the run directory with --out")
        out = Path("runs") / f"{dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    torch.manual_seed(config.seed)
    model = VAE(data_dim=dataset.data_dim, **model_options)
    log(f"model: {dataset.data_dim}-{'-'.join(map(str, model.config.hidden))}-{model.config.latent_dim}, "
        f"{model.config.activation}, {model.config.likelihood}; run directory {out}")
    train(model, dataset, config, out, progress=progress, log=log)
    log(f"done: {out}")
    return 0


def add_evaluate_parser(verbs) -> None:
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
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    if args.k < 0:
        raise ValueError(f"--k {args.k} must be 0 (no log-likelihood) or a positive number of samples")
    if args.hmc < 0 or args.hmc == 1:
        raise ValueError(f"--hmc {args.hmc} must be 0 (off) or at least 2 samples")
    if args.limit is not None and args.limit < 2:
        raise ValueError(f"--limit {args.limit}: evaluate at least 2 datapoints (a standard error needs two)")
    device = resolve_device(args.device)
    model = load(args.run, device=device)
    x, _, data, binarize = reported_split(args.run, args.split, data=args.data, data_dir=args.data_dir)
    x = x[:args.limit].to(device)
    model.check_data(x, f"the {args.split} split of {data}")
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
                 ("NLL = −log p(x)", figures["nll"], figures["log_likelihood_stderr"]),
                 ("bits per dimension", figures["bits_per_dim"],
                  figures["log_likelihood_stderr"] / (figures["data_dim"] * math.log(2)))]
    if "log_likelihood_hmc" in figures:
        rows.append((f"log p(x), HMC + fitted Gaussian (App. D), {figures['hmc_samples']}", figures["log_likelihood_hmc"],
                     figures["log_likelihood_hmc_stderr"]))
    rows.append(("KL(q(z|x) ‖ p(z))", figures["kl"], None))
    lines = [f"{protocol['split']} split of {protocol['data']}: {figures['n']:,} datapoints, "
             f"binarize={protocol['binarize']}, likelihood={protocol['likelihood']} (nats per datapoint)"]
    lines += [f"  {name:<44} {value:>11.3f}" + (f" ± {stderr:.3f}" if stderr is not None else "")
              for name, value, stderr in rows]
    if "log_likelihood" in figures:
        lines.append(f"  {'effective sample size of the weights':<44} {figures['ess_mean']:>11.1f} mean, "
                     f"{figures['ess_min']:.1f} min of {figures['k']}")
    else:
        lines.append("  log p(x) not estimated: pass --k 5000 for the standard protocol")
    lines.append(f"  {'active units (Cov_x E[z_u] > 0.01)':<44} {figures['active_units']:>11d} of {figures['latent_dim']}")
    if protocol["likelihood"] == "gaussian":
        lines.append("  Gaussian likelihood: these are log-densities of continuous values, not probabilities of "
                     "discrete pixels; they are not comparable with Bernoulli figures")
    return "\n".join(lines)


def add_reproduce_parser(verbs) -> None:
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
                   help="datapoints per run (e.g. 1e7), or 'paper' for the paper's budget (default: the "
                        "experiment's, listed above)")
    p.add_argument("--out", type=Path, default=Path("reproduce"), help="(default: reproduce/)")
    p.add_argument("--jobs", type=parse_count, default=1,
                   help="runs trained at once, in separate processes sharing the CPU's cores (default: 1; "
                        "2 on a 2-core machine: about 1.5× the datapoints per second in all for the paper's small models)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=run_reproduce)


def run_reproduce(args) -> int:
    experiment = EXPERIMENTS[args.experiment]
    budget = experiment.default_budget if args.budget is None else args.budget
    log = (lambda *a: None) if args.quiet else print
    out = experiment.run(args.out / args.experiment, budget, data_dir=args.data_dir, jobs=args.jobs,
                         progress=not args.quiet, log=log)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aevb", description="Auto-Encoding Variational Bayes: train, evaluate and sample variational autoencoders.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    add_train_parser(verbs)
    add_evaluate_parser(verbs)
    cli_pictures.add_parsers(verbs, DATA_DIR_HELP)
    add_reproduce_parser(verbs)
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
