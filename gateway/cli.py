"""Key management for ops: `python -m gateway.cli [--database-url URL] create|list|update|revoke`.

It works on the gateway database directly (migrating it first), so it also issues the very first ops
key, before any key exists to call the admin API with. A key revoked here is refused by running
gateways within their `key_cache_ttl_s` (the admin API revokes at once in the gateway that serves it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from gateway.keys import KeyStore, migrate, run_blocking
from gateway.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyUpdate
from gateway.settings import GatewaySettings
from shared.auth import Role
from shared.db import Database
from shared.errors import Problem

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    help="Issue, list and revoke eWTP API keys in the gateway database.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="The gateway database (default: GATEWAY_DATABASE_URL, else sqlite+aiosqlite:///.data/gateway.db).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = database_url or GatewaySettings().database_url


def _with_store(ctx: typer.Context, action: Callable[[KeyStore], Awaitable[T]]) -> T:
    url = str(ctx.obj)

    async def run() -> T:
        await migrate(url)
        db = Database(url)
        try:
            return await action(KeyStore(db))
        finally:
            await db.dispose()

    try:
        return run_blocking(run())
    except Problem as exc:
        typer.echo(f"error: {exc.detail or exc.title}", err=True)
        raise typer.Exit(1) from None


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    role: Annotated[Role, typer.Option("--role", case_sensitive=False)],
    subject_id: Annotated[
        str | None,
        typer.Option(
            "--subject-id",
            help="Seller id (role seller), marketplace id (role marketplace) or app id (role traveller_app).",
        ),
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option("--expires-at", help="When the key stops working, ISO 8601 with offset (2027-06-30T00:00:00Z)."),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, help="Alternatively: days from now until it expires.")
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option("--rate-limit", help="The key's own rate limit ('1200/minute'; '0': none) instead of its role's."),
    ] = None,
) -> None:
    """Issue a key and print it on stdout. It is shown this once; the gateway keeps only a hash."""
    if expires_in_days is not None:
        if expires_at is not None:
            typer.echo("error: give --expires-at or --expires-in-days, not both", err=True)
            raise typer.Exit(2)
        expires_at = (datetime.now(UTC) + timedelta(days=expires_in_days)).isoformat()
    spec = _validated(
        ApiKeyCreate,
        {"name": name, "role": role, "subject_id": subject_id, "expires_at": expires_at, "rate_limit": rate_limit},
    )
    issued = _with_store(ctx, lambda store: store.create(spec))
    typer.echo(issued.key)
    bound = f" for {issued.subject_id}" if issued.subject_id else ""
    typer.echo(f"Created key {issued.id} ({issued.role.value}{bound}). Store it now: it is not shown again.", err=True)


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Every key, oldest first, revoked ones included (tab-separated; never a secret)."""

    async def everything(store: KeyStore) -> list[ApiKeyOut]:
        items: list[ApiKeyOut] = []
        cursor: str | None = None
        while True:
            page = await store.list_page(limit=200, cursor=cursor)
            items.extend(page.items)
            if page.next_cursor is None:
                return items
            cursor = page.next_cursor

    typer.echo("id\trole\tsubject\tcreated_at\trevoked_at\texpires_at\trate_limit\tlast_used_at\tname")
    for key in _with_store(ctx, everything):
        row = (
            key.id,
            key.role.value,
            key.subject_id or "-",
            key.created_at.isoformat(),
            _when(key.revoked_at),
            _when(key.expires_at),
            key.rate_limit or "-",
            _when(key.last_used_at),
            key.name,
        )
        typer.echo("\t".join(row))


@app.command()
def update(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's public id.")],
    expires_at: Annotated[
        str | None, typer.Option("--expires-at", help="New expiry (ISO 8601 with offset), or 'never'.")
    ] = None,
    rate_limit: Annotated[
        str | None, typer.Option("--rate-limit", help="New own rate limit ('0': none), or 'role' for the role's.")
    ] = None,
) -> None:
    """Change a key's expiry or its own rate limit; running gateways apply it within `key_cache_ttl_s`."""
    change: dict[str, object] = {}
    if expires_at is not None:
        change["expires_at"] = None if expires_at == "never" else expires_at
    if rate_limit is not None:
        change["rate_limit"] = None if rate_limit == "role" else rate_limit
    if not change:
        typer.echo("error: nothing to change: give --expires-at and/or --rate-limit", err=True)
        raise typer.Exit(2)
    spec = _validated(ApiKeyUpdate, change)
    key = _with_store(ctx, lambda store: store.update(key_id, spec))
    typer.echo(f"Updated {key.id}: expires_at {_when(key.expires_at)}, rate_limit {key.rate_limit or 'role default'}.")


def _when(at: datetime | None) -> str:
    return at.isoformat() if at else "-"


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: dict[str, object]) -> M:
    """`data` as `model`, or exit 2 naming each bad field (nothing is written)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "input"
            typer.echo(f"error: {field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


@app.command()
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's public id.")]) -> None:
    """Revoke a key (revoking it again changes nothing)."""
    key = _with_store(ctx, lambda store: store.revoke(key_id))
    revoked_at = key.revoked_at.isoformat() if key.revoked_at else "?"
    typer.echo(f"Revoked {key.id} ({key.role.value}, {key.name}) at {revoked_at}.")


if __name__ == "__main__":
    app()
