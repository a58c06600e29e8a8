import pytest

from shared.errors import BadRequest
from shared.pagination import decode_cursor, encode_cursor


def test_cursor_round_trips_and_is_opaque() -> None:
    cursor = encode_cursor({"t": "2026-01-01T00:00:00+00:00", "id": "abc"})
    assert "abc" not in cursor
    assert decode_cursor(cursor, ("t", "id")) == {"t": "2026-01-01T00:00:00+00:00", "id": "abc"}


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor({"x": 1}), encode_cursor([1])])  # type: ignore[arg-type]
def test_malformed_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor, ("t", "id"))
