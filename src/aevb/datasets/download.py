"""Downloads that are verified before use and never leave half a file behind."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from tqdm import tqdm

CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file that passed verification."""


def fetch(urls: list[str], destination: Path, sha256: str | None = None,
          validate: Callable[[Path], None] | None = None, timeout: float = 30.0, log=print) -> Path:
    """Download the first of `urls` that works into `destination`.

    The bytes go to a temporary file beside `destination`; they are checked against `sha256` (and
    by `validate`, which raises ValueError on bad content) and only then renamed into place. A
    connection that dies midway, a short read or a checksum mismatch leaves nothing behind and moves
    on to the next mirror.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                digest = _copy(url, out, timeout)
            if sha256 is not None and digest != sha256:
                raise ValueError(f"checksum mismatch: SHA-256 {digest}, expected {sha256}")
            if validate is not None:
                validate(Path(tmp))
            os.replace(tmp, destination)
            log(f"downloaded {url} → {destination}")
            return destination
        except (OSError, ValueError, urllib.error.URLError) as error:
            failures.append(f"{url}: {error}")
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise DownloadError(f"could not download {destination.name}:\n  " + "\n  ".join(failures))


def _copy(url: str, out, timeout: float) -> str:
    """Stream `url` into the open file `out`; return the SHA-256 of what arrived."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected is not None else None
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, desc=Path(url).name, leave=False,
                  disable=not sys.stderr.isatty()) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise OSError(f"connection closed after {received:,} of {expected:,} bytes")
    out.flush()
    os.fsync(out.fileno())
    return digest.hexdigest()
