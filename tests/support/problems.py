"""Asserting a problem+json answer: the status, the media type, and the body to look into."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["fields", "problem"]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def fields(body: dict[str, Any]) -> set[str]:
    """The fields a 422 names."""
    return {e["field"] for e in body.get("errors") or []}
