"""`evtctl broker start | up | down | status | logs`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evtctl.errors import Location, UsageError

broker_app = typer.Typer(
    name="broker",
    help="Run the bundled Kafka-compatible reference broker (with the schema registry).",
    no_args_is_help=True,
)


def parse_hostport(value: str, flag: str, default_port: int) -> tuple[str, int]:
    from evtctl.broker.launch import parse_hostport as parse

    return parse(value, flag, default_port)


@broker_app.command("start")
def start(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Where logs and metadata live (default: <workspace>/.evtctl/broker-data)."
        ),
    ] = None,
    listen: str = typer.Option(
        "127.0.0.1:9092", "--listen", help="Kafka listener HOST:PORT (port 0: any free)."
    ),
    registry_listen: str = typer.Option(
        "127.0.0.1:8081", "--registry-listen", help="Schema registry HOST:PORT, or 'off'."
    ),
    advertised_host: str | None = typer.Option(None, "--advertised-host", help="Host name given to clients."),
    auto_create_topics: bool = typer.Option(
        False,
        "--auto-create-topics/--no-auto-create-topics",
        help="Create unknown topics on first use (off: governed topology).",
    ),
    num_partitions: int = typer.Option(
        1, "--num-partitions", min=1, help="Partitions of auto-created topics."
    ),
    flush_policy: str = typer.Option(
        "fsync",
        "--flush-policy",
        help="fsync: acks=all answered after fsync (group commit); "
        "page-cache: answered after the write, like Kafka's defaults.",
    ),
    socket_request_max_bytes: int = typer.Option(104_857_600, "--socket-request-max-bytes", min=64),
    retention_check_interval_ms: int = typer.Option(30_000, "--retention-check-interval-ms", min=10),
    cleaner_backoff_ms: int = typer.Option(15_000, "--cleaner-backoff-ms", min=10),
    broker_config: Annotated[
        list[str] | None,
        typer.Option(
            "--config", "-c", help="Broker-level default, NAME=VALUE (e.g. log.retention.ms=3600000)."
        ),
    ] = None,
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning or error."),
    # Security & groups (docs/broker-security.md).
    sasl_listen: str | None = typer.Option(None, "--sasl-listen", help="SASL_PLAINTEXT listener HOST:PORT."),
    ssl_listen: str | None = typer.Option(None, "--ssl-listen", help="SSL (TLS) listener HOST:PORT."),
    sasl_ssl_listen: str | None = typer.Option(None, "--sasl-ssl-listen", help="SASL_SSL listener."),
    sasl_mechanisms: str = typer.Option(
        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", "--sasl-mechanisms", help="Enabled SASL mechanisms."
    ),
    sasl_user: Annotated[
        list[str] | None,
        typer.Option("--sasl-user", help="NAME=PASSWORD: create this SCRAM user at start if absent."),
    ] = None,
    super_users: Annotated[
        list[str] | None,
        typer.Option("--super-users", help="Principals allowed everything, e.g. User:admin."),
    ] = None,
    allow_everyone_if_no_acl_found: bool | None = typer.Option(
        None,
        "--allow-everyone-if-no-acl-found/--no-allow-everyone-if-no-acl-found",
        help="Default: allowed unless a SASL or SSL listener is configured.",
    ),
    audit_log: Annotated[
        Path | None, typer.Option("--audit-log", help="JSON-lines audit log (default in the data dir).")
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate for TLS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key for --tls-cert.")] = None,
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", help="CA to verify client certificates.")] = None,
    tls_client_auth: str = typer.Option("none", "--tls-client-auth", help="none, requested or required."),
    group_initial_rebalance_delay_ms: int = typer.Option(
        3000,
        "--group-initial-rebalance-delay-ms",
        min=0,
        help="How long a new group waits for more members before its first rebalance (Kafka: 3000).",
    ),
) -> None:
    """Run the broker in the foreground; prints one line when ready."""
    from evtctl.broker.launch import build_config, run

    cfg = build_config(
        data_dir=data_dir,
        listen=listen,
        registry_listen=registry_listen,
        advertised_host=advertised_host,
        auto_create_topics=auto_create_topics,
        num_partitions=num_partitions,
        flush_policy=flush_policy,
        socket_request_max_bytes=socket_request_max_bytes,
        retention_check_interval_ms=retention_check_interval_ms,
        cleaner_backoff_ms=cleaner_backoff_ms,
        broker_config=broker_config,
    )
    cfg.group_initial_rebalance_delay_ms = group_initial_rebalance_delay_ms
    from evtctl.broker.auth.config import apply_security_flags

    apply_security_flags(
        cfg,
        sasl_listen=sasl_listen,
        ssl_listen=ssl_listen,
        sasl_ssl_listen=sasl_ssl_listen,
        sasl_mechanisms=sasl_mechanisms,
        sasl_user=sasl_user or [],
        super_users=super_users or [],
        allow_everyone=allow_everyone_if_no_acl_found,
        audit_log=audit_log,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_ca=tls_ca,
        tls_client_auth=tls_client_auth,
    )
    run(cfg, log_level)


@broker_app.command("up")
def up(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Default: <workspace>/.evtctl/broker-data.")
    ] = None,
    listen: Annotated[
        str | None, typer.Option("--listen", help="Default 127.0.0.1:9092, or a free port if taken.")
    ] = None,
    registry_listen: Annotated[
        str | None, typer.Option("--registry-listen", help="HOST:PORT or off.")
    ] = None,
    auto_create_topics: bool = typer.Option(False, "--auto-create-topics/--no-auto-create-topics"),
) -> None:
    """Start the broker in the background (no-op if it is already running)."""
    from evtctl.broker.daemon import LOCAL_BROKER_ARGS, start_daemon, state_dir

    # The same development broker the `local` context starts on demand.
    extra = [*LOCAL_BROKER_ARGS, *(["--auto-create-topics"] if auto_create_topics else [])]
    state = start_daemon(
        state_dir(), data_dir=data_dir, listen=listen, registry_listen=registry_listen, extra_args=extra
    )
    typer.echo(
        f"broker running: pid={state.pid} kafka={state.bootstrap} registry={state.registry_url or 'off'}"
    )


@broker_app.command("down")
def down() -> None:
    """Stop the background broker (clean shutdown)."""
    from evtctl.broker.daemon import state_dir, stop_daemon

    state = stop_daemon(state_dir())
    typer.echo("broker stopped" if state else "broker was not running")


@broker_app.command("status")
def status() -> None:
    """Show whether the background broker runs; exit code 1 if it does not."""
    from evtctl.broker.daemon import read_state, state_dir

    state = read_state(state_dir())
    if state is None:
        typer.echo("broker not running")
        raise typer.Exit(1)
    typer.echo(
        f"broker running: pid={state.pid} kafka={state.bootstrap} registry={state.registry_url or 'off'} "
        f"data_dir={state.data_dir} log={state.log}"
    )


@broker_app.command("logs")
def logs(
    lines: int = typer.Option(50, "--lines", "-n", min=0, help="How many trailing lines to show."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines (Ctrl-C stops)."),
) -> None:
    """Print the background broker's log."""
    import time

    from evtctl.broker.daemon import LOG_FILE, state_dir

    path = state_dir() / LOG_FILE
    if not path.exists():
        raise UsageError(
            f"no broker log at {path}",
            location=Location(context="broker logs"),
            help="start the broker with `evtctl broker up`",
        )
    with open(path, "rb") as fh:
        tail = fh.read().decode(errors="replace").splitlines()[-lines:] if lines else []
        for line in tail:
            typer.echo(line)
        while follow:
            chunk = fh.read()
            if chunk:
                typer.echo(chunk.decode(errors="replace"), nl=False)
            else:
                time.sleep(0.2)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the root app."""
    app.add_typer(broker_app, name="broker")
