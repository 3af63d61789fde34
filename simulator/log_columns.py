"""The columns of a log file as checked numpy arrays: numbers, texts, and list columns (Arrow
lists, or JSON / '|'-separated strings in CSV) flattened and padded to a matrix."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.logs import _bad, _first

__all__ = ["blank", "is_text", "list_column", "numbers", "padded", "strings"]


def list_column(column: pa.Array, name: str, first_row: int, parse: type) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a list column (Arrow list or JSON/'|'-separated strings) to values and row offsets."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        if column.null_count:
            row = _first(np.asarray(column.is_null()))
            raise _bad(name, row + first_row, "is empty (null)")
        offsets = column.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        values = column.flatten()
        if parse is float:
            values = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        return values, offsets - offsets[0]
    texts = column.to_pylist()
    parsed: list = []
    lengths = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        if text is None or text == "":
            raise _bad(name, i + first_row, "is empty; expected a JSON list")
        text = str(text).strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise _bad(name, i + first_row, f"{text[:60]!r} is not a JSON list") from None
        else:
            items = [t.strip() for t in text.split("|")]
        if not isinstance(items, list):
            raise _bad(name, i + first_row, f"{text[:60]!r} is not a JSON list")
        lengths[i] = len(items)
        parsed.extend(items)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if parse is float:
        try:
            values = np.asarray(parsed, dtype=np.float64)
        except (TypeError, ValueError):
            row = next(i for i in range(len(texts)) if not _all_numbers(parsed[offsets[i]:offsets[i + 1]]))
            raise _bad(name, row + first_row, "holds a value that is not a number") from None
    else:
        values = np.asarray([str(v) for v in parsed], dtype=object)
    return values, offsets


def _all_numbers(items: list) -> bool:
    try:
        np.asarray(items, dtype=np.float64)
        return True
    except (TypeError, ValueError):
        return False


def padded(values: np.ndarray, offsets: np.ndarray, fill: float, dtype: type) -> np.ndarray:
    """Flattened rows (values and row offsets) as a matrix, short rows filled with `fill`."""
    lengths = np.diff(offsets)
    n = lengths.shape[0]
    width = int(lengths.max()) if n else 0
    if n and int(lengths.min()) == width:  # every row as long: a reshape
        return np.asarray(values, dtype=dtype).reshape(n, width)
    out = np.full((n, width), fill, dtype=dtype)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(values.shape[0]) - np.repeat(offsets[:-1], lengths)
    out[rows, cols] = values
    return out


def numbers(column: pa.Array, name: str, first_row: int) -> np.ndarray:
    """A number, boolean or timestamp (as seconds) column as float64; one clear error per bad row."""
    if pa.types.is_timestamp(column.type):
        unit = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        column = column.cast(pa.int64())
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64) / unit
    if pa.types.is_boolean(column.type):
        column = column.cast(pa.int8())
    if column.null_count:
        row = _first(np.asarray(column.is_null()))
        raise _bad(name, row + first_row, "is empty or NaN; expected a number")
    try:
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    except (TypeError, ValueError):
        values = column.to_pylist()
        for i, v in enumerate(values):
            try:
                float(v)
            except (TypeError, ValueError):
                raise _bad(name, i + first_row, f"{v!r} is not a number") from None
        raise


def is_text(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds text (or lists of text)."""
    if pa.types.is_list(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def strings(column: pa.Array) -> np.ndarray:
    """A column as an object array of strings (nulls as '')."""
    if pa.types.is_dictionary(column.type) and not column.null_count:
        words = np.asarray(column.dictionary.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)
        return words[column.indices.to_numpy(zero_copy_only=False)]
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    return np.asarray(column.fill_null("").to_numpy(zero_copy_only=False), dtype=object)


def blank(column: pa.Array) -> np.ndarray:
    """Per row of a text column (plain or dictionary), whether it is null or empty."""
    if pa.types.is_dictionary(column.type):  # looked up in the dictionary, not row by row
        words = pc.equal(column.dictionary.cast(pa.string()), "").fill_null(True)
        codes = np.flatnonzero(words.to_numpy(zero_copy_only=False))
        blank = (np.isin(column.indices.fill_null(0).to_numpy(zero_copy_only=False), codes) if codes.size
                 else np.zeros(len(column), bool))
    else:
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            column = column.cast(pa.string())
        blank = pc.equal(column, "").fill_null(True).to_numpy(zero_copy_only=False)
    if column.null_count:
        blank |= column.is_null().to_numpy(zero_copy_only=False)
    return blank
