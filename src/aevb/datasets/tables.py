"""Tables between the outside (pandas DataFrames, CSV files with text and empty cells) and the model's
float rows [N, C]: a number per numeric cell, the code 0..K−1 of its level per categorical cell, NaN per
missing cell. The column specs (aevb.model.columns) carry the names, types and levels both ways.

Types chosen from the data: a text, categorical or object column is categorical (its levels in sorted
order), a boolean one binary, a numeric one the first of binary, count, positive and real whose support
holds its values (`columns.infer_type`); `types` overrides any of them by column name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..model.columns import COLUMN_TYPES, column_spec, infer_type


def as_frame(X, names=None) -> pd.DataFrame:
    """A DataFrame of X (a DataFrame as it is; an array [N, C] with columns named `names` or 0..C−1)."""
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise InputError(f"a table has shape [rows, columns]; got an array of shape {array.shape}")
    return pd.DataFrame(array, columns=list(names) if names is not None else [str(i) for i in range(array.shape[1])])


def is_text(column: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def infer_specs(frame: pd.DataFrame, types: dict | None = None, fit_rows=None) -> list[dict]:
    """One column spec per column of `frame`: types and levels from all its rows, the constants of each
    column (standardisation, frequencies) from the rows `fit_rows` (indices; default all)."""
    types = dict(types or {})
    names = [str(name) for name in frame.columns]
    unknown = sorted(set(map(str, types)) - set(names))
    if unknown:
        raise InputError(f"column types were given for {unknown}, which are not columns of the table ({names[:10]}"
                         f"{' ...' if len(names) > 10 else ''})")
    types = {str(name): value for name, value in types.items()}
    specs = []
    for name, (_, column) in zip(names, frame.items()):
        missing = _missing(column)
        if bool(missing.all()):
            raise InputError(f"column {name!r} has no observed value: drop it")
        chosen = types.get(name) or _type_of(column, missing)
        if chosen not in COLUMN_TYPES:
            raise InputError(f"column {name!r}: type {chosen!r} is not one of {sorted(COLUMN_TYPES)}")
        if chosen == "categorical":
            levels = sorted({_label(value) for value in column[~missing]}, key=_level_order)
            values = _codes(column, missing, {label: i for i, label in enumerate(levels)}, name)
        else:
            levels, values = None, _numbers(column, missing, name)
        specs.append(column_spec(name, chosen, values if fit_rows is None else values[fit_rows], levels))
    return specs


def with_types(specs, types: dict, rows: np.ndarray) -> list[dict]:
    """`specs` with the numeric columns named in `types` given other numeric types, refitted on the model's
    values rows [N, C]. Changes that would change the values themselves (to or from categorical) are
    refused: the rows were coded for the types they have."""
    specs = list(specs)
    names = [spec["name"] for spec in specs]
    unknown = sorted(set(types) - set(names))
    if unknown:
        raise InputError(f"column types were given for {unknown}, which are not columns of the table ({names[:10]}"
                         f"{' ...' if len(names) > 10 else ''})")
    for c, spec in enumerate(specs):
        chosen = types.get(spec["name"], spec["type"])
        if chosen == spec["type"]:
            continue
        if "categorical" in (chosen, spec["type"]):
            raise InputError(f"column {spec['name']!r} is {spec['type']} and cannot be made {chosen} from the command "
                             "line: write a categorical column's values as text labels (e.g. c3) in the file, or "
                             "use aevb.sklearn.VariationalAutoencoder(column_types=...) on a DataFrame")
        specs[c] = column_spec(spec["name"], chosen, rows[:, c].astype(np.float64))
    return specs


def encode(frame: pd.DataFrame, specs: list[dict], dtype=np.float32) -> np.ndarray:
    """The rows of `frame` as the model's float values [N, C] (codes for levels, NaN for missing cells)."""
    names = [str(name) for name in frame.columns]
    expected = [spec["name"] for spec in specs]
    if len(names) != len(expected):
        raise InputError(f"the table has {len(names)} columns but the model was trained on {len(expected)} "
                         f"({expected[:10]}{' ...' if len(expected) > 10 else ''})")
    if names != expected and not _default_names(names):      # an array's columns have no names to compare
        raise InputError(f"the table's columns {names[:10]} differ from the model's {expected[:10]}: "
                         "give the columns the model was trained on, in its order")
    out = np.empty((len(frame), len(specs)), dtype=dtype)
    for c, (spec, (_, column)) in enumerate(zip(specs, frame.items())):
        missing = _missing(column)
        if spec["type"] == "categorical":
            out[:, c] = _codes(column, missing, {label: i for i, label in enumerate(spec["levels"])}, spec["name"])
        else:
            out[:, c] = _numbers(column, missing, spec["name"])
    return out


def decode(values: np.ndarray, specs: list[dict], index=None) -> pd.DataFrame:
    """Model values [N, C] as a DataFrame with the columns' names, levels as their labels, NaN as missing."""
    data = {}
    for c, spec in enumerate(specs):
        column = values[:, c]
        if spec["type"] == "categorical":
            labels = np.array(spec["levels"], dtype=object)
            missing = np.isnan(column)
            decoded = np.empty(len(column), dtype=object)
            decoded[~missing] = labels[column[~missing].astype(int)]
            decoded[missing] = None
            data[spec["name"]] = decoded
        else:
            data[spec["name"]] = column
    return pd.DataFrame(data, index=index)


def _type_of(column: pd.Series, missing: np.ndarray) -> str:
    if pd.api.types.is_bool_dtype(column) or _holds_booleans(column, missing):
        return "binary"
    if is_text(column):
        return "categorical"
    return infer_type(column.to_numpy(dtype=float, na_value=np.nan))


def _holds_booleans(column: pd.Series, missing: np.ndarray) -> bool:
    """A column of True/False with gaps (pandas keeps it as objects)."""
    return all(isinstance(value, (bool, np.bool_)) for value in column[~missing])


def _missing(column: pd.Series) -> np.ndarray:
    """Missing cells: NaN, None, pd.NA, or text that is empty or blank (an empty CSV cell)."""
    missing = column.isna().to_numpy(dtype=bool, copy=True)
    if is_text(column):
        missing |= column.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return missing


def _label(value) -> str:
    """A level's label: text as it is (stripped), a number as %g (so 3 and 3.0 are one level)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:g}"
    return str(value).strip()


def _level_order(label: str):
    """Numbers in numeric order before text in alphabetical order."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _codes(column: pd.Series, missing: np.ndarray, code_of: dict, name: str) -> np.ndarray:
    codes = np.full(len(column), np.nan)
    for row, value in enumerate(column.to_numpy(dtype=object)):
        if missing[row]:
            continue
        label = _label(value)
        if label not in code_of:
            levels = list(code_of)
            raise InputError(f"column {name!r} holds {label!r} in row {row}, a level the model has not seen "
                             f"(its levels: {levels[:10]}{' ...' if len(levels) > 10 else ''}): map it to one of "
                             "them or leave the cell empty")
        codes[row] = code_of[label]
    return codes


def _numbers(column: pd.Series, missing: np.ndarray, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column) or _holds_booleans(column, missing):
        return np.where(missing, np.nan, column.where(~missing, False).to_numpy(dtype=bool)).astype(float)
    values = pd.to_numeric(column.where(~missing), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    text = np.isnan(values) & ~missing
    if text.any():
        row = int(np.argmax(text))
        raise InputError(f"column {name!r} holds {column.iloc[row]!r} in row {row}, which is not a number: "
                         "choose the type categorical for the column, or leave the cell empty if it is missing")
    return values


def _default_names(names: list[str]) -> bool:
    return names == [str(i) for i in range(len(names))]
