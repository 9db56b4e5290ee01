"""Registry authentication (HTTP basic, bearer tokens) and subject authorization.

Two small Protocols keep the HTTP layer independent of where principals and ACLs live:

- :class:`Authenticator` turns credentials into a principal (``User:alice``) or None.
- :class:`SubjectAuthorizer` decides ``read``/``write``/``delete`` on a subject (``None`` is the
  global scope: ``/config`` and ``/mode`` without a subject).

Implementations: :class:`StaticAuth` (a JSON/YAML file: users, tokens, super users, subject ACLs by
exact name or prefix), and :class:`BrokerAuth`, which uses the hosting broker's SCRAM credential
store for passwords and the broker's ACL authorizer for decisions, so the ACLs the manifests declare
for a topic also govern its ``<topic>-key``/``<topic>-value`` subjects (see docs/registry.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evtctl.errors import InputError, Location

OPERATIONS = ("read", "write", "delete")


class Authenticator(Protocol):
    def basic(self, username: str, password: str) -> str | None:
        """The principal for valid credentials, else None."""
        ...

    def bearer(self, token: str) -> str | None: ...


class SubjectAuthorizer(Protocol):
    def authorize(self, principal: str, operation: str, subject: str | None, host: str) -> bool:
        """``operation`` is read, write or delete; ``subject`` None means the global scope."""
        ...


@dataclass(frozen=True, slots=True)
class RegistryAuth:
    """Both halves, handed to ``start_registry(auth=...)``."""

    authenticator: Authenticator
    authorizer: SubjectAuthorizer
    realm: str = "evtctl-registry"


@dataclass(frozen=True, slots=True)
class SubjectAcl:
    principal: str  # "User:alice" or "User:*"
    operations: frozenset[str]  # subset of OPERATIONS, or {"all"}
    subject: str | None = None  # exact subject ("*" = any), or
    prefix: str | None = None  # subject prefix ("" = any, also the global scope)
    allow: bool = True

    def matches(self, principal: str, operation: str, subject: str | None) -> bool:
        if self.principal not in (principal, "User:*"):
            return False
        if operation not in self.operations and "all" not in self.operations:
            return False
        if subject is None:  # global config/mode: only rules covering every subject
            return self.subject == "*" or self.prefix == ""
        if self.subject is not None:
            return self.subject in (subject, "*")
        return self.prefix is not None and subject.startswith(self.prefix)


def _check_password(stored: str, given: str) -> bool:
    # "sha256:<hex>" keeps plain passwords out of the file; anything else is compared as is.
    if stored.startswith("sha256:"):
        digest = hashlib.sha256(given.encode("utf-8")).hexdigest()
        return hmac.compare_digest(stored[7:].lower(), digest)
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))


def _principal(name: str) -> str:
    return name if ":" in name else f"User:{name}"


@dataclass(slots=True)
class StaticAuth:
    """Users, tokens and subject ACLs from a file (``--auth-config``); deny unless a rule allows."""

    users: dict[str, str] = field(default_factory=dict)  # user -> password (or sha256:hex)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    super_users: frozenset[str] = frozenset()
    acls: tuple[SubjectAcl, ...] = ()

    def basic(self, username: str, password: str) -> str | None:
        stored = self.users.get(username)
        if stored is None or not _check_password(stored, password):
            return None
        return _principal(username)

    def bearer(self, token: str) -> str | None:
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode("utf-8"), token.encode("utf-8")):
                return _principal(user)
        return None

    def authorize(self, principal: str, operation: str, subject: str | None, host: str) -> bool:
        if principal in self.super_users:
            return True
        matching = [a for a in self.acls if a.matches(principal, operation, subject)]
        if any(not a.allow for a in matching):
            return False
        return any(a.allow for a in matching)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "<auth config>") -> StaticAuth:
        def fail(message: str) -> InputError:
            return InputError(
                message, location=Location(origin), help="see docs/registry.md, 'Authentication'"
            )

        if not isinstance(data, Mapping):
            raise fail("the registry auth config must be a mapping")
        users = data.get("users") or {}
        tokens = data.get("tokens") or {}
        if not isinstance(users, Mapping) or not all(isinstance(v, str) for v in users.values()):
            raise fail("'users' must map user names to passwords")
        if not isinstance(tokens, Mapping) or not all(isinstance(v, str) for v in tokens.values()):
            raise fail("'tokens' must map tokens to user names")
        supers = data.get("super_users") or []
        if not isinstance(supers, list):
            raise fail("'super_users' must be a list of user names")
        acls: list[SubjectAcl] = []
        for i, raw in enumerate(data.get("acls") or []):
            if not isinstance(raw, Mapping) or "principal" not in raw:
                raise fail(f"acls[{i}] needs a principal")
            ops = raw.get("operations", ["all"])
            if isinstance(ops, str):
                ops = [ops]
            ops_set = frozenset(str(o).lower() for o in ops)
            if not ops_set <= {*OPERATIONS, "all"}:
                raise fail(f"acls[{i}]: operations must be among read, write, delete, all")
            subject, prefix = raw.get("subject"), raw.get("subject_prefix")
            if (subject is None) == (prefix is None):
                raise fail(f"acls[{i}] needs exactly one of 'subject' and 'subject_prefix'")
            permission = str(raw.get("permission", "allow")).lower()
            if permission not in ("allow", "deny"):
                raise fail(f"acls[{i}]: permission must be allow or deny")
            acls.append(
                SubjectAcl(
                    principal=_principal(str(raw["principal"])),
                    operations=ops_set,
                    subject=None if subject is None else str(subject),
                    prefix=None if prefix is None else str(prefix),
                    allow=permission == "allow",
                )
            )
        return cls(
            users={str(k): str(v) for k, v in users.items()},
            tokens={str(k): str(v) for k, v in tokens.items()},
            super_users=frozenset(_principal(str(s)) for s in supers),
            acls=tuple(acls),
        )

    @classmethod
    def from_file(cls, path: Path) -> StaticAuth:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot read registry auth config: {exc.strerror}", location=Location(str(path))
            ) from None
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text)
            else:
                data = json.loads(text)
        except (ValueError, Exception) as exc:  # yaml.YAMLError is not a ValueError
            raise InputError(
                f"registry auth config does not parse: {exc}", location=Location(str(path))
            ) from None
        return cls.from_mapping(data, str(path))

    def as_registry_auth(self) -> RegistryAuth:
        return RegistryAuth(self, self)


# Registry operation -> the Kafka ACL operation checked on the subject's topic (or the cluster).
_TOPIC_OPERATION = {"read": "READ", "write": "WRITE", "delete": "DELETE"}
_CLUSTER_OPERATION = {"read": "DESCRIBE_CONFIGS", "write": "ALTER_CONFIGS", "delete": "ALTER_CONFIGS"}


def subject_topic(subject: str) -> str:
    """The topic a subject belongs to under TopicNameStrategy; other subjects stand for themselves."""
    for suffix in ("-key", "-value"):
        if subject.endswith(suffix) and len(subject) > len(suffix):
            return subject[: -len(suffix)]
    return subject


class BrokerAuth:
    """Principals and ACLs of the hosting broker.

    Passwords are checked with the broker's SCRAM credential store (``broker.credentials`` with
    ``check_password(user, password)``); decisions go through ``broker.authorizer`` (the same
    plug-in that guards Kafka requests) as TOPIC operations on the subject's topic, and as
    CLUSTER ``DESCRIBE_CONFIGS``/``ALTER_CONFIGS`` for the global config and mode.
    """

    def __init__(self, broker: Any, *, tokens: Mapping[str, str] | None = None) -> None:
        self.broker = broker
        self.tokens = dict(tokens or {})

    def _credentials(self) -> Any:
        store = getattr(self.broker, "credentials", None)
        if store is not None:
            return store
        # The security plug-in keeps them on broker.plugins["security"] (installed before serving).
        plugins = getattr(self.broker, "plugins", None)
        security = plugins.get("security") if isinstance(plugins, dict) else None
        if security is None:
            try:
                from evtctl.broker.auth.plugin import security_of
            except ImportError:
                return None
            security = security_of(self.broker)
        return getattr(security, "credentials", None)

    def basic(self, username: str, password: str) -> str | None:
        check = getattr(self._credentials(), "check_password", None)
        if check is None or not check(username, password):
            return None
        return _principal(username)

    def bearer(self, token: str) -> str | None:
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode("utf-8"), token.encode("utf-8")):
                return _principal(user)
        return None

    def authorize(self, principal: str, operation: str, subject: str | None, host: str) -> bool:
        from evtctl.broker.context import ConnectionState, RequestContext

        ctx = RequestContext(
            broker=self.broker,
            connection=ConnectionState(client_address=(host, 0), listener="REGISTRY", principal=principal),
            api_key=-1,
            api_version=0,
            correlation_id=0,
            client_id="schema-registry",
        )
        authorizer = self.broker.authorizer
        if subject is None:
            return bool(authorizer.authorize(ctx, _CLUSTER_OPERATION[operation], "CLUSTER", "kafka-cluster"))
        return bool(authorizer.authorize(ctx, _TOPIC_OPERATION[operation], "TOPIC", subject_topic(subject)))


def load_tokens(path: Path) -> dict[str, str]:
    """Bearer tokens for broker mode: ``{"<token>": "<user>"}`` in ``<data-dir>/_schemas/tokens.json``."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read registry tokens: {exc}", location=Location(str(path))) from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InputError("registry tokens must map token strings to user names", location=Location(str(path)))
    return dict(data)


def broker_requires_auth(broker: Any) -> bool:
    """The registry turns authentication on when the broker has a SASL listener."""
    cfg = getattr(broker, "cfg", None)
    for listener in getattr(cfg, "extra_listeners", None) or []:
        if str(getattr(listener, "security_protocol", "")).startswith("SASL"):
            return True
    return False
