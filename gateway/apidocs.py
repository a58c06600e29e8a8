"""One OpenAPI document for the whole platform, merged from every upstream's own, and the docs page.

Guarantees of the merged document (`merge_openapi`):
- It holds exactly the public operations: a service's path is kept only if the routing table sends
  that path to that service (health probes and anything outside the public prefixes are dropped);
  the gateway's own admin API (`/v1/admin/...`) is added.
- Components are de-duplicated and clash-safe: a component that two services define identically
  (after their own references are resolved the same way) appears once under its name; one that differs
  gets a service-qualified name (`orders.Money`) in each service that defines it, and that service's
  references follow the new name. Components no kept operation reaches are dropped.
- Every operation declares the API-key security scheme (bearer or `X-API-Key`) and, on top of the
  service's own problem responses, the gateway's: 401, 403, 429, 502, 503, 504 (413 where there is a
  body), all `application/problem+json`. `servers` is the gateway; operation ids are unique; each
  operation's tags are prefixed with its service, so the page groups operations by service.
- A service whose document cannot be fetched is listed in `x-ewtp-unavailable` and its operations are
  missing until it answers: `ApiDocuments` retries it after `RETRY_S`, and refreshes every document
  after `TTL_S` (services are redeployed independently).

The documents are fetched lazily (the first `/openapi.json` after start or after the TTL), one fetch
at a time however many callers wait, over the forwarder's pooled HTTP session. A service serves its
`/openapi.json` unsigned (shared/auth.py `UNSIGNED_PATHS`), so no identity is sent.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import fastapi_offline
import orjson

from gateway.authz import ADMIN_PREFIX
from gateway.routing import Service, service_for
from shared.errors import PROBLEM_JSON
from shared.openapi import PROBLEM_SCHEMA

__all__ = ["ApiDocuments", "SWAGGER_ASSETS", "docs_page", "merge_openapi"]

log = logging.getLogger("ewtp.gateway.apidocs")

TTL_S = 60.0
RETRY_S = 2.0
#: A service builds its OpenAPI document on first request (seconds on a loaded 2-core machine).
FETCH_TIMEOUT_S = 10.0
GATEWAY = "gateway"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_WRITES = frozenset({"post", "put", "patch", "delete"})
_REF_PREFIX = "#/components/"

#: Swagger UI's own files as the pinned `fastapi-offline` wheel ships them (swagger-ui-dist 5.x,
#: Apache-2.0): the page needs no CDN and works without internet.
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"

SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An eWTP API key (`ewtp_<id>_<secret>`) as `Authorization: Bearer <key>`.",
    },
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key in `X-API-Key`, for clients that cannot set Authorization.",
    },
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_GATEWAY_PROBLEMS = {
    401: "Unauthorized: no API key, or an unknown, revoked or expired one",
    403: "Forbidden: this key's role may not call this route group",
    429: "Too Many Requests: this key's rate limit is spent (see Retry-After)",
    502: "Bad Gateway: the service could not be reached",
    503: "Service Unavailable: the service is not deployed or not ready",
    504: "Gateway Timeout: the service did not answer in time",
}


def _walk_refs(node: Any, rename: Callable[[str], str]) -> Any:
    """A copy of `node` with every `$ref` passed through `rename`."""
    if isinstance(node, dict):
        return {
            k: (rename(v) if k == "$ref" and isinstance(v, str) else _walk_refs(v, rename)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_walk_refs(v, rename) for v in node]
    return node


def _refs(node: Any, found: set[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            kind, _, name = ref[len(_REF_PREFIX) :].partition("/")
            found.add((kind, name))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _renamer(renames: Mapping[tuple[str, str], str]) -> Callable[[str], str]:
    def rename(ref: str) -> str:
        if not ref.startswith(_REF_PREFIX):
            return ref
        kind, _, name = ref[len(_REF_PREFIX) :].partition("/")
        new = renames.get((kind, name))
        return f"{_REF_PREFIX}{kind}/{new}" if new else ref

    return rename


def _public_paths(source: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """The paths of `document` that the gateway routes to `source` (admin paths for the gateway)."""
    kept: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        if source == GATEWAY:
            owned = path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")
        else:
            owned = (service := service_for(path)) is not None and service.value == source
        if owned:
            kept[path] = item
    return kept


def _resolve_components(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[tuple[str, str], str]]:
    """Per source, the components to rename: (kind, name) → qualified name. Iterated to a fixed point,
    because renaming one component changes the content of those that refer to it."""
    renames: dict[str, dict[tuple[str, str], str]] = {source: {} for source in documents}
    taken = {
        (kind, name)
        for doc in documents.values()
        for kind, group in doc.get("components", {}).items()
        for name in group
    }
    while True:
        contents: dict[tuple[str, str], dict[str, bytes]] = {}
        for source, doc in documents.items():
            rename = _renamer(renames[source])
            for kind, group in doc.get("components", {}).items():
                for name, value in group.items():
                    if (kind, name) in renames[source]:
                        continue
                    contents.setdefault((kind, name), {})[source] = orjson.dumps(
                        _walk_refs(value, rename), option=orjson.OPT_SORT_KEYS
                    )
        changed = False
        for (kind, name), by_source in contents.items():
            if len(set(by_source.values())) > 1:  # a clash: every definer gets its own name
                for source in by_source:
                    qualified = f"{source}.{name}"
                    while (kind, qualified) in taken:
                        qualified = f"{source}.{qualified}"
                    taken.add((kind, qualified))
                    renames[source][(kind, name)] = qualified
                changed = True
        if not changed:
            return renames


def _gateway_responses(method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    statuses = dict(_GATEWAY_PROBLEMS)
    if method in _WRITES or "requestBody" in operation:
        statuses[413] = "Content Too Large: the request body is over the gateway's limit"
    for status, description in statuses.items():
        responses.setdefault(
            str(status),
            {
                "description": description,
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            },
        )


def merge_openapi(
    documents: Mapping[str, Mapping[str, Any]],
    *,
    server_url: str,
    unavailable: list[str] | None = None,
    version: str = "1",
) -> dict[str, Any]:
    """The merged document of `documents` (source name → its OpenAPI document; `gateway` for the admin API)."""
    trimmed: dict[str, dict[str, Any]] = {}
    for source, doc in documents.items():
        trimmed[source] = {"paths": _public_paths(source, doc), "components": copy.deepcopy(doc.get("components", {}))}
        trimmed[source]["components"].pop("securitySchemes", None)
    renames = _resolve_components(trimmed)

    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    tags: list[dict[str, str]] = []
    for source, doc in trimmed.items():
        rename = _renamer(renames[source])
        source_tags: set[str] = set()
        for path, item in doc["paths"].items():
            item = _walk_refs(item, rename)
            for method in _METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                operation["tags"] = [f"{source}: {tag}" for tag in operation.get("tags", [])] or [source]
                source_tags.update(operation["tags"])
                op_id = operation.get("operationId") or f"{method}_{path}"
                while op_id in operation_ids:
                    op_id = f"{source}_{op_id}"
                operation["operationId"] = op_id
                operation_ids.add(op_id)
                operation["security"] = [{"ApiKey": []}, {"ApiKeyHeader": []}]
                _gateway_responses(method, operation)
            paths[path] = item
        for kind, group in doc["components"].items():
            for name, value in group.items():
                components.setdefault(kind, {})[renames[source].get((kind, name), name)] = _walk_refs(value, rename)
        tags += [{"name": tag, "description": f"Served by the {source} service."} for tag in sorted(source_tags)]
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components = _reachable(paths, components)
    components["securitySchemes"] = SECURITY_SCHEMES
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "eWTP Rwanda API",
            "version": version,
            "description": (
                "Every public operation of the eWTP platform, through its one gateway. Authenticate with an API "
                "key (`Authorization: Bearer <key>` or `X-API-Key`); errors are RFC 9457 problem+json. "
                f"Services: {', '.join(s for s in documents if s != GATEWAY) or 'none'}."
            ),
        },
        "servers": [{"url": server_url, "description": "The eWTP gateway"}],
        "security": [{"ApiKey": []}, {"ApiKeyHeader": []}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": components,
    }
    if unavailable:
        merged["x-ewtp-unavailable"] = sorted(unavailable)
    return merged


def _reachable(paths: Mapping[str, Any], components: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only the components the paths reach, directly or through other components."""
    wanted: set[tuple[str, str]] = set()
    _refs(paths, wanted)
    seen: set[tuple[str, str]] = set()
    while wanted - seen:
        kind, name = (wanted - seen).pop()
        seen.add((kind, name))
        _refs(components.get(kind, {}).get(name), wanted)
    out: dict[str, dict[str, Any]] = {}
    for kind, name in sorted(seen):
        if name in components.get(kind, {}):
            out.setdefault(kind, {})[name] = components[kind][name]
    return out


class ApiDocuments:
    """The upstream documents, fetched lazily and cached; the merged document built from them."""

    def __init__(
        self,
        upstreams: Mapping[Service, str],
        own: Callable[[], dict[str, Any]],
        session: Callable[[], aiohttp.ClientSession | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstreams = {service.value: url for service, url in upstreams.items() if url}
        self.own = own
        self.session = session
        self.clock = clock
        self._documents: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._merged: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, source: str, now: float) -> bool:
        entry = self._documents.get(source)
        return entry is not None and now < entry[0]

    async def _fetch(self, source: str, base: str) -> dict[str, Any] | None:
        session = self.session()
        if session is None:
            return None
        try:
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
            async with session.get(f"{base}/openapi.json", timeout=timeout) as response:
                if response.status != 200:
                    raise ValueError(f"status {response.status}")
                document = orjson.loads(await response.read())
                if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
                    raise ValueError("not an OpenAPI document")
                return document
        except (aiohttp.ClientError, TimeoutError, ValueError, orjson.JSONDecodeError) as exc:
            log.warning("OpenAPI document of %s unavailable: %r", source, exc)
            return None

    async def merged(self, server_url: str) -> dict[str, Any]:
        """The merged document, refreshed when any part is stale (one refresh at a time)."""
        now = self.clock()
        if self._merged is None or any(not self._fresh(s, now) for s in self.upstreams):
            async with self._lock:
                now = self.clock()
                stale = [s for s in self.upstreams if not self._fresh(s, now)]
                if stale or self._merged is None:
                    fetched = await asyncio.gather(*(self._fetch(s, self.upstreams[s]) for s in stale))
                    for source, document in zip(stale, fetched, strict=True):
                        until = now + (TTL_S if document is not None else RETRY_S)
                        self._documents[source] = (until, document)
                    self._merged = (now, self._build())
        assert self._merged is not None
        document = dict(self._merged[1])
        document["servers"] = [{"url": server_url, "description": "The eWTP gateway"}]
        return document

    def _build(self) -> dict[str, Any]:
        documents: dict[str, dict[str, Any]] = {}
        unavailable: list[str] = []
        for source in self.upstreams:
            document = self._documents.get(source, (0.0, None))[1]
            if document is None:
                unavailable.append(source)
            else:
                documents[source] = document
        documents[GATEWAY] = self.own()
        return merge_openapi(documents, server_url="/", unavailable=unavailable)


def docs_page(openapi_url: str = "/openapi.json", assets: str = "/docs/assets") -> str:
    """The Swagger UI page over the merged document, every asset from this gateway."""
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>eWTP Rwanda API</title>
  <link rel="icon" type="image/png" href="{assets}/favicon.png">
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{openapi_url}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      docExpansion: "list",
      defaultModelsExpandDepth: -1,
      persistAuthorization: false,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""
