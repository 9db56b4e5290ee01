"""The embedded Confluent-compatible schema registry (REST on aiohttp, durable log store).

``await start_registry(host, port, data_dir, broker=..., auth=...)`` serves it in the running
asyncio loop (the broker hosts it this way); ``python -m evtctl.broker.registry`` runs it alone.
See docs/registry.md.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evtctl.broker.registry.auth import (
    BrokerAuth,
    RegistryAuth,
    StaticAuth,
    SubjectAuthorizer,
    broker_requires_auth,
    load_tokens,
)
from evtctl.errors import Location, UsageError

if TYPE_CHECKING:  # aiohttp and the compat engine load only when a registry starts
    from aiohttp import web

    from evtctl.broker.registry.service import Registry

__all__ = [
    "BrokerAuth",
    "RegistryAuth",
    "RegistryHandle",
    "StaticAuth",
    "SubjectAuthorizer",
    "start_registry",
]

REGISTRY_SUBDIR = "_schemas"


@dataclass(slots=True)
class RegistryHandle:
    host: str
    port: int
    registry: Registry
    runner: web.AppRunner
    scheme: str = "http"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()
        await self.registry.close()


async def start_registry(
    host: str,
    port: int,
    data_dir: Path,
    *,
    broker: Any | None = None,
    auth: RegistryAuth | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> RegistryHandle:
    """Open the store under ``data_dir/_schemas`` and serve the REST API on ``host:port`` (0 = any
    free port; the bound one is ``handle.port``).

    Authentication is off unless ``auth`` is given, or the hosting ``broker`` has a SASL listener
    (then the broker's credentials and ACLs apply, see :class:`BrokerAuth`).
    """
    from aiohttp import web

    from evtctl.broker.registry.app import build_app
    from evtctl.broker.registry.service import Registry

    store_dir = Path(data_dir) / REGISTRY_SUBDIR
    if auth is None and broker is not None and broker_requires_auth(broker):
        broker_auth = BrokerAuth(broker, tokens=load_tokens(store_dir / "tokens.json"))
        auth = RegistryAuth(broker_auth, broker_auth)
    registry = Registry(store_dir)
    await registry.open()
    runner = web.AppRunner(build_app(registry, auth), access_log=None, handle_signals=False)
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl_context)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        await registry.close()
        raise UsageError(
            f"the schema registry cannot listen on {host}:{port}: {exc.strerror or exc}",
            location=Location(context="registry listener"),
            help="pick a free port (0 = any free port), or 'off' to run without the registry",
        ) from None
    except BaseException:
        await runner.cleanup()
        await registry.close()
        raise
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            bound = int(address[1])
            break
    return RegistryHandle(host, bound, registry, runner, "https" if ssl_context is not None else "http")
