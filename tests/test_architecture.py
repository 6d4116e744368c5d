"""The package's folders are its layers (docs/architecture.md): every import, inside functions too,
points to a lower layer or within its own folder; there is no import cycle; every module imports on
its own; and the repository cites nothing outside itself."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "aevb"
# Lower numbers are lower layers; a module may import its own folder and any lower layer.
LAYERS = {"io": 0, "kernels": 0, "randomness": 0, "model": 1, "datasets": 2, "objectives": 2, "estimators": 3,
          "training": 4, "baselines": 5, "apps": 5, "sklearn": 5, "experiments": 6, "cli": 7}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str) -> set[str]:
    """Every aevb module that `name` imports, by any import statement anywhere in it, with the packages
    that importing it runs (aevb.a.b runs aevb/a/__init__.py), except the packages `name` lies in (they
    are running already) and the top package (the face, which imports from every layer)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    found = set()
    for target in targets:
        parts = target.split(".")
        found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in MODULES}
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    return found - own


GRAPH = {name: imported_modules(name) for name in MODULES}


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_import_graph_sees_relative_and_function_level_imports():
    assert "aevb.io.checkpoint" in GRAPH["aevb.model.vae"]
    assert "aevb.kernels.dense" in GRAPH["aevb.model.config"]
    assert {"aevb.training", "aevb.training.epochs"} <= GRAPH["aevb.baselines.mcem"]


def test_no_import_cycle():
    state = {}

    def visit(name, path):
        state[name] = "open"
        for target in GRAPH[name]:
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in GRAPH:
        if name not in state:
            visit(name, [name])


def test_every_import_points_down_the_layers():
    wrong = [f"{name} → {target}" for name, targets in GRAPH.items() for target in targets
             if layer(name) and layer(target) and layer(name) != layer(target)
             and LAYERS[layer(target)] >= LAYERS[layer(name)]]
    assert not wrong, "imports against the layers: " + "; ".join(sorted(wrong))


def test_kernels_import_nothing_of_aevb_outside_themselves():
    assert all(layer(target) == "kernels" for name in GRAPH if layer(name) == "kernels" for target in GRAPH[name])


def test_only_the_training_package_imports_the_training_loop():
    assert {name for name, targets in GRAPH.items() if "aevb.training.loop" in targets} == {"aevb.training"}


def test_every_module_imports_on_its_own():
    """Each module imported first into an interpreter that holds no aevb module (one subprocess, which
    clears aevb from sys.modules before each; torch stays loaded)."""
    code = ("import importlib, sys\n"
            f"for name in {sorted(name for name in MODULES if not name.endswith('__main__'))!r}:\n"
            "    for loaded in [key for key in sys.modules if key == 'aevb' or key.startswith('aevb.')]:\n"
            "        del sys.modules[loaded]\n"
            "    importlib.import_module(name)\n"
            "print('all imported')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "all imported" in result.stdout, result.stderr


def test_the_package_face_after_importing_the_command_line():
    code = ("import aevb, aevb.cli, torch; torch.manual_seed(0); model = aevb.VAE(16, latent_dim=2, hidden=(8,)); "
            "print(sorted(aevb.report(model, torch.rand(10, 16).bernoulli(), k=10)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "'log_likelihood'" in result.stdout


def test_the_repository_cites_nothing_outside_itself():
    # the shared folder, its spec sections and its design notes, spelt in parts so that this file cannot match
    pattern = re.compile("|".join([r"\.\./" + "shared", "SPEC" + " §", "DESIGN" + r"\.md"]))
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.py"),
             *PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]
    citing = [f"{file.relative_to(ROOT)}:{number}" for file in files
              for number, line in enumerate(file.read_text().splitlines(), start=1) if pattern.search(line)]
    assert pattern.search("see " + "SPEC" + " §4")                     # the pattern itself can match
    assert not citing, "cites files a clone does not have: " + ", ".join(citing)
