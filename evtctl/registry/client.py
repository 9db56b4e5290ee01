"""A synchronous client for the Confluent Schema Registry REST API.

The same client talks to evtctl's embedded registry, Confluent Schema Registry, Karapace, Redpanda
and Apicurio's Confluent-compatible API, so it uses only documented endpoints and parameters.

Failure policy: connection errors and 5xx answers are retried with capped exponential backoff (plus
jitter, so a fleet of CI jobs does not retry in lock step); 429 waits for ``Retry-After`` when the
server sends one. Everything else fails at once as :class:`RegistryError`, a
:class:`~evtctl.errors.BackendError` that names the method and endpoint and carries the registry's
``error_code`` and ``message``.
"""

from __future__ import annotations

import email.utils
import random
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from evtctl.errors import BackendError, Location

SchemaType = Literal["AVRO", "PROTOBUF", "JSON"]
Version = int | Literal["latest"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
ACCEPT = (
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; qs=0.9, "
    "application/json; qs=0.5"
)

# Confluent error codes the client interprets (the full list is in docs/registry.md).
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_COMPAT_NOT_CONFIGURED = 40408
SUBJECT_MODE_NOT_CONFIGURED = 40409


class RegistryError(BackendError):
    """The registry answered with an error, or could not be reached after the retries."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status: int | None = None,
        error_code: int | None = None,
        help: str | None = None,
    ) -> None:
        super().__init__(message, location=Location(context=endpoint), help=help)
        self.endpoint = endpoint
        self.status = status
        self.error_code = error_code


@dataclass(frozen=True, slots=True)
class SchemaReference:
    """A named reference from one schema to a registered subject version."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SchemaReference:
        return cls(name=str(data["name"]), subject=str(data["subject"]), version=int(data["version"]))


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One subject version as the registry returns it."""

    subject: str
    version: int
    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegisteredSchema:
        return cls(
            subject=str(data["subject"]),
            version=int(data["version"]),
            id=int(data["id"]),
            schema=str(data["schema"]),
            schema_type=str(data.get("schemaType") or "AVRO"),
            references=_refs(data.get("references")),
        )


@dataclass(frozen=True, slots=True)
class SchemaById:
    """The schema registered under a global id (without subject or version)."""

    id: int
    schema: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = ()


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    compatible: bool
    messages: tuple[str, ...] = field(default_factory=tuple)


def _refs(raw: object) -> tuple[SchemaReference, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(SchemaReference.from_json(r) for r in raw if isinstance(r, Mapping))


def _seg(value: str | int) -> str:
    # Subject names may contain '/', ':' or spaces; every path segment is fully percent-encoded.
    return quote(str(value), safe="")


def _schema_body(
    schema: str,
    schema_type: str,
    references: Sequence[SchemaReference],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    # Confluent omits schemaType for AVRO; sending it is accepted everywhere, omitting it keeps
    # older registries (pre-5.5, which reject unknown fields) working.
    if schema_type.upper() != "AVRO":
        body["schemaType"] = schema_type.upper()
    if references:
        body["references"] = [r.to_json() for r in references]
    if extra:
        body.update(extra)
    return body


def _parse_url(url: str) -> tuple[str, str | None, str | None]:
    """(URL without credentials, user, password) or RegistryError for a non-http(s) URL."""
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistryError(
            f"registry URL {url!r} is not an http(s) URL",
            endpoint=url,
            help="use e.g. http://127.0.0.1:8081",
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literal
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if parts.username is None:
        return clean, None, None
    return clean, unquote(parts.username), unquote(parts.password or "")


class RegistryClient:
    """Synchronous Confluent Schema Registry client.

    ``url`` may carry ``user:password@`` (used as basic auth unless ``username`` is given) and may be
    a comma-separated list (connection errors move on to the next one). ``ca_file`` verifies an
    https registry against that CA; ``cert_file``/``key_file`` present a client certificate.
    ``token`` sends ``Authorization: Bearer``; it wins over basic credentials.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        max_retry_after: float = 30.0,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Like Confluent's clients, a comma-separated list of URLs fails over on connection errors.
        self.urls: list[str] = []
        for one in (u.strip() for u in url.split(",")):
            if not one:
                continue
            clean, user, secret = _parse_url(one)
            if user is not None and username is None:
                username, password = user, secret
            self.urls.append(clean)
        if not self.urls:
            raise RegistryError(
                "the registry URL is empty", endpoint=url, help="use e.g. http://127.0.0.1:8081"
            )
        self._current = 0
        headers = {"Accept": ACCEPT, "User-Agent": "evtctl-registry-client"}
        auth: httpx.Auth | None = None
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif username is not None:
            auth = httpx.BasicAuth(username, password or "")
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        verify: ssl.SSLContext | bool = True
        if ca_file is not None or cert_file is not None:
            try:
                context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
                if cert_file is not None:
                    context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
            except (OSError, ssl.SSLError) as exc:
                raise RegistryError(
                    f"cannot load the registry TLS files: {exc}",
                    endpoint=self.url,
                    help="check the CA, certificate and key paths of the context",
                ) from None
            verify = context
        self._http = httpx.Client(
            headers=headers, auth=auth, timeout=timeout, transport=transport, verify=verify
        )

    @property
    def url(self) -> str:
        """The registry URL requests currently go to."""
        return self.urls[self._current]

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------------
    def _delays(self) -> Iterator[float]:
        for attempt in range(self.retries):
            base = min(self.max_backoff, self.backoff * (2**attempt))
            yield base * (0.5 + random.random() / 2)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return min(float(value), self.max_retry_after)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, min(when.timestamp() - time.time(), self.max_retry_after))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON body."""
        response = self.send(method, path, params=params, body=body)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryError(
                f"the registry answered {response.status_code} with a body that is not JSON",
                endpoint=f"{method} {path}",
                status=response.status_code,
            ) from exc

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """Send one request with retries; returns a 2xx/3xx response or raises RegistryError."""
        clean_params = {
            k: (str(v).lower() if isinstance(v, bool) else v)
            for k, v in (params or {}).items()
            if v is not None
        }
        endpoint = f"{method} {path}"
        delays = self._delays()
        while True:
            try:
                response = self._http.request(
                    method,
                    self.url + path,
                    params=clean_params,
                    json=body,
                    headers={"Content-Type": CONTENT_TYPE} if body is not None else None,
                )
            except httpx.TransportError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise RegistryError(
                        f"could not reach the schema registry at {self.url}: {exc}",
                        endpoint=endpoint,
                        help="check the registry URL and that the registry is running",
                    ) from exc
                self._current = (self._current + 1) % len(self.urls)
                time.sleep(delay)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                delay = next(delays, None)
                if delay is not None:
                    if response.status_code == 429:
                        delay = self._retry_after(response) or delay
                    time.sleep(delay)
                    continue
            if response.status_code >= 400:
                raise self._error(endpoint, response)
            return response

    def _error(self, endpoint: str, response: httpx.Response) -> RegistryError:
        error_code: int | None = None
        message = response.text.strip()[:500] or response.reason_phrase
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, Mapping):
            raw_code = data.get("error_code")
            if isinstance(raw_code, int):
                error_code = raw_code
            if isinstance(data.get("message"), str):
                message = data["message"]
        code_text = f" error {error_code}" if error_code is not None else ""
        hint = None
        if response.status_code in (401, 403):
            hint = "check the registry credentials (username/password or token) and the subject ACLs"
        return RegistryError(
            f"registry answered HTTP {response.status_code}{code_text}: {message}",
            endpoint=endpoint,
            status=response.status_code,
            error_code=error_code if error_code is not None else response.status_code,
            help=hint,
        )

    # -- subjects and versions -----------------------------------------------------------------
    def subjects(self, *, deleted: bool = False, prefix: str | None = None) -> list[str]:
        params: dict[str, Any] = {"deleted": deleted or None, "subjectPrefix": prefix}
        return [str(s) for s in self.request("GET", "/subjects", params=params)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        data = self.request("GET", f"/subjects/{_seg(subject)}/versions", params={"deleted": deleted or None})
        return [int(v) for v in data]

    def get_version(
        self, subject: str, version: Version = "latest", *, deleted: bool = False
    ) -> RegisteredSchema:
        data = self.request(
            "GET",
            f"/subjects/{_seg(subject)}/versions/{_seg(version)}",
            params={"deleted": deleted or None},
        )
        return RegisteredSchema.from_json(data)

    def get_latest(self, subject: str) -> RegisteredSchema | None:
        """The latest version of ``subject``, or None when the subject does not exist."""
        try:
            return self.get_version(subject, "latest")
        except RegistryError as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND):
                return None
            raise

    def get_version_schema(self, subject: str, version: Version = "latest") -> str:
        """The raw schema text of a version (``/versions/{v}/schema``)."""
        return self.send("GET", f"/subjects/{_seg(subject)}/versions/{_seg(version)}/schema").text

    def register(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[SchemaReference] = (),
        *,
        normalize: bool = False,
        schema_id: int | None = None,
        version: int | None = None,
    ) -> int:
        """Register ``schema`` under ``subject`` and return its global id (idempotent).

        ``schema_id``/``version`` are only accepted by a registry (or subject) in IMPORT mode.
        """
        extra: dict[str, Any] = {}
        if schema_id is not None:
            extra["id"] = schema_id
        if version is not None:
            extra["version"] = version
        data = self.request(
            "POST",
            f"/subjects/{_seg(subject)}/versions",
            params={"normalize": normalize or None},
            body=_schema_body(schema, schema_type, references, extra),
        )
        return int(data["id"])

    def lookup(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[SchemaReference] = (),
        *,
        normalize: bool = False,
        deleted: bool = False,
    ) -> RegisteredSchema | None:
        """The version of ``subject`` holding ``schema``, or None if it is not registered there."""
        try:
            data = self.request(
                "POST",
                f"/subjects/{_seg(subject)}",
                params={"normalize": normalize or None, "deleted": deleted or None},
                body=_schema_body(schema, schema_type, references),
            )
        except RegistryError as exc:
            if exc.error_code in (SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND):
                return None
            raise
        return RegisteredSchema.from_json(data)

    def test_compatibility(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: Sequence[SchemaReference] = (),
        *,
        version: Version | None = "latest",
        verbose: bool = False,
        normalize: bool = False,
    ) -> CompatibilityResult:
        """Test ``schema`` against one version, or against all versions when ``version`` is None."""
        path = f"/compatibility/subjects/{_seg(subject)}/versions"
        if version is not None:
            path += f"/{_seg(version)}"
        data = self.request(
            "POST",
            path,
            params={"verbose": verbose or None, "normalize": normalize or None},
            body=_schema_body(schema, schema_type, references),
        )
        messages = data.get("messages") or []
        return CompatibilityResult(bool(data.get("is_compatible")), tuple(str(m) for m in messages))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete a subject (or hard-delete a soft-deleted one); returns the deleted versions."""
        data = self.request("DELETE", f"/subjects/{_seg(subject)}", params={"permanent": permanent or None})
        return [int(v) for v in data]

    def delete_version(self, subject: str, version: Version, *, permanent: bool = False) -> int:
        data = self.request(
            "DELETE",
            f"/subjects/{_seg(subject)}/versions/{_seg(version)}",
            params={"permanent": permanent or None},
        )
        return int(data)

    def referenced_by(self, subject: str, version: Version = "latest") -> list[int]:
        """Ids of schemas that reference this subject version."""
        data = self.request("GET", f"/subjects/{_seg(subject)}/versions/{_seg(version)}/referencedby")
        return [int(i) for i in data]

    # -- schemas by id -------------------------------------------------------------------------
    def schema_by_id(self, schema_id: int, *, subject: str | None = None) -> SchemaById:
        data = self.request("GET", f"/schemas/ids/{int(schema_id)}", params={"subject": subject})
        return SchemaById(
            id=int(schema_id),
            schema=str(data["schema"]),
            schema_type=str(data.get("schemaType") or "AVRO"),
            references=_refs(data.get("references")),
        )

    def subjects_by_id(self, schema_id: int, *, deleted: bool = False) -> list[str]:
        data = self.request(
            "GET", f"/schemas/ids/{int(schema_id)}/subjects", params={"deleted": deleted or None}
        )
        return [str(s) for s in data]

    def versions_by_id(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        data = self.request(
            "GET", f"/schemas/ids/{int(schema_id)}/versions", params={"deleted": deleted or None}
        )
        return [(str(d["subject"]), int(d["version"])) for d in data]

    def schema_types(self) -> list[str]:
        return [str(t) for t in self.request("GET", "/schemas/types")]

    # -- config and mode -----------------------------------------------------------------------
    # /config and /mode share one layout: global at /{resource}, per subject at /{resource}/{subject}.
    def _get_setting(
        self, resource: str, subject: str | None, default_to_global: bool, unset_code: int
    ) -> Any:
        """The decoded GET answer, or None when ``subject`` has no setting of its own."""
        try:
            return self.request(
                "GET", _setting_path(resource, subject), params={"defaultToGlobal": default_to_global or None}
            )
        except RegistryError as exc:
            if subject is not None and exc.error_code in (unset_code, SUBJECT_NOT_FOUND):
                return None
            raise

    def get_config(self, subject: str | None = None, *, default_to_global: bool = False) -> str | None:
        """The compatibility level (global, or of ``subject``); None if the subject has none set."""
        data = self._get_setting("config", subject, default_to_global, SUBJECT_COMPAT_NOT_CONFIGURED)
        return None if data is None else _level(data)

    def set_config(self, level: str, subject: str | None = None) -> str:
        data = self.request("PUT", _setting_path("config", subject), body={"compatibility": level.upper()})
        return str(data.get("compatibility") or data.get("compatibilityLevel"))

    def delete_config(self, subject: str | None = None) -> str | None:
        """Remove a subject's (or the global) level; returns the level that was removed."""
        data = self.request("DELETE", _setting_path("config", subject))
        return _level(data) if isinstance(data, Mapping) else None

    def get_mode(self, subject: str | None = None, *, default_to_global: bool = False) -> str | None:
        data = self._get_setting("mode", subject, default_to_global, SUBJECT_MODE_NOT_CONFIGURED)
        return None if data is None else str(data["mode"])

    def set_mode(self, mode: str, subject: str | None = None, *, force: bool = False) -> str:
        path = _setting_path("mode", subject)
        data = self.request("PUT", path, params={"force": force or None}, body={"mode": mode.upper()})
        return str(data["mode"])

    def delete_mode(self, subject: str) -> str | None:
        data = self.request("DELETE", _setting_path("mode", subject))
        return str(data["mode"]) if isinstance(data, Mapping) and "mode" in data else None


def _setting_path(resource: str, subject: str | None) -> str:
    return f"/{resource}" if subject is None else f"/{resource}/{_seg(subject)}"


def _level(data: Mapping[str, Any]) -> str | None:
    # Confluent answers GET with compatibilityLevel and PUT with compatibility; accept either.
    level = data.get("compatibilityLevel") or data.get("compatibility")
    return None if level is None else str(level)
