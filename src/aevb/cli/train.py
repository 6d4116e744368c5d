"""`aevb train`: train a VAE with the AEVB algorithm (or continue a run) and write its run directory."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from .. import datasets
from ..apps.pictures import samples_png
from ..apps.report import run_title
from ..datasets.binarization import BINARIZATIONS
from ..datasets.dataset import DEFAULT_VALIDATION_FRACTION
from ..errors import InputError
from ..io.checkpoint import read_config
from ..io.files import write_bytes_atomic
from ..io.images import channels_first_shape
from ..io.run_directory import SAMPLES_FILE
from ..kernels.dense import ACTIVATIONS
from ..model import VAE, VAEConfig
from ..model.architectures import ARCHITECTURES
from ..model.columns import COLUMN_TYPES
from ..model.likelihoods import GAUSSIAN_MEANS, GAUSSIAN_VARIANCES, LIKELIHOODS
from ..model.networks import INITIALISATIONS
from ..objectives import ESTIMATORS
from ..training import TrainConfig, distributed, resume, train
from ..training.config import EPOCHS_CAP, OBJECTIVES, OPTIMIZERS, PATIENCE, PRECISIONS, SMALL_DATA_ROWS, until_no_better
from ..training.schedules import LR_SCHEDULES
from .arguments import (
    DATA_DIR_HELP,
    DATA_HELP,
    DEVICES,
    parse_count,
    parse_hidden,
    parse_run_directory,
    parse_seed,
    resolve_device,
)

MODEL_OPTIONS = {f.name for f in dataclasses.fields(VAEConfig)} - {"data_dim"}
BUDGET_FLAGS = {"epochs", "max_samples", "device"}
BUDGET_CHOICES = {"epochs", "max_samples", "early_stopping"}   # any of them replaces the small-data default budget


def add_parser(verbs) -> None:
    p = verbs.add_parser(
        "train", help="train a VAE with the AEVB algorithm and write a run directory",
        description="Train a VAE with the AEVB algorithm (Kingma & Welling 2013, Algorithm 1). With no flags: the "
                    "paper's MNIST model (784-500-20, tanh, Bernoulli, M = 100) on dynamically binarised MNIST, "
                    f"Adam, {TrainConfig.epochs} epochs; on small data, until the validation bound stops improving. "
                    "Writes config.json, model.safetensors, checkpoint.safetensors, "
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
    data.add_argument("--grey", action="store_true",
                      help="train on colour images turned grey (BT.601 luma, on the 8-bit levels); colour images "
                           "keep their colour by default")
    model = p.add_argument_group("model")
    model.add_argument("--latent-dim", type=int, help="Nz (default: 20)")
    model.add_argument("--arch", choices=sorted(ARCHITECTURES),
                       help="mlp: Dense layers of --hidden widths (the paper); conv: 4×4 stride-2 convolutions with "
                            "--hidden channels, transposed convolutions back, for images (default: mlp)")
    model.add_argument("--hidden", type=parse_hidden,
                       help="hidden widths of the encoder, mirrored in the decoder: 500, 200,200, or none; for --arch "
                            "conv the channels of each convolution (default: 500; 32,64 for conv)")
    model.add_argument("--activation", choices=sorted(ACTIVATIONS), help="(default: tanh)")
    model.add_argument("--likelihood", choices=sorted(LIKELIHOODS),
                       help="p(x|z); columns: a type per column of a table, missing cells allowed (default: columns "
                            "for a CSV file and for tables with missing values or outside [0, 1]; bernoulli for "
                            "binary values and rows in [0, 1]; for images in [0, 1] discretized-logistic on 8-bit "
                            "levels k/255, else continuous-bernoulli; gaussian for other images)")
    model.add_argument("--column-type", type=parse_column_type, action="append", metavar="NAME=TYPE",
                       help=f"the type of one column of a table, one of {sorted(COLUMN_TYPES)} (default: chosen from "
                            "its values); repeat for more columns")
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
    objective.add_argument("--weight-prior", action="store_true", help="MAP: add log N(θ; 0, I) / N to the bound per datapoint")
    optimisation = p.add_argument_group("optimisation")
    optimisation.add_argument("--batch-size", type=int, help="M (default: 100)")
    optimisation.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="(default: adam)")
    optimisation.add_argument("--lr", type=float, help="step size (default: 1e-3 for adam, 0.02 for adagrad)")
    optimisation.add_argument("--lr-schedule", choices=sorted(LR_SCHEDULES),
                              help="the step size over the run: " + "; ".join(
                                  f"{name}: {entry.help}" for name, entry in sorted(LR_SCHEDULES.items()))
                                   + " (default: constant)")
    optimisation.add_argument("--lr-warmup", type=int, metavar="STEPS",
                              help="raise the step size linearly from lr/STEPS to lr over the first STEPS steps "
                                   "(default: 0, none)")
    optimisation.add_argument("--kl-warmup", type=int, metavar="STEPS",
                              help="raise β linearly from 0 to --beta over the first STEPS steps (KL annealing; "
                                   "--objective elbo; default: 0, none)")
    optimisation.add_argument("--epochs", type=float,
                              help=f"budget in passes over the data (default: {TrainConfig.epochs:g}; for data of at "
                                   f"most {SMALL_DATA_ROWS:,} training rows: until {PATIENCE} evaluations in a row "
                                   f"bring no better validation bound, at most {EPOCHS_CAP} epochs)")
    optimisation.add_argument("--max-samples", type=parse_count, help="budget in datapoints seen, e.g. 1e6")
    optimisation.add_argument("--eval-every", type=parse_count, help="datapoints between evaluations (default: an epoch)")
    optimisation.add_argument("--full-train-evaluation", action="store_true",
                              help="report the train bound on every training row (the paper's figures) instead of "
                                   "a fixed random subset as large as the test set, at most 10 000 rows "
                                   "(default: the subset)")
    optimisation.add_argument("--validation-fraction", type=float, metavar="F",
                              help="share of the training rows held out to watch for over-fitting, at most 10,000 "
                                   "rows; data with a validation split of its own (mnist, digits) uses it; 0: none "
                                   f"(default: {DEFAULT_VALIDATION_FRACTION:g})")
    optimisation.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                              help="stop after PATIENCE evaluations in a row without a better validation bound "
                                   f"(capped by --epochs or --max-samples; without them, {EPOCHS_CAP} epochs). Every run keeps the weights of its best "
                                   "validation bound, and every verb uses them")
    optimisation.add_argument("--validation-k", type=int, metavar="K",
                              help="the validation bound watched: 1 the ELBO, K > 1 the IWAE bound L_K by importance "
                                   "sampling, nearer log p(x) (default: 1)")
    optimisation.add_argument("--min-improvement", type=float, metavar="NATS",
                              help="the margin by which a validation bound must beat the best so far to count as "
                                   f"better (default: {TrainConfig.min_improvement:g} nats per datapoint)")
    optimisation.add_argument("--seed", type=parse_seed, help="(default: 0)")
    optimisation.add_argument("--device", choices=DEVICES, help="(default: auto)")
    optimisation.add_argument("--precision", choices=sorted(PRECISIONS),
                              help="bf16: the training step's layers (product and activation) in bfloat16 "
                                   "under autocast; the bound's terms, their sums and every evaluation in fp32. "
                                   "Pays only on GPUs and on CPUs with AVX512_BF16 or AMX; elsewhere PyTorch "
                                   "emulates it, slower than fp32 (default: fp32)")
    run = p.add_argument_group("run")
    run.add_argument("--out", type=parse_run_directory,
                     help="run directory to create, new or empty (default: runs/DATA-TIME)")
    run.add_argument("--resume", type=Path, metavar="RUN",
                     help="continue RUN from its checkpoint; only --epochs, --max-samples and --device may change")
    run.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("--nproc", type=int, metavar="N",
                     help="train data-parallel on N processes of this machine (the same as `torchrun "
                          "--nproc-per-node N -m aevb train ...`); the global minibatch stays --batch-size")
    p.set_defaults(handler=run_train)


CONV_WIDTHS = (32, 64)  # --arch conv's channels when --hidden is not given
SPEC_ROWS = 100_000    # training rows a table's column types and constants are measured on (shuffled: a sample)


def parse_column_type(text: str) -> tuple[str, str]:
    """NAME=TYPE for --column-type."""
    name, _, type_name = text.rpartition("=")
    if not name or type_name not in COLUMN_TYPES:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=TYPE with TYPE one of {sorted(COLUMN_TYPES)}")
    return name, type_name


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
        raise InputError(f"--nproc {nproc} must be a positive number of processes")
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
            raise InputError(f"--resume continues {args.resume} with its own settings; drop {flags} "
                             "(only --epochs, --max-samples and --device may change)")
        write_samples(args.resume, resume(args.resume, **given, progress=progress, log=log))
        return 0
    column_types = dict(given.pop("column_type", None) or [])
    model_options = {k: given.pop(k) for k in list(given) if k in MODEL_OPTIONS}
    out = given.pop("out", None)
    if "max_samples" in given and "epochs" not in given:
        given["epochs"] = None   # the budget given replaces the default one
    elif "early_stopping" in given and "epochs" not in given:
        given["epochs"] = EPOCHS_CAP   # until it stops improving, within a cap
    config = TrainConfig(**given)
    dataset = datasets.load(config.data, data_dir=config.data_dir, log=log, grey=config.grey)
    log(f"data: {dataset.name}, {len(dataset.train):,} train / {len(dataset.test):,} test, from {dataset.source}")
    if "binarize" not in given:
        config = dataclasses.replace(config, binarize=dataset.binarize)
    if not BUDGET_CHOICES & set(given) and len(dataset.train) <= SMALL_DATA_ROWS:
        config = dataclasses.replace(config, **{**until_no_better(len(dataset.train), config.batch_size),
                                                **({"eval_every": given["eval_every"]} if "eval_every" in given else {})})
        log(f"budget: until {config.early_stopping} evaluations in a row (every {config.eval_every:,} datapoints) bring "
            f"no better validation bound, at most {config.epochs:g} epochs (small data; --epochs or --early-stopping "
            "set another)")
    model_options.setdefault("likelihood", dataset.likelihood)
    if model_options.get("arch") == "conv":
        if dataset.image_shape is None:
            raise InputError(f"--arch conv is for images, and {dataset.name} holds rows of features: use --arch mlp")
        model_options["image_shape"] = channels_first_shape(dataset.image_shape)   # (C, H, W); grey: one channel
        model_options.setdefault("hidden", CONV_WIDTHS)
    if model_options["likelihood"] == "columns":                          # a table: a type per column
        from ..datasets.tables import as_frame, infer_specs, with_types  # pandas, only for tables

        sample = dataset.train[:SPEC_ROWS].numpy()          # the training rows (a sample of a large file's)
        specs = dataset.column_specs or infer_specs(as_frame(sample, dataset.columns))   # a CSV's, with its levels
        model_options["columns"] = with_types(specs, column_types, sample)
        log("columns: " + ", ".join(f"{spec['name']} ({spec['type']})" for spec in model_options["columns"][:20])
            + (" ..." if len(model_options["columns"]) > 20 else ""))
    if out is None:
        if distributed.world_size() > 1:
            raise InputError("with more than one process, name the run directory with --out")
        out = Path("runs") / f"{dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    torch.manual_seed(config.seed)
    model = VAE(data_dim=dataset.data_dim, **model_options)
    log(f"model: {model.config.arch} {dataset.data_dim}-{'-'.join(map(str, model.config.hidden))}-"
        f"{model.config.latent_dim}, {model.config.activation}, {model.config.likelihood}; run directory {out}")
    write_samples(out, train(model, dataset, config, out, progress=progress, log=log))
    log(f"done: {out}")
    return 0


def write_samples(run: Path, model: VAE) -> None:
    """RUN/samples.png, the means of p(x|z) for 100 draws z ~ N(0, I) of the run's trained `model`, when the
    run's data are images."""
    if not distributed.is_main():
        return
    document = read_config(run)
    shape = (document.get("data") or {}).get("image_shape")
    if shape is not None:
        title = f"{run_title(run)}: means of p(x|z) for 100 draws z ~ N(0, I)"
        write_bytes_atomic(run / SAMPLES_FILE, samples_png(model, shape, n=100, seed=document["train"]["seed"],
                                                          title=title))
