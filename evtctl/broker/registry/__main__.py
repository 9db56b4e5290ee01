"""Run the registry alone: ``python -m evtctl.broker.registry --listen 127.0.0.1:8081 --data-dir D``.

Prints one ready line (``evtctl registry ready url=... data_dir=...``) and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl
import sys
from pathlib import Path

from evtctl.errors import EvtctlError, Location, UsageError


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen {value!r} is not HOST:PORT", help="e.g. --listen 127.0.0.1:8081")
    return host.strip("[]") or "127.0.0.1", int(port)


def _ssl_context(cert: Path | None, key: Path | None, ca: Path | None) -> ssl.SSLContext | None:
    if cert is None:
        if key is not None or ca is not None:
            raise UsageError("--tls-key and --tls-ca need --tls-cert", help="add --tls-cert server.pem")
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
        if ca is not None:  # clients must then present a certificate signed by this CA
            context.load_verify_locations(ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS files: {exc}", location=Location(str(cert))) from None
    return context


async def _serve(
    host: str, port: int, data_dir: Path, auth_config: Path | None, tls: ssl.SSLContext | None
) -> None:
    from evtctl.broker.registry import StaticAuth, start_registry

    auth = StaticAuth.from_file(auth_config).as_registry_auth() if auth_config else None
    handle = await start_registry(host, port, data_dir, auth=auth, ssl_context=tls)
    try:
        print(f"evtctl registry ready url={handle.url} data_dir={data_dir}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await handle.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evtctl.broker.registry")
    parser.add_argument("--listen", default="127.0.0.1:8081")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--auth-config", type=Path, default=None, help="users, tokens and subject ACLs (JSON/YAML)"
    )
    parser.add_argument("--tls-cert", type=Path, default=None, help="serve https with this PEM certificate")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key for --tls-cert")
    parser.add_argument("--tls-ca", type=Path, default=None, help="require client certificates from this CA")
    args = parser.parse_args(argv)
    try:
        host, port = _listen(args.listen)
        tls = _ssl_context(args.tls_cert, args.tls_key, args.tls_ca)
        asyncio.run(_serve(host, port, args.data_dir, args.auth_config, tls))
    except EvtctlError as err:
        print(err.render(), file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
