"""Codes of id columns: equal text, equal code; different text, different code; whichever way they were made."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpitui.metrics import text_codes as module
from kpitui.metrics.text_codes import text_codes

TRICKY = [
    "1234567890.1700000000",
    "123456789.1700000000",
    "abc",
    "abc ",  # the padding's own character: told apart by length
    "abc\x00",
    "",
    None,
    "é",
    "e\u0301",
    "12345678",  # exactly one word
    "123456789",  # one byte into the second word
    "abc",
    None,
    "",
    "1234567890.1700000000",
]


def _expected(values: list[str | None]) -> list[int]:
    """First-appearance codes, -1 for missing values, by hand."""
    seen: dict[str, int] = {}
    return [-1 if v is None else seen.setdefault(v, len(seen)) for v in values]


def _same_partition(codes: np.ndarray, values: list[str | None]) -> bool:
    """Codes group the values as the values group themselves (the numbers may differ)."""
    pairs = {(c, v) for c, v in zip(codes.tolist(), values) if v is not None}
    return len({c for c, _ in pairs}) == len(pairs) == len({v for _, v in pairs}) and all(
        (c == -1) == (v is None) for c, v in zip(codes.tolist(), values)
    )


def test_tricky_ids_get_first_appearance_codes():
    """Ids differing only in trailing spaces, NUL, accents or one digit keep apart; nulls are -1."""
    codes = text_codes(pd.Series(TRICKY, dtype="string"))
    assert codes.tolist() == [0, 1, 2, 3, 4, 5, -1, 6, 7, 8, 9, 2, -1, 5, 0]


@pytest.mark.parametrize("width", [64, 65])
def test_wide_ids_are_coded_too(width):
    """Up to 64 bytes the words are used; wider ids go to arrow's table; the codes are the same either way."""
    values = ["x" * width, "y" * width, "x" * (width - 1) + "y", "x" * width]
    column = pd.Series(values, dtype="string")
    assert (module._word_codes(module._string_array(column)) is None) == (width > 64)
    assert text_codes(column).tolist() == [0, 1, 2, 0]


@pytest.mark.parametrize("values", [TRICKY, ["abc", "abc "], ["a", None, "a\x00", "a"]], ids=["many", "padding", "nul"])
def test_values_sharing_a_mixed_number_are_still_told_apart(monkeypatch, values):
    """If different ids mix to one number (even ids whose padded words are equal), the check sees it and arrow
    codes the text."""
    monkeypatch.setattr(module, "_mix", lambda words, lengths: np.zeros(len(words), dtype=np.uint64))
    column = pd.Series(values, dtype="string")
    assert module._word_codes(module._string_array(column)) is None
    assert text_codes(column).tolist() == _expected(values)


def test_equal_ids_pass_the_check(monkeypatch):
    """Only a real difference sends the text to arrow: equal ids with missing ones between pass the check."""
    monkeypatch.setattr(module, "_mix", lambda words, lengths: np.zeros(len(words), dtype=np.uint64))
    column = pd.Series([None, "same", None, "same"], dtype="string")
    assert module._word_codes(module._string_array(column)).tolist() == [-1, 0, -1, 0]


def test_chunked_and_object_columns():
    """Columns from several files (chunked arrow) or plain Python strings give the same codes."""
    chunked = pd.concat(
        [pd.Series(TRICKY[:7], dtype="string[pyarrow]"), pd.Series(TRICKY[7:], dtype="string[pyarrow]")]
    )
    assert text_codes(chunked.reset_index(drop=True)).tolist() == _expected(TRICKY)
    assert text_codes(pd.Series(TRICKY, dtype=object)).tolist() == _expected(TRICKY)


@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["a", "a ", "a\x00", ""])), max_size=60))
def test_codes_group_values_exactly(values):
    """Any text, including empty and missing values: equal values share a code, different values never do."""
    codes = text_codes(pd.Series(values, dtype="string"))
    assert _same_partition(codes, values)
    assert codes.tolist() == _expected(values)


def test_categorical_ids_keep_their_own_codes():
    """Ids read as categories (session ids from whole numbers) are not hashed again: their codes are used."""
    column = pd.Series(["1794300000", "17", None, "1794300000"], dtype="category")
    assert text_codes(column).tolist() == [1, 0, -1, 1]  # categories sorted: "17", "1794300000"
