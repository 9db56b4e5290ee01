"""The raw socket authenticates on SASL listeners (PLAIN, SCRAM-SHA-256/512, over plaintext and TLS)
and its reads give exactly what the librdkafka / kafka-python path gives; the SCRAM client against
RFC 7677's test vector; a broker that cannot prove the credential is an authentication error; a wrong
password fails the read as it does without the raw path."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from evtctl.broker.auth.scram import CredentialStore, ScramCredential, new_credential
from evtctl.broker.protocol.codec import codec
from evtctl.cluster import sasl, wire
from evtctl.cluster.capabilities import Capabilities, probe
from evtctl.cluster.connection import ClusterConfig
from evtctl.cluster.kafka import KafkaBackend
from evtctl.errors import BackendError
from tests.broker_security.certs import make_pki
from tests.support.broker import BrokerProcess, start_broker
from tests.support.tansu import free_port

WAIT = 30
ADMIN, ADMIN_PASSWORD = "admin", "admin-secret"
IMPOSTOR = "mallory"  # the broker holds her StoredKey but a wrong ServerKey: it cannot prove itself
TOPICS = 60
RAW_READS = ["DescribeAcls", "DescribeClientQuotas", "DescribeConfigs"]

# RFC 7677, section 3
RFC_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


@dataclass
class SaslBroker:
    proc: BrokerProcess
    sasl: str  # SASL_PLAINTEXT listener
    sasl_ssl: str  # SASL_SSL listener
    ca: str
    prefix: str
    topics: dict[str, dict[str, str]]  # name -> config overrides

    def config(
        self,
        mechanism: str,
        *,
        tls: bool = False,
        user: str = ADMIN,
        password: str = ADMIN_PASSWORD,
        timeout: float = 15.0,
    ) -> ClusterConfig:
        return ClusterConfig(
            self.sasl_ssl if tls else self.sasl,
            security_protocol="SASL_SSL" if tls else "SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            username=user,
            password=password,
            ca_file=self.ca if tls else None,
            timeout=timeout,
        )


def _seed_impostor(data_dir: Path) -> None:
    """A credential whose ServerKey does not belong to its StoredKey: the broker accepts the client's
    proof but cannot sign the exchange, as one that stole only the StoredKey could not."""
    store = CredentialStore(data_dir)
    cred = new_credential("SCRAM-SHA-256", "mallory-pw")
    store.put(
        IMPOSTOR, "SCRAM-SHA-256", ScramCredential(cred.salt, cred.iterations, cred.stored_key, b"\1" * 32)
    )
    store.close()


def _populate(admin: AdminClient, prefix: str) -> dict[str, dict[str, str]]:
    overrides = [
        {},
        {"retention.ms": "3600000"},
        {"cleanup.policy": "compact", "segment.bytes": "1048576"},
        {},
        {"retention.ms": "86400000", "max.message.bytes": "2097152"},
    ]
    topics = {f"{prefix}t{i:03d}": overrides[i % len(overrides)] for i in range(TOPICS)}
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=1 + i % 3, replication_factor=1, config=c) for i, (n, c) in
         enumerate(topics.items())]
    )  # fmt: skip
    for fut in futures.values():
        fut.result(WAIT)
    first = next(iter(topics))
    bindings = [
        AclBinding(ResourceType.TOPIC, first, ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.READ, AclPermissionType.ALLOW),
        AclBinding(ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, "User:bob", "10.0.0.1",
                   AclOperation.WRITE, AclPermissionType.DENY),
        AclBinding(ResourceType.TOPIC, prefix, ResourcePatternType.PREFIXED, "User:alice", "*",
                   AclOperation.DESCRIBE, AclPermissionType.ALLOW),
        AclBinding(ResourceType.GROUP, "g1", ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.ALL, AclPermissionType.ALLOW),
        AclBinding(ResourceType.GROUP, "team-", ResourcePatternType.PREFIXED, "User:carol", "*",
                   AclOperation.READ, AclPermissionType.ALLOW),
        AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:ops", "*",
                   AclOperation.DESCRIBE_CONFIGS, AclPermissionType.ALLOW),
        AclBinding(ResourceType.TRANSACTIONAL_ID, "tx-", ResourcePatternType.PREFIXED, "User:bob", "*",
                   AclOperation.WRITE, AclPermissionType.ALLOW),
    ]  # fmt: skip
    for fut in admin.create_acls(bindings).values():
        fut.result(WAIT)
    return topics


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    tmp = tmp_path_factory.mktemp("raw-sasl")
    pki = make_pki(tmp)
    _seed_impostor(tmp / "broker-data")
    sasl_addr, ssl_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    proc = start_broker(
        tmp,
        "--registry-listen", "off",
        "--sasl-listen", sasl_addr,
        "--sasl-ssl-listen", ssl_addr,
        "--tls-cert", str(pki.server_cert),
        "--tls-key", str(pki.server_key),
        "--tls-ca", str(pki.ca),
        "--sasl-user", f"{ADMIN}={ADMIN_PASSWORD}",
        "--super-users", f"User:{ADMIN}",
    )  # fmt: skip
    try:
        prefix = f"rs-{uuid.uuid4().hex[:6]}-"
        admin = AdminClient(
            {
                "bootstrap.servers": sasl_addr,
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.username": ADMIN,
                "sasl.password": ADMIN_PASSWORD,
            }
        )
        topics = _populate(admin, prefix)
        yield SaslBroker(proc, sasl_addr, ssl_addr, str(pki.ca), prefix, topics)
    finally:
        proc.stop()


def _without_sasl(caps: Capabilities) -> Capabilities:
    """A broker advertising no SaslHandshake v1: the raw socket cannot authenticate, every raw read
    takes the librdkafka (quotas: kafka-python) path, the path taken before the raw socket spoke SASL."""
    versions = {
        k: v for k, v in caps.versions.items() if k not in (wire.SASL_HANDSHAKE, wire.SASL_AUTHENTICATE)
    }
    return replace(caps, versions=versions)


# ---- against the reference broker -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mechanism", "tls"),
    [("PLAIN", False), ("SCRAM-SHA-256", False), ("SCRAM-SHA-512", False), ("SCRAM-SHA-512", True),
     ("PLAIN", True)],
)  # fmt: skip
def test_raw_reads_on_sasl_equal_librdkafka(broker: SaslBroker, mechanism: str, tls: bool) -> None:
    config = broker.config(mechanism, tls=tls)
    caps = probe(config)
    raw, fallback = KafkaBackend(config, caps), KafkaBackend(config, _without_sasl(caps))
    try:
        topics = raw.read_topics()
        acls = raw.read_acls()
        quotas = raw.read_quotas()
        assert sorted(raw.raw_calls) == RAW_READS  # each read went the raw way, authenticated
        assert topics == fallback.read_topics()
        assert acls == fallback.read_acls()
        assert quotas == fallback.read_quotas()
        assert fallback.raw_calls == [] and fallback._raw_sasl_failed
        assert raw.round_trips == fallback.round_trips == 4  # SASL exchanges are not admin requests
    finally:
        raw.close()
        fallback.close()
    for name, overrides in broker.topics.items():
        assert dict(topics[name].configs) == overrides, name
    assert len(acls) == 7
    assert {(a.principal, a.resource_type, a.pattern_type, a.operation, a.permission, a.host)
            for a in acls.values()} >= {
        ("User:bob", "TOPIC", "PREFIXED", "WRITE", "DENY", "10.0.0.1"),
        ("User:ops", "CLUSTER", "LITERAL", "DESCRIBE_CONFIGS", "ALLOW", "*"),
        ("User:bob", "TRANSACTIONAL_ID", "PREFIXED", "WRITE", "ALLOW", "*"),
    }  # fmt: skip


def test_raw_quota_write_and_read_on_sasl(broker: SaslBroker) -> None:
    """AlterClientQuotas and DescribeClientQuotas go the raw way on SASL too; kafka-python reads the same."""
    config = broker.config("SCRAM-SHA-256")
    caps = probe(config)
    raw, fallback = KafkaBackend(config, caps), KafkaBackend(config, _without_sasl(caps))
    user = f"{broker.prefix}quota-user"
    try:
        assert raw.alter_quotas({"q": ((("user", user),), {"consumer_byte_rate": 4096.0})}) == {"q": None}
        assert raw.raw_calls == ["AlterClientQuotas"]
        quotas = raw.read_quotas()
        assert quotas == fallback.read_quotas()
        assert {q.values for q in quotas.values() if q.entity == (("user", user),)} == {
            (("consumer_byte_rate", 4096.0),)
        }
        assert fallback.alter_quotas({"q": ((("user", user),), {"consumer_byte_rate": None})}) == {"q": None}
        assert fallback.raw_calls == []
        assert not any(q.entity == (("user", user),) for q in raw.read_quotas().values())
    finally:
        raw.close()
        fallback.close()


def test_sasl_authenticate_v0_where_v1_is_not_advertised(broker: SaslBroker) -> None:
    config = broker.config("SCRAM-SHA-256")
    caps = probe(config)
    assert wire.sasl_authenticate_version(caps.versions) == 1
    versions = {**caps.versions, wire.SASL_AUTHENTICATE: (0, 0)}
    assert wire.sasl_authenticate_version(versions) == 0
    v0 = KafkaBackend(config, replace(caps, versions=versions))
    assert v0.read_acls() == KafkaBackend(config, caps).read_acls()
    assert v0.raw_calls == ["DescribeAcls"]


def test_escaped_scram_user_name(broker: SaslBroker) -> None:
    """A user name with ``,`` and ``=`` authenticates (SCRAM escapes them as =2C and =3D)."""
    name, password = "ops,team=1", "ops-pw"
    admin = AdminClient(broker.config("SCRAM-SHA-256").librdkafka())
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096)
    upsert = UserScramCredentialUpsertion(name, info, password.encode())
    for fut in admin.alter_user_scram_credentials([upsert]).values():
        fut.result(WAIT)
    config = broker.config("SCRAM-SHA-256", user=name, password=password)
    host, port = config.bootstrap_hosts()[0]
    with wire.connect(config, host, port, probe(config).versions) as sock:  # raises unless authenticated
        assert sock.fileno() >= 0
    with pytest.raises(sasl.SaslError):
        wire.connect(replace(config, password="not-it"), host, port, probe(config).versions)


def test_wrong_password_is_reported_by_the_probe(broker: SaslBroker) -> None:
    """Rejected credentials are reported once, clearly, when evtctl first connects (the capability
    probe logs in on its own connection), naming the broker, never the password."""
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        config = broker.config(mechanism, password="wrong-password-42", timeout=2.0)
        with pytest.raises(BackendError) as err:
            probe(config)
        text = err.value.render()
        assert f"SASL {mechanism} authentication with {broker.sasl} failed" in text
        assert "usernameEnv" in text and "wrong-password-42" not in text
        assert probe(broker.config(mechanism)).versions  # the right password still gets through


def test_wrong_password_fails_the_read_as_without_the_raw_path(broker: SaslBroker) -> None:
    """The raw socket's failed authentication falls back; the read then fails with the error the
    librdkafka path gives (no traceback, no empty result), never naming the password."""
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):
        config = broker.config(mechanism, password="wrong-password-42", timeout=2.0)
        caps = probe(broker.config(mechanism))  # the probe itself would refuse the wrong password
        raw, fallback = KafkaBackend(config, caps), KafkaBackend(config, _without_sasl(caps))
        with pytest.raises(BackendError) as raw_err:
            raw.read_acls()
        with pytest.raises(BackendError) as fallback_err:
            fallback.read_acls()
        assert raw_err.value.message == fallback_err.value.message
        assert raw_err.value.message.startswith("DescribeAcls failed: ")
        assert raw._raw_sasl_failed and raw.raw_calls == []
        # later reads do not try the raw socket again (one failed login per backend)
        assert raw._raw_topic_configs(list(broker.topics)) is None and raw.raw_calls == []
        with pytest.raises(BackendError) as topics_err:
            raw.read_topics()
        assert topics_err.value.message.startswith(f"could not read topic metadata from {broker.sasl}")
        for err in (raw_err.value, topics_err.value):
            assert "wrong-password-42" not in err.render()


def test_broker_without_the_server_key_is_an_authentication_error(broker: SaslBroker) -> None:
    """The broker accepts mallory's proof but signs with a wrong ServerKey: the raw read fails as an
    authentication error instead of falling back."""
    config = broker.config("SCRAM-SHA-256", user=IMPOSTOR, password="mallory-pw")
    backend = KafkaBackend(config, probe(config))
    with pytest.raises(BackendError) as err:
        backend.read_acls()
    assert "server signature does not match" in err.value.message
    assert "mallory-pw" not in err.value.render()
    with pytest.raises(BackendError):
        backend._raw_topic_configs(list(broker.topics))
    assert backend.raw_calls == [] and not backend._raw_sasl_failed


def test_other_mechanisms_keep_the_librdkafka_path(broker: SaslBroker) -> None:
    for mechanism in ("OAUTHBEARER", "GSSAPI", "mTLS"):
        config = broker.config(mechanism)
        backend = KafkaBackend(config, probe(config))
        assert backend._raw_topic_configs(list(broker.topics)) is None and backend._raw_acls() is None
        assert backend.raw_calls == [] and not backend._raw_sasl_failed


# ---- the SCRAM client, against RFC 7677's vector ----------------------------------------------


def _rfc_client() -> sasl.ScramClient:
    return sasl.ScramClient("SCRAM-SHA-256", "user", "pencil", nonce=RFC_NONCE)


def test_scram_client_matches_rfc7677() -> None:
    client = _rfc_client()
    assert client.first_message() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert client.final_message(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    client.verify_server_final(RFC_SERVER_FINAL)


def test_scram_server_signature_mismatch_is_detected() -> None:
    good = base64.b64decode(RFC_SERVER_FINAL[2:])
    for bad in (
        b"v=" + base64.b64encode(bytes([good[0] ^ 1]) + good[1:]),  # one bit off
        b"v=" + base64.b64encode(good[:-1]),  # short
        b"v=not base64!",
        b"x=unrelated",  # no signature at all
    ):
        client = _rfc_client()
        client.final_message(RFC_SERVER_FIRST)
        with pytest.raises(sasl.ServerProofError):
            client.verify_server_final(bad)
    client = _rfc_client()
    client.final_message(RFC_SERVER_FIRST)
    with pytest.raises(sasl.SaslError):  # the server refused in-band: a fallback, not a proof failure
        client.verify_server_final(b"e=invalid-proof")


def test_scram_foreign_server_nonce_is_rejected() -> None:
    with pytest.raises(sasl.ServerProofError):
        _rfc_client().final_message(RFC_SERVER_FIRST.replace(b"r=rOpr", b"r=XOpr"))


@pytest.mark.parametrize(
    "server_first",
    [
        b"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024",  # too few iterations
        b"r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==",  # no iterations
        b"r=rOprNGfwEbeRWgbNEkqO%hv,s=!!,i=4096",  # salt not base64
        b"m=ext,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # mandatory extension
        b"\xff\xfe",
    ],
)
def test_scram_unusable_server_first_falls_back(server_first: bytes) -> None:
    with pytest.raises(sasl.SaslError):
        _rfc_client().final_message(server_first)


def test_scram_user_name_escaping() -> None:
    client = sasl.ScramClient("SCRAM-SHA-512", "a,b=c", "pw", nonce="n0nce")
    assert client.first_message() == b"n,,n=a=2Cb=3Dc,r=n0nce"


def test_plain_conversation_is_one_token() -> None:
    steps = sasl.conversation("PLAIN", "alice", "s3cret")
    assert next(steps) == b"\0alice\0s3cret"
    with pytest.raises(StopIteration):
        steps.send(b"")


# ---- the SASL requests against the spec-compiled codec ----------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_sasl_authenticate_response_parses_as_the_spec_says(version: int) -> None:
    body = {"error_code": 58, "error_message": "Authentication failed", "auth_bytes": b"v=abc"}
    if version:
        body["session_lifetime_ms"] = 3_600_000
    data = bytes(codec("SaslAuthenticateResponse", version).encode(body))
    r = wire.Reader(data)
    assert (r.int16(), r.nstr(), r.blob()) == (58, "Authentication failed", b"v=abc")
    request = codec("SaslAuthenticateRequest", version).decode(wire._bytes(b"\0u\0p"))
    assert bytes(request["auth_bytes"]) == b"\0u\0p"
    handshake = codec("SaslHandshakeRequest", 1).decode(wire._str("SCRAM-SHA-512"))
    assert handshake["mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(
    ("handshake", "authenticate", "chosen"),
    [((0, 1), (0, 2), 1), ((0, 1), (0, 0), 0), ((0, 0), (0, 2), None), (None, (0, 1), None),
     ((0, 1), None, None), ((0, 1), (2, 3), None), ((1, 1), (1, 1), 1)],
)  # fmt: skip
def test_sasl_authenticate_version_choice(
    handshake: tuple[int, int] | None, authenticate: tuple[int, int] | None, chosen: int | None
) -> None:
    versions = {k: v for k, v in ((wire.SASL_HANDSHAKE, handshake), (wire.SASL_AUTHENTICATE, authenticate))
                if v is not None}  # fmt: skip
    assert wire.sasl_authenticate_version(versions) == chosen
