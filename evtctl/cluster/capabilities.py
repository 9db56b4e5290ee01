"""Which admin APIs a cluster advertises (one ApiVersions v0 round trip on a raw socket).

librdkafka negotiates ApiVersions internally but does not expose the result, so we ask once
ourselves. ApiVersions is answered before SASL authentication, so the probe works on every
listener type; TLS listeners are wrapped with the context's CA and client certificate.
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from evtctl.cluster.connection import ClusterConfig
from evtctl.errors import BackendError, Location

API_NAMES: Mapping[int, str] = {
    3: "Metadata",
    9: "OffsetFetch",
    16: "ListGroups",
    19: "CreateTopics",
    20: "DeleteTopics",
    29: "DescribeAcls",
    30: "CreateAcls",
    31: "DeleteAcls",
    32: "DescribeConfigs",
    33: "AlterConfigs",
    37: "CreatePartitions",
    42: "DeleteGroups",
    44: "IncrementalAlterConfigs",
    48: "DescribeClientQuotas",
    49: "AlterClientQuotas",
    50: "DescribeUserScramCredentials",
    51: "AlterUserScramCredentials",
}
_KEY = {name: key for key, name in API_NAMES.items()}

# What each resource kind needs to be read and managed. Optional operations (CreatePartitions)
# are reported per change by the diff instead of disabling the whole kind.
KIND_APIS: Mapping[str, tuple[str, ...]] = {
    "topic": ("Metadata", "DescribeConfigs", "CreateTopics", "DeleteTopics"),
    "acl": ("DescribeAcls", "CreateAcls", "DeleteAcls"),
    "quota": ("DescribeClientQuotas", "AlterClientQuotas"),
    "user": ("DescribeUserScramCredentials", "AlterUserScramCredentials"),
    "consumer-group": ("ListGroups", "OffsetFetch", "DeleteGroups"),
}
OPTIONAL_APIS = ("CreatePartitions",)


@dataclass(frozen=True, slots=True)
class Capabilities:
    versions: Mapping[int, tuple[int, int]]  # api key -> (min, max)

    def supports(self, api: str) -> bool:
        return _KEY[api] in self.versions

    def missing_for(self, kind: str) -> tuple[str, ...]:
        needed = KIND_APIS.get(kind, ())
        missing = tuple(a for a in needed if not self.supports(a))
        if kind == "topic" and not (
            self.supports("IncrementalAlterConfigs") or self.supports("AlterConfigs")
        ):
            missing += ("IncrementalAlterConfigs",)
        return missing

    def manageable_kinds(self) -> frozenset[str]:
        return frozenset(k for k in KIND_APIS if not self.missing_for(k))

    def unsupported_ops(self) -> frozenset[str]:
        return frozenset(a for a in OPTIONAL_APIS if not self.supports(a))

    def messages(self) -> list[str]:
        """One line per resource kind this cluster cannot manage, naming the missing APIs."""
        out = []
        for kind in KIND_APIS:
            missing = self.missing_for(kind)
            if missing:
                out.append(f"this cluster cannot manage {kind}s: it does not advertise {', '.join(missing)}")
        for op in sorted(self.unsupported_ops()):
            out.append(f"this cluster does not advertise {op}: partition increases cannot be applied")
        return out

    @classmethod
    def everything(cls) -> Capabilities:
        return cls({key: (0, 99) for key in API_NAMES})


def _request(correlation_id: int) -> bytes:
    client = b"evtctl"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client)) + client
    return struct.pack(">i", len(body)) + body


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks += chunk
    return bytes(chunks)


def parse_api_versions_v0(payload: bytes, correlation_id: int) -> dict[int, tuple[int, int]]:
    corr, error_code, count = struct.unpack_from(">ihi", payload, 0)
    if corr != correlation_id:
        raise ValueError(f"correlation id {corr} does not match {correlation_id}")
    if error_code not in (0, 35) or count < 0:  # 35: UNSUPPORTED_VERSION still lists the versions
        raise ValueError(f"ApiVersions failed with error code {error_code}")
    out: dict[int, tuple[int, int]] = {}
    offset = 10
    for _ in range(count):
        key, lo, hi = struct.unpack_from(">hhh", payload, offset)
        offset += 6
        out[key] = (lo, hi)
    return out


def probe(config: ClusterConfig) -> Capabilities:
    """Ask the first reachable bootstrap broker which APIs it supports (one round trip)."""
    errors = []
    for host, port in config.bootstrap_hosts():
        try:
            raw = socket.create_connection((host, port), timeout=config.timeout)
        except OSError as err:
            errors.append(f"{host}:{port}: {err}")
            continue
        try:
            sock: socket.socket = raw
            if config.uses_tls:
                ctx = ssl.create_default_context(cafile=config.ca_file)
                if config.cert_file:
                    ctx.load_cert_chain(config.cert_file, config.key_file)
                sock = ctx.wrap_socket(raw, server_hostname=host)
            sock.sendall(_request(1))
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            caps = Capabilities(parse_api_versions_v0(_recv_exact(sock, size), 1))
            _check_credentials(sock, config, caps)
            return caps
        except (OSError, ValueError, struct.error) as err:
            errors.append(f"{host}:{port}: {err}")
        finally:
            raw.close()
    raise BackendError(
        f"could not read the API versions of the cluster at {config.bootstrap}: {'; '.join(errors)}",
        location=Location(context="ApiVersions v0"),
        help="check the context's bootstrap servers and security settings, and that the broker is running",
    )


def _check_credentials(sock: socket.socket, config: ClusterConfig, caps: Capabilities) -> None:
    """On a SASL listener evtctl's raw socket can authenticate on, log in once on the probe's own
    connection: a rejected username or password is then reported here, naming the broker and the
    variables to check, instead of as librdkafka's transport failures and timeouts later. Anything
    else that goes wrong is left to the usual paths (they fall back to librdkafka)."""
    from evtctl.cluster import sasl, wire

    if not sasl.supports(config.sasl_mechanism) or wire.sasl_authenticate_version(caps.versions) is None:
        return
    try:
        wire.authenticate(sock, config, caps.versions)
    except sasl.CredentialsRejected as err:
        raise BackendError(
            f"SASL {config.sasl_mechanism} authentication with {config.bootstrap} failed: {err}",
            location=Location(context="SaslAuthenticate"),
            help="check the username and password the context reads from its environment variables "
            "(usernameEnv, passwordEnv) and the mechanism",
        ) from None
    except (sasl.SaslError, sasl.ServerProofError, OSError, ValueError, struct.error):
        pass
