"""`python -m shared.migrate <component>`: bring one component's database to head, then exit.

The release step before serving (a compose one-shot service, a Kubernetes Job): one process
migrates, so replicas never race (the advisory lock of shared/migrations.py guards the case where
two steps run at once anyway). The database URL comes from the component's own settings
(`<PREFIX>_DATABASE_URL`).

`--wait` migrates nothing: it polls until the database is at head (an init container runs it, so a
new release's pods start serving only after the migration Job has finished).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from shared.db import make_engine
from shared.migrations import alembic_config, upgrade_to_head
from shared.serve import Component, component, component_names

__all__ = ["at_head", "main"]


async def at_head(target: Component, url: str) -> bool:
    """True when every head of the component's scripts is applied to the database at `url`.

    A head may be applied without being recorded: a service's first revision depends on the platform
    branch, so once the service's head is applied Alembic records only it, not the platform head.
    """
    script = ScriptDirectory.from_config(alembic_config(target.migrations, url, platform=target.has_platform_tables))

    def current(connection: Connection) -> tuple[str, ...]:
        return MigrationContext.configure(connection).get_current_heads()

    engine = make_engine(url, begin=None)
    try:
        async with engine.connect() as connection:
            recorded = await connection.run_sync(current)
    finally:
        await engine.dispose()
    applied = {revision.revision for head in recorded for revision in script.iterate_revisions(head, "base")}
    return set(script.get_heads()) <= applied


async def wait_for_head(target: Component, url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if await at_head(target, url):
                return True
        except Exception as exc:  # the database may not accept connections yet
            print(f"waiting for {target.name}'s database: {exc!r}"[:300], file=sys.stderr)
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("component", nargs="?", default=os.environ.get("COMPONENT"), help="gateway or a service")
    parser.add_argument("--wait", action="store_true", help="migrate nothing; wait until the database is at head")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits at most")
    args = parser.parse_args(argv)
    if not args.component:
        parser.error(f"name a component (or set COMPONENT): {', '.join(component_names())}")
    target = component(args.component)
    url = target.settings().database_url
    if args.wait:
        if not asyncio.run(wait_for_head(target, url, args.timeout)):
            sys.exit(
                f"{target.name}: the database is not at head after {args.timeout:.0f}s; did the migration Job run?"
            )
        return
    asyncio.run(upgrade_to_head(target.migrations, url, platform=target.has_platform_tables))
    print(f"{target.name}: database at head", file=sys.stderr)


if __name__ == "__main__":
    main()
