"""The Confluent Schema Registry REST surface on aiohttp.

Handlers are thin: decode path/query/body, check authorization, call :class:`Registry`, encode.
Every error leaves as Confluent's ``{"error_code": ..., "message": ...}`` body with its HTTP status,
including router errors (404/405), oversized bodies (413), malformed JSON (400) and bugs (500), so a
bad request never takes the registry down.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from evtctl.broker.registry import errors
from evtctl.broker.registry.auth import RegistryAuth
from evtctl.broker.registry.errors import RegistryHTTPError
from evtctl.broker.registry.schemas import SCHEMA_TYPES
from evtctl.broker.registry.service import Registry

log = logging.getLogger("evtctl.registry")

MAX_BODY_BYTES = 16 * 1024 * 1024
V1_JSON = "application/vnd.schemaregistry.v1+json"
SR_JSON = "application/vnd.schemaregistry+json"
PLAIN_JSON = "application/json"
PRODUCIBLE = (V1_JSON, SR_JSON, PLAIN_JSON)
CONSUMABLE = (V1_JSON, SR_JSON, PLAIN_JSON, "application/octet-stream")

REGISTRY_KEY: web.AppKey[Registry] = web.AppKey("registry", Registry)
AUTH_KEY: web.AppKey[RegistryAuth | None] = web.AppKey("auth", RegistryAuth)
PRINCIPAL = "evtctl.principal"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _negotiate(accept: str) -> str | None:
    """Content type of the answer: the client's most preferred one we produce (None: 406)."""
    if not accept.strip():
        return V1_JSON
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("*/*", "application/*"):
            candidate = V1_JSON
        elif media in PRODUCIBLE:
            candidate = media
        else:
            continue
        if quality > 0 and (best is None or (quality, -order) > (best[0], best[1])):
            best = (quality, -order, candidate)
    return None if best is None else best[2]


def _json_response(request: web.Request, data: Any, status: int = 200) -> web.Response:
    content_type = request.get("evtctl.content_type", V1_JSON)
    return web.Response(
        status=status,
        body=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        content_type=content_type,
        charset="utf-8" if content_type == PLAIN_JSON else None,
    )


def _error_response(
    request: web.Request, err: RegistryHTTPError, headers: dict[str, str] | None = None
) -> web.Response:
    response = _json_response(request, err.body(), status=err.status)
    if headers:
        response.headers.update(headers)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    content_type = _negotiate(request.headers.get("Accept", ""))
    if content_type is None:
        request["evtctl.content_type"] = V1_JSON
        return _error_response(request, RegistryHTTPError(406, 406, "HTTP 406 Not Acceptable"))
    request["evtctl.content_type"] = content_type
    try:
        return await handler(request)
    except RegistryHTTPError as err:
        return _error_response(request, err)
    except web.HTTPRequestEntityTooLarge:
        return _error_response(
            request, RegistryHTTPError(413, 413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        )
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error_response(
                request, RegistryHTTPError(exc.status, exc.status, f"HTTP {exc.status} {exc.reason}")
            )
        raise
    except Exception:
        log.exception("registry request failed: %s %s", request.method, request.path)
        return _error_response(request, RegistryHTTPError(500, 500, "Internal Server Error"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    auth = request.app[AUTH_KEY]
    if auth is None:
        request[PRINCIPAL] = None
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    principal: str | None = None
    if scheme.lower() == "basic":
        try:
            user, sep, password = (
                base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            user, sep, password = "", "", ""
        if sep:
            principal = auth.authenticator.basic(user, password)
    elif scheme.lower() == "bearer" and credentials.strip():
        principal = auth.authenticator.bearer(credentials.strip())
    if principal is None:
        return _error_response(
            request,
            RegistryHTTPError(401, 401, "Unauthorized"),
            headers={"WWW-Authenticate": f'Basic realm="{auth.realm}"'},
        )
    request[PRINCIPAL] = principal
    return await handler(request)


def _allowed(request: web.Request, operation: str, subject: str | None) -> bool:
    auth = request.app[AUTH_KEY]
    if auth is None:
        return True
    host = request.remote or ""
    return auth.authorizer.authorize(request[PRINCIPAL], operation, subject, host)


def _authorize(request: web.Request, operation: str, subject: str | None) -> None:
    if not _allowed(request, operation, subject):
        scope = f"subject '{subject}'" if subject is not None else "the global configuration"
        raise RegistryHTTPError(
            403, 40301, f"User {request[PRINCIPAL]} is denied operation {operation.capitalize()} on {scope}"
        )


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").strip().lower() == "true"


async def _body(request: web.Request) -> dict[str, Any]:
    content_type = request.content_type.lower()
    if request.headers.get("Content-Type") and content_type not in CONSUMABLE:
        raise RegistryHTTPError(415, 415, "HTTP 415 Unsupported Media Type")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryHTTPError(400, 400, f"Malformed JSON request body: {exc}") from None
    if not isinstance(data, dict):
        raise errors.unprocessable("The request body must be a JSON object")
    return data


def _subject(request: web.Request) -> str:
    return request.match_info["subject"]


def _schema_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    try:
        return int(raw)
    except ValueError:
        raise errors.schema_not_found(raw) from None


def _registry(request: web.Request) -> Registry:
    return request.app[REGISTRY_KEY]


# -- handlers ------------------------------------------------------------------------------------


async def root(request: web.Request) -> web.Response:
    return _json_response(request, {})


async def schema_types(request: web.Request) -> web.Response:
    return _json_response(request, list(SCHEMA_TYPES))


async def contexts(request: web.Request) -> web.Response:
    return _json_response(request, ["."])


async def list_schemas(request: web.Request) -> web.Response:
    reg = _registry(request)
    data = reg.list_schemas(
        prefix=request.query.get("subjectPrefix"),
        deleted=_flag(request, "deleted"),
        latest_only=_flag(request, "latestOnly"),
        visible=lambda s: _allowed(request, "read", s),
    )
    return _json_response(request, data)


def _authorize_id(request: web.Request, schema_id: int) -> None:
    """Reading by id needs read access to one subject that holds the id."""
    reg = _registry(request)
    reg.stored_by_id(schema_id)
    if request.app[AUTH_KEY] is None:
        return
    if not any(_allowed(request, "read", s) for s in reg.subjects_by_id(schema_id, deleted=True)):
        raise RegistryHTTPError(
            403, 40301, f"User {request[PRINCIPAL]} is denied operation Read on schema {schema_id}"
        )


async def schema_by_id(request: web.Request) -> web.Response:
    schema_id = _schema_id(request)
    _authorize_id(request, schema_id)
    data = await _registry(request).schema_by_id(
        schema_id, fmt=request.query.get("format"), fetch_max_id=_flag(request, "fetchMaxId")
    )
    return _json_response(request, data)


async def schema_by_id_raw(request: web.Request) -> web.Response:
    schema_id = _schema_id(request)
    _authorize_id(request, schema_id)
    reg = _registry(request)
    text = await reg.formatted(reg.stored_by_id(schema_id), request.query.get("format"))
    return web.Response(text=text, content_type=request["evtctl.content_type"])


async def schema_by_guid(request: web.Request) -> web.Response:
    reg = _registry(request)
    data = await reg.schema_by_guid(request.match_info["guid"], fmt=request.query.get("format"))
    schema_id = reg.state.ids_by_guid[request.match_info["guid"]]
    _authorize_id(request, schema_id)
    return _json_response(request, data)


async def subjects_by_id(request: web.Request) -> web.Response:
    schema_id = _schema_id(request)
    _authorize_id(request, schema_id)
    subjects = _registry(request).subjects_by_id(schema_id, deleted=_flag(request, "deleted"))
    return _json_response(request, [s for s in subjects if _allowed(request, "read", s)])


async def versions_by_id(request: web.Request) -> web.Response:
    schema_id = _schema_id(request)
    _authorize_id(request, schema_id)
    data = _registry(request).versions_by_id(schema_id, deleted=_flag(request, "deleted"))
    return _json_response(request, [d for d in data if _allowed(request, "read", d["subject"])])


async def list_subjects(request: web.Request) -> web.Response:
    subjects = _registry(request).subjects(
        deleted=_flag(request, "deleted"),
        deleted_only=_flag(request, "deletedOnly"),
        prefix=request.query.get("subjectPrefix"),
    )
    return _json_response(request, [s for s in subjects if _allowed(request, "read", s)])


async def list_versions(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    data = _registry(request).versions(
        subject, deleted=_flag(request, "deleted"), deleted_only=_flag(request, "deletedOnly")
    )
    return _json_response(request, data)


async def register(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "write", subject)
    body = await _body(request)
    data = await _registry(request).register(subject, body, normalize=_flag(request, "normalize"))
    return _json_response(request, data)


async def get_version(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    data = await _registry(request).get_version(
        subject,
        request.match_info["version"],
        deleted=_flag(request, "deleted"),
        fmt=request.query.get("format"),
    )
    return _json_response(request, data)


async def get_version_schema(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    text = await _registry(request).get_version_schema(
        subject,
        request.match_info["version"],
        deleted=_flag(request, "deleted"),
        fmt=request.query.get("format"),
    )
    return web.Response(text=text, content_type=request["evtctl.content_type"])


async def referenced_by(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    return _json_response(request, _registry(request).referenced_by(subject, request.match_info["version"]))


async def delete_version(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "delete", subject)
    version = await _registry(request).delete_version(
        subject, request.match_info["version"], permanent=_flag(request, "permanent")
    )
    return _json_response(request, version)


async def lookup(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    body = await _body(request)
    data = await _registry(request).lookup(
        subject, body, normalize=_flag(request, "normalize"), deleted=_flag(request, "deleted")
    )
    return _json_response(request, data)


async def delete_subject(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "delete", subject)
    data = await _registry(request).delete_subject(subject, permanent=_flag(request, "permanent"))
    return _json_response(request, data)


def _scope(request: web.Request) -> str | None:
    return request.match_info.get("subject")


# evtctl extension: ``GET /config?subjectConfigs=true`` adds every subject-level config, so a plan reads
# all compatibility levels in one request instead of one ``GET /config/{subject}`` per subject. Other
# registries ignore the unknown parameter and answer the global config alone, which tells a client to
# fall back to per-subject reads. Left out when the caller may not read every configured subject (it
# then reads them one by one and gets the proper 403s).
SUBJECT_CONFIGS = "subjectConfigs"
SUBJECT_CONFIGS_FIELD = "evtctlSubjectConfigs"


async def get_config(request: web.Request) -> web.Response:
    subject = _scope(request)
    _authorize(request, "read", subject)
    reg = _registry(request)
    data = reg.get_config(subject, default_to_global=_flag(request, "defaultToGlobal"))
    if subject is None and _flag(request, SUBJECT_CONFIGS):
        configs = reg.subject_configs()
        if all(_allowed(request, "read", s) for s in configs):
            data[SUBJECT_CONFIGS_FIELD] = configs
    return _json_response(request, data)


async def put_config(request: web.Request) -> web.Response:
    subject = _scope(request)
    _authorize(request, "write", subject)
    body = await _body(request)
    return _json_response(request, await _registry(request).set_config(subject, body))


async def delete_config(request: web.Request) -> web.Response:
    subject = _scope(request)
    _authorize(request, "write", subject)
    return _json_response(request, await _registry(request).delete_config(subject))


async def get_mode(request: web.Request) -> web.Response:
    subject = _scope(request)
    _authorize(request, "read", subject)
    data = _registry(request).get_mode(subject, default_to_global=_flag(request, "defaultToGlobal"))
    return _json_response(request, data)


async def put_mode(request: web.Request) -> web.Response:
    subject = _scope(request)
    _authorize(request, "write", subject)
    body = await _body(request)
    return _json_response(
        request, await _registry(request).set_mode(subject, body, force=_flag(request, "force"))
    )


async def delete_mode(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "write", subject)
    return _json_response(request, await _registry(request).delete_mode(subject))


async def compatibility(request: web.Request) -> web.Response:
    subject = _subject(request)
    _authorize(request, "read", subject)
    body = await _body(request)
    data = await _registry(request).test_compatibility(
        subject,
        request.match_info.get("version"),
        body,
        normalize=_flag(request, "normalize"),
        verbose=_flag(request, "verbose"),
    )
    return _json_response(request, data)


def build_app(registry: Registry, auth: RegistryAuth | None) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=MAX_BODY_BYTES)
    app[REGISTRY_KEY] = registry
    app[AUTH_KEY] = auth
    subject = "{subject:[^/]+}"
    version = "{version:[^/]+}"
    app.router.add_get("/", root)
    app.router.add_get("/schemas/types", schema_types)
    app.router.add_get("/schemas", list_schemas)
    app.router.add_get("/schemas/ids/{id}", schema_by_id)
    app.router.add_get("/schemas/ids/{id}/schema", schema_by_id_raw)
    app.router.add_get("/schemas/ids/{id}/subjects", subjects_by_id)
    app.router.add_get("/schemas/ids/{id}/versions", versions_by_id)
    app.router.add_get("/schemas/guids/{guid}", schema_by_guid)
    app.router.add_get("/contexts", contexts)
    app.router.add_get("/subjects", list_subjects)
    app.router.add_post(f"/subjects/{subject}", lookup)
    app.router.add_delete(f"/subjects/{subject}", delete_subject)
    app.router.add_get(f"/subjects/{subject}/versions", list_versions)
    app.router.add_post(f"/subjects/{subject}/versions", register)
    app.router.add_get(f"/subjects/{subject}/versions/{version}", get_version)
    app.router.add_delete(f"/subjects/{subject}/versions/{version}", delete_version)
    app.router.add_get(f"/subjects/{subject}/versions/{version}/schema", get_version_schema)
    app.router.add_get(f"/subjects/{subject}/versions/{version}/referencedby", referenced_by)
    app.router.add_get("/config", get_config)
    app.router.add_put("/config", put_config)
    app.router.add_delete("/config", delete_config)
    app.router.add_get(f"/config/{subject}", get_config)
    app.router.add_put(f"/config/{subject}", put_config)
    app.router.add_delete(f"/config/{subject}", delete_config)
    app.router.add_get("/mode", get_mode)
    app.router.add_put("/mode", put_mode)
    app.router.add_get(f"/mode/{subject}", get_mode)
    app.router.add_put(f"/mode/{subject}", put_mode)
    app.router.add_delete(f"/mode/{subject}", delete_mode)
    app.router.add_post(f"/compatibility/subjects/{subject}/versions", compatibility)
    app.router.add_post(f"/compatibility/subjects/{subject}/versions/{version}", compatibility)
    return app
