"""Key management for ops: `python -m gateway.cli [--database-url URL] create|list|revoke`.

It works on the gateway database directly (migrating it first), so it also issues the very first ops
key, before any key exists to call the admin API with. A key revoked here is refused by running
gateways within their `key_cache_ttl_s` (the admin API revokes at once in the gateway that serves it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError

from gateway.keys import KeyStore, migrate, run_blocking
from gateway.schemas import ApiKeyCreate, ApiKeyOut
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
        str | None, typer.Option("--subject-id", help="Seller id (role seller) or marketplace id (role marketplace).")
    ] = None,
) -> None:
    """Issue a key and print it on stdout. It is shown this once; the gateway keeps only a hash."""
    try:
        spec = ApiKeyCreate(name=name, role=role, subject_id=subject_id)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "input"
            typer.echo(f"error: {field}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
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

    typer.echo("id\trole\tsubject\tcreated_at\trevoked_at\tname")
    for key in _with_store(ctx, everything):
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        row = (key.id, key.role.value, key.subject_id or "-", key.created_at.isoformat(), revoked, key.name)
        typer.echo("\t".join(row))


@app.command()
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's public id.")]) -> None:
    """Revoke a key (revoking it again changes nothing)."""
    key = _with_store(ctx, lambda store: store.revoke(key_id))
    revoked_at = key.revoked_at.isoformat() if key.revoked_at else "?"
    typer.echo(f"Revoked {key.id} ({key.role.value}, {key.name}) at {revoked_at}.")


if __name__ == "__main__":
    app()
