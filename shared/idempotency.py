"""`Idempotency-Key` for state-changing POSTs: kept importable here; the unit of work lives in
`shared.commands` (see its docstring for the guarantees and how they are kept on each database)."""

from __future__ import annotations

from shared.commands import LOCK_TIMEOUT, CommandDep, CommandRunner, json_response

__all__ = ["LOCK_TIMEOUT", "CommandDep", "CommandRunner", "json_response"]
