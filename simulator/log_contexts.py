"""A log's context as the JSON object text every row carries: from context columns, or checked from a JSON column.

Context columns are encoded column by column: once per distinct combination of values when
rows repeat them (the usual case: device, country, hour...), else with Arrow's string kernels.
"""
from __future__ import annotations

import json
import math
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.logs import _bad, _first, first_seen_codes

__all__ = ["context_from_columns", "context_json"]

# Contexts are built per distinct combination of values when rows outnumber those this much.
_DISTINCT_SHARE = 8


def context_from_columns(batch: pa.RecordBatch, columns: Sequence[str], cache: dict) -> np.ndarray:
    """Context columns as `{"features": {...}}` JSON strings, built column by column (missing values left out).

    The text is what `json.dumps(..., sort_keys=True)` writes, except that a whole float such
    as 2.0 is written 2 (the same number to every reader).
    """
    columns = sorted(columns)
    if not columns:
        return np.full(batch.num_rows, '{"features": {}}', dtype=object)
    few = _few_contexts(batch, columns, cache)
    if few is not None:
        return few
    pieces = [_json_member(c, batch.column(c)) for c in columns]
    joined = pc.binary_join_element_wise(*pieces, ", ", null_handling="skip")
    text = pc.binary_join_element_wise('{"features": {', joined, "}}", "")
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def _few_contexts(batch: pa.RecordBatch, columns: Sequence[str], cache: dict) -> np.ndarray | None:
    """Contexts built once per distinct combination of values (None when most rows are distinct)."""
    code = np.zeros(batch.num_rows, dtype=np.int64)
    for c in columns:
        column = batch.column(c)
        if pa.types.is_nested(column.type):
            return None
        encoded = pc.dictionary_encode(column)
        size = len(encoded.dictionary)
        indices = encoded.indices.fill_null(size).to_numpy(zero_copy_only=False)
        code = first_seen_codes(pa.array(code * (size + 1) + indices))
        if int(code.max(initial=0)) >= batch.num_rows // _DISTINCT_SHARE:
            return None
    running = np.maximum.accumulate(code)
    rows = np.flatnonzero(np.r_[True, running[1:] > running[:-1]])
    firsts = batch.select(list(columns)).take(pa.array(rows))
    texts = []
    for combo in zip(*(firsts.column(c).to_pylist() for c in columns)):
        text = cache.get(combo)
        if text is None:
            features = {c: v for c, v in zip(columns, combo)
                        if v is not None and not (isinstance(v, float) and not math.isfinite(v))}
            text = cache[combo] = json.dumps({"features": features}, sort_keys=True, default=str)
        texts.append(text)
    return np.asarray(texts, dtype=object)[code]


def _json_member(name: str, column: pa.Array) -> pa.Array:
    """`"name": value` per row as JSON text, null where the value is missing (null, NaN, infinite)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_finite(column), column, pa.scalar(None, kind))
        value = column.cast(pa.string())
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        value = column.cast(pa.string())
    elif pa.types.is_nested(kind):
        value = pa.array([None if v is None else json.dumps(v, sort_keys=True, default=str)
                          for v in column.to_pylist()], pa.string())
    else:
        text = column.cast(pa.string())
        if pc.any(pc.match_substring_regex(text, "[\\x00-\\x1f]")).as_py():
            value = pa.array([None if v is None else json.dumps(v) for v in text.to_pylist()], pa.string())
        else:
            escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
            value = pc.binary_join_element_wise('"', escaped, '"', "")
    return pc.binary_join_element_wise(json.dumps(name) + ": ", value, "")


def context_json(column: pa.Array, name: str, first_row: int) -> np.ndarray:
    """The context column as JSON object strings; parsed (and fully checked) when a row is used."""
    if pa.types.is_struct(column.type):  # a Parquet struct column
        return np.asarray([json.dumps(v, sort_keys=True) for v in column.to_pylist()], dtype=object)
    if pa.types.is_dictionary(column.type) and not column.null_count:
        objects = context_json(column.dictionary, name, first_row)  # checks the distinct texts
        return objects[column.indices.to_numpy(zero_copy_only=False)]
    texts = pc.utf8_trim_whitespace(column.cast(pa.string()).fill_null("{}"))
    bad = np.asarray(pc.invert(pc.starts_with(texts, "{")))
    if bad.any():
        row = _first(bad)
        raise _bad(name, row + first_row, f"{texts[row].as_py()[:60]!r} is not a JSON object")
    return np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object)
