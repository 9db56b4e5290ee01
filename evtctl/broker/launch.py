"""Building the broker configuration from flags, and a lean launcher without the full CLI.

``evtctl broker start`` (typer) and ``python -m evtctl.broker start`` share :func:`build_config` and
:func:`run`. The lean launcher skips importing the CLI framework (typer imports pydantic for every
command, about half a second), so ``broker up``, ``ensure_local_broker`` and tests start the broker
faster. It understands the core flags; with any other flag (security, groups) it hands the whole
command line to the full CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from evtctl.broker.config import DEFAULT_PORT, DEFAULT_REGISTRY_PORT, BrokerConfig
from evtctl.errors import EvtctlError, Location, UsageError


def parse_hostport(value: str, flag: str, default_port: int) -> tuple[str, int]:
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, str(default_port)
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UsageError(
            f"{flag}: {value!r} is not HOST:PORT",
            location=Location(context=flag),
            help="for example 127.0.0.1:9092 (port 0 picks a free port)",
        )
    return host, port


def parse_broker_configs(items: list[str]) -> dict[str, str]:
    from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigValueError

    synonyms = {d.broker_synonym: d for d in TOPIC_CONFIGS.values() if d.broker_synonym}
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or name not in synonyms:
            raise UsageError(
                f"--config: {item!r} is not NAME=VALUE with a known broker config name",
                location=Location(context="--config"),
                help="names are the broker synonyms of topic configs, e.g. log.retention.ms",
            )
        try:
            out[name] = synonyms[name].normalize(value)
        except ConfigValueError as err:
            raise UsageError(f"--config: {err}", location=Location(context="--config")) from None
    return out


def default_data_dir() -> Path:
    from evtctl.broker.daemon import state_dir

    return state_dir() / "broker-data"


def build_config(
    *,
    data_dir: Path | None = None,
    listen: str = "127.0.0.1:9092",
    registry_listen: str = "127.0.0.1:8081",
    advertised_host: str | None = None,
    auto_create_topics: bool = False,
    num_partitions: int = 1,
    flush_policy: str = "fsync",
    socket_request_max_bytes: int = 104_857_600,
    retention_check_interval_ms: int = 30_000,
    cleaner_backoff_ms: int = 15_000,
    broker_config: list[str] | None = None,
) -> BrokerConfig:
    if flush_policy not in ("fsync", "page-cache"):
        raise UsageError(
            f"--flush-policy: {flush_policy!r} is not fsync or page-cache",
            location=Location(context="--flush-policy"),
        )
    for flag, value, low in (
        ("--num-partitions", num_partitions, 1),
        ("--socket-request-max-bytes", socket_request_max_bytes, 64),
        ("--retention-check-interval-ms", retention_check_interval_ms, 10),
        ("--cleaner-backoff-ms", cleaner_backoff_ms, 10),
    ):
        if value < low:
            raise UsageError(f"{flag}: must be at least {low}, got {value}", location=Location(context=flag))
    host, port = parse_hostport(listen, "--listen", DEFAULT_PORT)
    reg_host: str | None
    if registry_listen.strip().lower() == "off":
        reg_host, reg_port = None, 0
    else:
        reg_host, reg_port = parse_hostport(registry_listen, "--registry-listen", DEFAULT_REGISTRY_PORT)
    return BrokerConfig(
        data_dir=(data_dir or default_data_dir()).resolve(),
        host=host,
        port=port,
        advertised_host=advertised_host,
        registry_host=reg_host,
        registry_port=reg_port,
        auto_create_topics=auto_create_topics,
        num_partitions=num_partitions,
        flush_policy=flush_policy,
        socket_request_max_bytes=socket_request_max_bytes,
        retention_check_interval_ms=retention_check_interval_ms,
        cleaner_backoff_ms=cleaner_backoff_ms,
        broker_overrides=parse_broker_configs(broker_config or []),
    )


def run(cfg: BrokerConfig, log_level: str = "warning") -> None:
    """Serve until SIGTERM/SIGINT; start-up problems become UsageError (exit 2)."""
    import asyncio
    import gc
    import logging

    gc.enable()  # a server runs for days: it collects, whatever the CLI does for its short runs

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from evtctl.broker.app import serve
    from evtctl.broker.server import BrokerError

    try:
        asyncio.run(serve(cfg))
    except BrokerError as err:
        raise UsageError(str(err), location=Location(context="broker start")) from None
    except KeyboardInterrupt:
        pass


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m evtctl.broker start",
        add_help=False,
        description="Lean launcher; see `evtctl broker start --help` for all flags.",
    )
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--listen", default="127.0.0.1:9092")
    ap.add_argument("--registry-listen", default="127.0.0.1:8081")
    ap.add_argument("--advertised-host")
    ap.add_argument("--auto-create-topics", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--num-partitions", type=int, default=1)
    ap.add_argument("--flush-policy", default="fsync")
    ap.add_argument("--socket-request-max-bytes", type=int, default=104_857_600)
    ap.add_argument("--retention-check-interval-ms", type=int, default=30_000)
    ap.add_argument("--cleaner-backoff-ms", type=int, default=15_000)
    ap.add_argument("--config", "-c", action="append", default=[])
    ap.add_argument("--log-level", default="warning")
    return ap


def main(argv: list[str]) -> int:
    args = argv[1:] if argv[:1] == ["start"] else argv
    ns, unknown = _parser().parse_known_args(args)
    if unknown:  # security/group flags or --help: the full CLI owns them
        cmd = [sys.executable, "-m", "evtctl", "broker", "start", *args]
        os.execv(sys.executable, cmd)
    try:
        cfg = build_config(
            data_dir=ns.data_dir,
            listen=ns.listen,
            registry_listen=ns.registry_listen,
            advertised_host=ns.advertised_host,
            auto_create_topics=ns.auto_create_topics,
            num_partitions=ns.num_partitions,
            flush_policy=ns.flush_policy,
            socket_request_max_bytes=ns.socket_request_max_bytes,
            retention_check_interval_ms=ns.retention_check_interval_ms,
            cleaner_backoff_ms=ns.cleaner_backoff_ms,
            broker_config=ns.config,
        )
        run(cfg, ns.log_level)
    except EvtctlError as err:
        sys.stderr.write(err.render() + "\n")
        return err.exit_code
    return 0
