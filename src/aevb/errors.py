"""The one exception class for what the user can fix: a value, a setting, a file or a folder that aevb
cannot use. Its message is one sentence that names the value and the fix; the `aevb` command prints it
as one line. Any other exception is a bug in aevb and keeps its traceback."""

from __future__ import annotations


class InputError(ValueError):
    """Something given to aevb that it cannot use; the message names it and says what to do instead."""


class DataNotFound(InputError):
    """A data set that is in none of the places aevb looks, and could not be downloaded."""


class DataWarning(UserWarning):
    """Data that a likelihood can score but probably should not (grey levels under a Bernoulli, numbers in
    the thousands under a Gaussian): one sentence naming the better choice."""


def check_choice(name: str, value: str, registry) -> None:
    """Raise one clear error when `value` is not a key of `registry`."""
    if value not in registry:
        raise InputError(f"{name}={value!r} is not one of {sorted(registry)}")
