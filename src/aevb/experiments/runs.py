"""The training runs an experiment needs, brought to their budget one after another or `jobs` at a time.

Each planned run is an ordinary run directory: a finished one is skipped, an unfinished one resumed, a
missing one started, so an interrupted experiment continues where it stopped. With jobs > 1 the runs
train in separate processes, each with its share of the CPU's threads: the paper's small matrices use
two threads poorly, so two one-thread runs side by side finish sooner than two two-thread runs in turn.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from .. import datasets
from ..io.files import write_json_atomic
from ..io.run_directory import CONFIG_FILE, read_metrics
from ..model import VAE, load
from ..training import TrainConfig, resume, train


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    directory: Path
    config: TrainConfig        # its max_samples is the run's budget
    model: dict                # keyword arguments of VAE(...) besides data_dim
    labels: dict               # what tells it apart in the experiment's CSV, e.g. {"method": "AEVB", "latent_dim": 20}

    @property
    def title(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.labels.items())

    def with_budget(self, budget: int) -> "PlannedRun":
        return dataclasses.replace(self, config=dataclasses.replace(self.config, max_samples=budget))

    def records(self) -> list[dict]:
        """Its evaluations so far, each with its labels: the experiment's CSV rows."""
        return [{**self.labels, **row} for row in read_metrics(self.directory)]


def score(planned_run: PlannedRun, name: str, compute) -> dict:
    """compute(model) → dict of figures for the run as it now stands, kept in RUN/name.json with the
    datapoints seen, so that a second call at the same point reads it instead of computing it again."""
    file = planned_run.directory / f"{name}.json"
    seen = read_metrics(planned_run.directory)[-1]["samples_seen"]
    if file.is_file():
        kept = json.loads(file.read_text())
        if kept["samples_seen"] == seen:
            return kept
    row = {"samples_seen": seen, **compute(load(planned_run.directory))}
    write_json_atomic(file, row)
    return row


def complete(planned: list[PlannedRun], jobs: int = 1, progress: bool = True, log=print) -> None:
    """Bring every planned run to its budget."""
    todo = [run for run in planned if not _finished(run)]
    if jobs == 1 or len(todo) <= 1:
        for run in todo:
            _complete_one(run, progress, log)
        return
    threads = max(1, (os.cpu_count() or 1) // jobs)
    log(f"{len(todo)} runs, {jobs} at a time with {threads} thread(s) each")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=torch.set_num_threads, initargs=(threads,)) as pool:
        for finished in pool.map(_complete_quietly, todo):
            log(f"finished {finished}")


def _finished(run: PlannedRun) -> bool:
    rows = read_metrics(run.directory)
    return bool(rows) and rows[-1]["samples_seen"] >= run.config.max_samples


def _complete_quietly(run: PlannedRun) -> str:
    _complete_one(run, progress=False, log=lambda *a: None)
    return run.title


def _complete_one(run: PlannedRun, progress: bool, log) -> None:
    if (run.directory / CONFIG_FILE).exists():
        resume(run.directory, max_samples=run.config.max_samples, progress=progress, log=log)
        return
    data = _data(run.config.data, run.config.data_dir)
    torch.manual_seed(run.config.seed)
    model = VAE(data.data_dim, **run.model)
    log(f"{run.title}: {run.directory}")
    train(model, data, run.config, run.directory, progress=progress, log=log)


@functools.lru_cache(maxsize=4)
def _data(name: str, data_dir: str | None) -> datasets.Dataset:
    return datasets.load(name, data_dir=data_dir, log=lambda *a: None)
