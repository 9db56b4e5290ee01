"""The explicit handler registry: one handler per API key, with the version range it implements.

ApiVersions advertises exactly what is registered here, so a handler never claims a version it cannot
serve. To add an API, write a module with ``register(registry)`` and list it in :data:`HANDLER_MODULES`
(see docs/broker.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from evtctl.broker.context import RequestContext
from evtctl.broker.protocol.codec import Message

# A handler returns the response body as a dict (missing keys take their spec defaults), or None when the
# request gets no response (Produce with acks=0).
HandlerFn = Callable[[RequestContext, Message], Awaitable[Message | None]]

# Modules whose ``register(registry)`` adds handlers; order does not matter. Other areas append theirs.
HANDLER_MODULES: list[str] = [
    "evtctl.broker.handlers.api_versions",
    "evtctl.broker.handlers.metadata",
    "evtctl.broker.handlers.produce",
    "evtctl.broker.handlers.fetch",
    "evtctl.broker.handlers.list_offsets",
    "evtctl.broker.handlers.topics",
    "evtctl.broker.handlers.configs",
    "evtctl.broker.handlers.records_admin",
    "evtctl.broker.handlers.cluster",
    "evtctl.broker.handlers.producer_id",
    # security & groups area (E)
    "evtctl.broker.groups.handlers",
    "evtctl.broker.auth.handlers",
    "evtctl.broker.txn.handlers",
]


@dataclass(frozen=True, slots=True)
class ApiHandler:
    api_key: int
    name: str  # spec name without Request/Response, e.g. "Metadata"
    min_version: int
    max_version: int
    handle: HandlerFn


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[int, ApiHandler] = {}
        self._start_hooks: list[Callable[[Any], object]] = []

    def on_start(self, hook: Callable[[Any], object]) -> None:
        """Run ``hook(broker)`` once the broker's logs are open, before it accepts connections."""
        self._start_hooks.append(hook)

    def run_start_hooks(self, broker: Any) -> None:
        for hook in self._start_hooks:
            hook(broker)

    def register(self, api_key: int, name: str, versions: tuple[int, int], handle: HandlerFn) -> None:
        if api_key in self._handlers:
            raise ValueError(f"API key {api_key} ({name}) registered twice")
        self._handlers[api_key] = ApiHandler(api_key, name, versions[0], versions[1], handle)

    def replace(self, api_key: int, handle: HandlerFn) -> None:
        """Swap the handler for an API key, keeping its versions (for wrapping, e.g. by quotas)."""
        old = self._handlers[api_key]
        self._handlers[api_key] = ApiHandler(old.api_key, old.name, old.min_version, old.max_version, handle)

    def get(self, api_key: int) -> ApiHandler | None:
        return self._handlers.get(api_key)

    def all(self) -> list[ApiHandler]:
        return [self._handlers[k] for k in sorted(self._handlers)]


def default_registry(modules: list[str] | None = None) -> HandlerRegistry:
    registry = HandlerRegistry()
    for name in modules if modules is not None else HANDLER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # a listed module not written yet: skip it, advertise nothing for it
                continue
            raise
        module.register(registry)
    return registry
