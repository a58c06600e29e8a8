import pytest

from shared.errors import BadRequest
from shared.pagination import decode_cursor, encode_cursor, fetch_size, keyset_page, split_page


def test_cursor_round_trips_and_is_opaque() -> None:
    cursor = encode_cursor({"t": "2026-01-01T00:00:00+00:00", "id": "abc"})
    assert "abc" not in cursor
    assert decode_cursor(cursor, ("t", "id")) == {"t": "2026-01-01T00:00:00+00:00", "id": "abc"}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor({"x": 1}), encode_cursor([1])])  # type: ignore[arg-type]
def test_malformed_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor, ("t", "id"))


def test_keyset_page_cuts_the_extra_row_and_points_at_the_last_kept() -> None:
    rows = list(range(fetch_size(3)))
    page, cursor = keyset_page(rows, 3, lambda r: {"n": r})
    assert page == [0, 1, 2]
    assert cursor is not None
    assert decode_cursor(cursor, ("n",)) == {"n": 2}


@pytest.mark.parametrize("found", [0, 2, 3])
def test_keyset_page_has_no_cursor_on_the_last_page(found: int) -> None:
    page, cursor = keyset_page(list(range(found)), 3, lambda r: {"n": r})
    assert (page, cursor) == (list(range(found)), None)
    assert split_page(list(range(found)), 3) == (list(range(found)), False)
