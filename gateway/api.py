"""The admin API for ops: issue, list and revoke API keys. Thin routes over `gateway.keys.KeyStore`.

Key creation takes no `Idempotency-Key` on purpose: replaying it would mean storing the response,
which holds the key, and the gateway stores no key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from gateway.keys import KeyStore, Principal
from gateway.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyOut, ApiKeyUpdate
from shared.auth import Role
from shared.errors import Forbidden, Unauthorized
from shared.pagination import CursorQuery, LimitQuery, Page

__all__ = ["router"]


async def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise Unauthorized("An API key is required.", headers={"WWW-Authenticate": "Bearer"})
    return principal


async def _ops_only(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if principal.role is not Role.OPS:
        raise Forbidden("The admin API needs an ops key.")
    return principal


async def _key_store(request: Request) -> KeyStore:
    keys = request.app.state.keys
    assert isinstance(keys, KeyStore)
    return keys


KeyStoreDep = Annotated[KeyStore, Depends(_key_store)]

router = APIRouter(prefix="/v1/admin/api-keys", tags=["admin"], dependencies=[Depends(_ops_only)])


@router.post("", status_code=201, response_model=ApiKeyIssued)
async def create_api_key(body: ApiKeyCreate, keys: KeyStoreDep, response: Response) -> ApiKeyIssued:
    """Issue a key. The response holds the whole key; it is never shown again."""
    response.headers["Cache-Control"] = "no-store"
    return await keys.create(body)


@router.get("", response_model=Page[ApiKeyOut])
async def list_api_keys(keys: KeyStoreDep, limit: LimitQuery = 50, cursor: CursorQuery = None) -> Page[ApiKeyOut]:
    return await keys.list_page(limit=limit, cursor=cursor)


@router.patch("/{key_id}", response_model=ApiKeyOut)
async def update_api_key(key_id: str, body: ApiKeyUpdate, keys: KeyStoreDep) -> ApiKeyOut:
    """Change a key's expiry or its own rate limit (null: never / back to its role's limit)."""
    return await keys.update(key_id, body)


@router.delete("/{key_id}", status_code=204, response_class=Response)
async def revoke_api_key(key_id: str, keys: KeyStoreDep) -> Response:
    """Revoke a key: this gateway refuses it at once, other replicas within `key_cache_ttl_s`."""
    await keys.revoke(key_id)
    return Response(status_code=204)
