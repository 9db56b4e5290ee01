"""Run the broker (and the hosted schema registry) in one asyncio loop until a signal arrives."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
from typing import Any

from evtctl.broker.config import BrokerConfig
from evtctl.broker.server import Broker, BrokerError, print_ready

log = logging.getLogger("evtctl.broker")


async def start_hosted_registry(broker: Broker) -> tuple[Any, str | None]:
    """Start ``evtctl.broker.registry`` (if that module exists) in this loop; returns (handle, url)."""
    cfg = broker.cfg
    if cfg.registry_host is None or importlib.util.find_spec("evtctl.broker.registry") is None:
        return None, None
    registry: Any = importlib.import_module("evtctl.broker.registry")
    handle = await registry.start_registry(cfg.registry_host, cfg.registry_port, cfg.data_dir, broker=broker)
    port = cfg.registry_port
    for attr in ("port", "bound_port"):
        value = getattr(handle, attr, None)
        if isinstance(value, int) and value > 0:
            port = value
            break
    url = getattr(handle, "url", None)
    return handle, url if isinstance(url, str) else f"http://{cfg.registry_host}:{port}"


async def serve(cfg: BrokerConfig, *, ready: bool = True) -> None:
    # Signal handlers first: a SIGTERM right after the ready line must still shut down cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        broker = Broker(cfg)
        await broker.start()
    except OSError as err:  # unusable data directory (a file, no permission, disk full)
        raise BrokerError(f"cannot use data directory {cfg.data_dir}: {err.strerror or err}") from None
    registry_handle, registry_url = None, None
    try:
        registry_handle, registry_url = await start_hosted_registry(broker)
        if ready:
            print_ready(
                f"evtctl broker ready kafka={cfg.advertised}:{broker.port} "
                f"registry={registry_url or 'off'} data_dir={cfg.data_dir} node_id={broker.node_id} "
                f"cluster_id={broker.cluster_id}"
            )
        await stop.wait()
    finally:
        if registry_handle is not None:
            with contextlib.suppress(Exception):
                await registry_handle.close()
        await broker.close()
