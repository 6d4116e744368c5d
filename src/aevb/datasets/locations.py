"""Where data files are looked for and downloaded to."""

from __future__ import annotations

import os
from pathlib import Path


def cache_directory() -> Path:
    """The user's cache for downloads: $XDG_CACHE_HOME/aevb, or ~/.cache/aevb."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "aevb"


def data_directories(data_dir=None) -> list[Path]:
    """The directories to search, in order: `data_dir` (--data-dir) or $AEVB_DATA, then the cache."""
    chosen = data_dir or os.environ.get("AEVB_DATA")
    directories = [Path(chosen).expanduser()] if chosen else []
    return directories + [cache_directory()]


def find_file(names: list[str], data_dir=None, subdirectory: str = "") -> Path | None:
    """The first of `names` present in a data directory or its `subdirectory`."""
    for directory in data_directories(data_dir):
        for folder in (directory, directory / subdirectory):
            for name in names:
                if (folder / name).is_file():
                    return folder / name
    return None
