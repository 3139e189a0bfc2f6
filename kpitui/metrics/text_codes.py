"""Integer codes for the values of a text column (ids), with the same result whatever the path taken."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_WORD = 8  # bytes in a word
_WIDEST = 64  # wider text goes to arrow's string hash table
_MULTIPLIERS = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))  # splitmix64's


def text_codes(column: pd.Series) -> np.ndarray:
    """Each value's code, -1 when missing: 0, 1, 2, … (equal values, equal codes), in order of first appearance
    for text, a categorical's own codes for categorical text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64)
    text = _string_array(column)
    codes = _word_codes(text) if pa.types.is_string(text.type) else None
    if codes is None:
        codes = pc.dictionary_encode(text).indices.fill_null(-1).to_numpy().astype(np.int64)
    return codes


def _string_array(column: pd.Series) -> pa.Array:
    """The column as one arrow array, with 32-bit offsets when the text fits in them."""
    text = pa.array(column.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if pa.types.is_large_string(text.type) and text.buffers()[2].size < 2**31:
        text = text.cast(pa.string())
    return text


def _word_codes(text: pa.StringArray) -> np.ndarray | None:
    """Codes through whole words: each value is padded to a few 8-byte words, which are mixed into one number
    that arrow encodes (integers hash twice as fast as text); then every value is compared, word by word and by
    length, with one value of its code. None when the text is wider than `_WIDEST` bytes or two values share a
    number (then arrow hashes the text itself)."""
    missing = text.is_null().to_numpy(zero_copy_only=False) if text.null_count else None
    lengths = pc.binary_length(text).fill_null(0).to_numpy()
    width = -(-int(lengths.max(initial=0)) // _WORD) * _WORD
    if not 0 < width <= _WIDEST or (missing is not None and missing.all()):
        return None
    padded = pc.ascii_rpad(text.fill_null("") if missing is not None else text, width=width, padding=" ")
    offsets = np.frombuffer(padded.buffers()[1], dtype=np.int32, count=len(text) + 1)
    if offsets[0] != 0 or offsets[-1] != len(text) * width:  # every value is `width` bytes, one after another
        return None
    words = np.frombuffer(padded.buffers()[2], dtype=np.uint64, count=len(text) * width // _WORD)
    words = words.reshape(len(text), width // _WORD)
    mixed = _mix(words, lengths)
    if missing is not None:  # a missing value takes the first present value's number: it makes no code
        mixed[missing] = mixed[np.argmin(missing)]
    codes = pc.dictionary_encode(pa.array(mixed.view(np.int64))).indices.to_numpy()
    rows = np.arange(len(codes)) if missing is None else np.flatnonzero(~missing)
    sample = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    sample[codes[rows]] = rows  # for each code, one present value of it (whichever was written last)
    same = lengths[sample][codes] == lengths
    for column in words.T:
        same &= column[sample][codes] == column
    codes = codes.astype(np.int64)
    if missing is not None:
        same |= missing
        codes[missing] = -1
    return codes if same.all() else None


def _mix(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One 64-bit number per row of words and its length, each word stirred in with splitmix64's steps."""
    mixed = lengths.astype(np.uint64)
    for column in words.T:
        mixed ^= column
        for multiplier in _MULTIPLIERS:
            mixed ^= mixed >> np.uint64(31)
            mixed *= multiplier
    mixed ^= mixed >> np.uint64(31)
    return mixed
