"""The ops command line: create prints the key once, list never shows secrets, revoke sticks."""

from __future__ import annotations

from itertools import count

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.keys import KeyStore, parse_key
from shared.auth import Role
from shared.db import Database
from shared.errors import Unauthorized
from tests.support.databases import Databases

_ids = count()


@pytest.fixture
def database_url(databases: Databases) -> str:
    return databases.url(f"gateway_cli{next(_ids)}")


def run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", database_url, *args])
    return result.exit_code, result.stdout, result.stderr


async def authenticate(database_url: str, key: str) -> str:
    db = Database(database_url)
    try:
        return (await KeyStore(db).authenticate(key)).role.value
    finally:
        await db.dispose()


async def test_create_list_and_revoke(database_url: str) -> None:
    code, out, err = run(database_url, "create", "--name", "Kivu Hills app", "--role", "seller", "--subject-id", "s-1")
    assert code == 0, err
    key = out.strip()
    parsed = parse_key(key)
    assert parsed is not None
    key_id, secret = parsed
    assert key_id in err and "not shown again" in err
    assert await authenticate(database_url, key) == "seller"

    code, out, _ = run(database_url, "list")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split("\t") == [
        "id",
        "role",
        "subject",
        "created_at",
        "revoked_at",
        "expires_at",
        "rate_limit",
        "last_used_at",
        "name",
    ]
    assert row.split("\t")[:3] == [key_id, "seller", "s-1"] and row.endswith("Kivu Hills app")
    assert secret not in out

    code, out, _ = run(database_url, "revoke", key_id)
    assert code == 0 and f"Revoked {key_id}" in out
    with pytest.raises(Unauthorized, match="revoked"):
        await authenticate(database_url, key)
    assert run(database_url, "list")[1].strip().splitlines()[1].split("\t")[4] != "-"


@pytest.mark.parametrize(
    "args",
    [
        ["create", "--name", "x", "--role", "seller"],
        ["create", "--name", "x", "--role", "traveller_app"],
        ["create", "--name", "x", "--role", "ops", "--subject-id", "s-1"],
        ["create", "--name", " ", "--role", "ops"],
        ["create", "--name", "x", "--role", "pilot"],
        ["create", "--name", "x", "--role", "ops", "--rate-limit", "lots"],
        ["create", "--name", "x", "--role", "ops", "--expires-at", "2020-01-01T00:00:00Z"],
        ["create", "--name", "x", "--role", "ops", "--expires-at", "2030-01-01T00:00:00"],  # no offset
        ["create", "--name", "x", "--role", "ops", "--expires-in-days", "0"],
    ],
)
def test_bad_input_is_refused_without_a_key(database_url: str, args: list[str]) -> None:
    code, out, err = run(database_url, *args)
    assert code == 2 and out == "" and "error" in err.lower()


async def test_a_traveller_app_key_is_bound_to_its_app_id(database_url: str) -> None:
    code, out, err = run(
        database_url, "create", "--name", "Visit Rwanda", "--role", "traveller_app", "--subject-id", "app-visit-rwanda"
    )
    assert code == 0, err
    assert "traveller_app for app-visit-rwanda" in err
    db = Database(database_url)
    try:
        principal = await KeyStore(db).authenticate(out.strip())
    finally:
        await db.dispose()
    assert (principal.role, principal.subject) == (Role.TRAVELLER_APP, "app-visit-rwanda")


def test_revoking_an_unknown_key_fails(database_url: str) -> None:
    code, _, err = run(database_url, "revoke", "zzzzzzzz")
    assert code == 1 and "does not exist" in err


async def test_a_key_with_expiry_and_its_own_limit_and_their_update(database_url: str) -> None:
    code, out, err = run(
        database_url,
        "create",
        "--name",
        "pilot app",
        "--role",
        "lender",
        "--expires-in-days",
        "30",
        "--rate-limit",
        "5/second",
    )
    assert code == 0, err
    key = out.strip()
    key_id = key.split("_")[1]
    row = run(database_url, "list")[1].strip().splitlines()[1].split("\t")
    assert row[0] == key_id and row[5] != "-" and row[6] == "5/second" and row[7] == "-"

    code, out, err = run(database_url, "update", key_id, "--rate-limit", "role", "--expires-at", "never")
    assert code == 0, err
    row = run(database_url, "list")[1].strip().splitlines()[1].split("\t")
    assert (row[5], row[6]) == ("-", "-")
    assert run(database_url, "update", key_id)[0] == 2
    assert run(database_url, "update", key_id, "--rate-limit", "x/y")[0] == 2
    assert run(database_url, "update", "zzzzzzzz", "--rate-limit", "0")[0] == 1
