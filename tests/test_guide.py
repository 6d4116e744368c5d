"""The guide (docs/guide/) cannot go stale: every page's figures are made again at a small budget, and the
Python blocks of its pages run."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).parents[1] / "docs" / "guide"
PAGES = sorted(GUIDE.glob("[0-9]*.md"))


def make_figures():
    spec = importlib.util.spec_from_file_location("make_figures", GUIDE / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURE_SCRIPT = make_figures()


def test_the_contents_lists_every_page_and_every_page_names_its_command():
    contents = (GUIDE / "README.md").read_text()
    assert len(PAGES) == len(FIGURE_SCRIPT.PAGES) == 9
    for page in PAGES:
        assert f"({page.name})" in contents, page.name
        commands = re.findall(r"make_figures\.py ([\w-]+)", page.read_text())
        assert commands and set(commands) <= set(FIGURE_SCRIPT.PAGES), page.name
        for picture in re.findall(r"\]\((figures/[\w.-]+\.png)\)", page.read_text()):
            assert (GUIDE / picture).is_file(), f"{page.name} shows {picture}, which the script has not made"


@pytest.mark.parametrize("page", sorted(FIGURE_SCRIPT.PAGES))
def test_each_page_makes_its_figures_at_a_small_budget(page, tmp_path):
    numbers = FIGURE_SCRIPT.make(page, "small", tmp_path)
    assert (tmp_path / f"{page}.json").is_file() and list(tmp_path.glob(f"{page}-*.png"))
    if page == "bound":                  # log p(x) = ELBO + KL(q ‖ p(z|x)), all three exact
        assert numbers["identity_error"] < 1e-8 and numbers["final"]["gap"] > 0
    if page == "reparameterisation":     # the score function's variance is the larger at every L
        assert min(numbers["score_over_reparameterised"]) > 1
    if page == "kl-direction":           # moment matching covers both modes: std = √(2.5² + 0.5²)
        assert numbers["forward"]["std"] == pytest.approx((2.5 ** 2 + 0.5 ** 2) ** 0.5, rel=0.02)


def test_the_script_runs_from_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, str(GUIDE / "make_figures.py"), "kl-direction", "--budget", "small",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kl-direction-fits.png").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_the_python_blocks_of_each_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        exec(compile(block, str(page), "exec"), {})
