"""Spotting a key given twice in a file without a pass over the staged rows.

Each row's key is hashed to 64 bits while its chunk streams by (vectorised over the
strings' bytes); at the end one sort of the hashes shows whether any two are equal. Only
then does the import run the exact GROUP BY in the database, which names the rows — a
hash collision just costs that query, it never hides or invents a duplicate.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_RANDOM = np.random.default_rng(20240229)
_MAX_WEIGHTED = 256
# Odd random multipliers: one per byte position, one per column, and one for the length.
_BYTE_WEIGHTS = _RANDOM.integers(0, 2**63, _MAX_WEIGHTED, dtype=np.uint64) * 2 + 1
_COLUMN_WEIGHTS = _RANDOM.integers(0, 2**63, 16, dtype=np.uint64) * 2 + 1
_LENGTH_WEIGHT = np.uint64(_RANDOM.integers(0, 2**63, dtype=np.uint64) * 2 + 1)


def _text_hash(array: pa.Array) -> np.ndarray:
    """A 64-bit hash per string (null and empty hash alike; keys are never empty)."""
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:array.offset
                                                                  + n + 1].astype(np.int64)
    data = array.buffers()[2]
    payload = (np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
               if data is not None else np.zeros(0, dtype=np.uint8))
    lengths = np.diff(offsets)
    starts = offsets[:-1] - offsets[0]
    position = np.arange(len(payload), dtype=np.int64) - np.repeat(starts, lengths)
    weighted = (payload.astype(np.uint64) + np.uint64(1)) * _BYTE_WEIGHTS[
        np.minimum(position, _MAX_WEIGHTED - 1)]
    hashes = np.zeros(n, dtype=np.uint64)
    filled = lengths > 0
    if filled.any():
        hashes[filled] = np.add.reduceat(weighted, starts[filled])
    return hashes + lengths.astype(np.uint64) * _LENGTH_WEIGHT


class KeyHashes:
    """The hashes of every key seen so far in one file."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def add(self, columns: list[pa.Array]) -> None:
        with np.errstate(over="ignore"):
            combined = np.zeros(len(columns[0]), dtype=np.uint64)
            for weight, column in zip(_COLUMN_WEIGHTS, columns, strict=False):
                combined = combined * weight + _text_hash(column)
        self.parts.append(combined)

    def maybe_repeated(self) -> bool:
        """False when no key can be repeated; True when some two hashes are equal."""
        if not self.parts:
            return False
        hashes = np.sort(np.concatenate(self.parts))
        return bool((hashes[1:] == hashes[:-1]).any())
