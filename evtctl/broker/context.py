"""Per-request context handed to every handler, and the authorization hook the security area plugs into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from evtctl.broker.server import Broker

ANONYMOUS = "User:ANONYMOUS"


class Authorizer(Protocol):
    """Decides whether ``ctx.principal`` may perform ``operation`` on a resource.

    ``operation``: Kafka ACL operation name (``"READ"``, ``"WRITE"``, ``"CREATE"``, ``"DELETE"``,
    ``"ALTER"``, ``"DESCRIBE"``, ``"ALTER_CONFIGS"``, ``"DESCRIBE_CONFIGS"``, ``"CLUSTER_ACTION"``,
    ``"IDEMPOTENT_WRITE"``); ``resource_type``: ``"TOPIC"``, ``"GROUP"``, ``"CLUSTER"``,
    ``"TRANSACTIONAL_ID"``; ``pattern``: ``"LITERAL"`` or ``"PREFIXED"``.
    """

    def authorize(
        self, ctx: RequestContext, operation: str, resource_type: str, name: str, pattern: str = "LITERAL"
    ) -> bool: ...


class AllowAll:
    def authorize(
        self, ctx: RequestContext, operation: str, resource_type: str, name: str, pattern: str = "LITERAL"
    ) -> bool:
        return True


@dataclass(slots=True)
class ConnectionState:
    """State that lives as long as one client connection (SASL progress, principal, listener)."""

    client_address: tuple[str, int]
    listener: str = "PLAINTEXT"
    principal: str = ANONYMOUS
    # The security area sets this False on SASL listeners until authentication succeeds; the server then
    # only dispatches the API keys in ``pre_auth_api_keys`` and closes the connection on anything else.
    authenticated: bool = True
    pre_auth_api_keys: frozenset[int] = frozenset(
        {18, 17, 36}
    )  # ApiVersions, SaslHandshake, SaslAuthenticate
    extra: dict[str, Any] = field(default_factory=dict)  # free slot for plug-ins (e.g. SASL exchange state)


@dataclass(slots=True)
class RequestContext:
    broker: Broker
    connection: ConnectionState
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None

    @property
    def principal(self) -> str:
        return self.connection.principal

    @property
    def client_address(self) -> tuple[str, int]:
        return self.connection.client_address

    @property
    def listener(self) -> str:
        return self.connection.listener

    def authorize(self, operation: str, resource_type: str, name: str, pattern: str = "LITERAL") -> bool:
        return self.broker.authorizer.authorize(self, operation, resource_type, name, pattern)
