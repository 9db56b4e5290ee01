"""Broker settings (command-line flags) and the broker-level configs DescribeConfigs reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evtctl.broker.auth.config import SecurityConfig
from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigType

DEFAULT_PORT = 9092
DEFAULT_REGISTRY_PORT = 8081


@dataclass(slots=True)
class ListenerConfig:
    """One Kafka listener. The security area adds SASL/TLS listeners by appending to ``extra_listeners``."""

    name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    ssl_context: object | None = None  # an ssl.SSLContext for SSL listeners
    advertised_host: str | None = None


@dataclass(slots=True)
class BrokerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    advertised_host: str | None = None  # defaults to ``host``
    registry_host: str | None = "127.0.0.1"  # None: no registry
    registry_port: int = DEFAULT_REGISTRY_PORT
    auto_create_topics: bool = False
    num_partitions: int = 1
    # "fsync": acks=all answered after fsync (group commit); "page-cache": after write(), like Kafka.
    flush_policy: str = "fsync"
    socket_request_max_bytes: int = 104_857_600
    retention_check_interval_ms: int = 30_000
    cleaner_backoff_ms: int = 15_000
    # Overrides for topic-config defaults at broker level (the broker synonyms, e.g. log.retention.ms).
    broker_overrides: dict[str, str] = field(default_factory=dict)
    extra_listeners: list[ListenerConfig] = field(default_factory=list)
    # Security & groups area (E), see docs/broker-security.md.
    group_initial_rebalance_delay_ms: int = 3000
    security: SecurityConfig = field(default_factory=SecurityConfig)

    @property
    def advertised(self) -> str:
        return self.advertised_host or self.host


@dataclass(frozen=True, slots=True)
class BrokerConfigEntry:
    name: str
    value: str
    type: ConfigType
    doc: str
    read_only: bool = True
    sensitive: bool = False


def broker_config_entries(cfg: BrokerConfig, node_id: int) -> list[BrokerConfigEntry]:
    """Broker configs as Kafka names them: the topic-config synonyms plus the settings we honour."""
    entries: dict[str, BrokerConfigEntry] = {}
    for defn in TOPIC_CONFIGS.values():
        if defn.broker_synonym and defn.broker_synonym not in entries:
            value = cfg.broker_overrides.get(defn.broker_synonym, defn.default)
            entries[defn.broker_synonym] = BrokerConfigEntry(defn.broker_synonym, value, defn.type, defn.doc)
    own = [
        ("broker.id", str(node_id), ConfigType.INT, "The broker id (stable across restarts)."),
        ("node.id", str(node_id), ConfigType.INT, "The node id (stable across restarts)."),
        (
            "num.partitions",
            str(cfg.num_partitions),
            ConfigType.INT,
            "Default partitions for auto-created topics.",
        ),
        (
            "auto.create.topics.enable",
            str(cfg.auto_create_topics).lower(),
            ConfigType.BOOLEAN,
            "Create a topic on first Metadata/Produce request for it.",
        ),
        ("default.replication.factor", "1", ConfigType.INT, "Replication factor (single node: always 1)."),
        (
            "offsets.topic.replication.factor",
            "1",
            ConfigType.SHORT,
            "Replication factor of the offsets topic.",
        ),
        (
            "socket.request.max.bytes",
            str(cfg.socket_request_max_bytes),
            ConfigType.INT,
            "The maximum number of bytes in a socket request.",
        ),
        ("log.dirs", str(cfg.data_dir / "logs"), ConfigType.STRING, "The directory holding partition logs."),
        ("listeners", f"PLAINTEXT://{cfg.host}:{cfg.port}", ConfigType.STRING, "Listener URIs."),
        (
            "advertised.listeners",
            f"PLAINTEXT://{cfg.advertised}:{cfg.port}",
            ConfigType.STRING,
            "Listeners published to clients.",
        ),
        (
            "log.flush.policy",
            cfg.flush_policy,
            ConfigType.STRING,
            "fsync: acks=all is answered after fsync; page-cache: after the write (evtctl-specific).",
        ),
        (
            "log.retention.check.interval.ms",
            str(cfg.retention_check_interval_ms),
            ConfigType.LONG,
            "How often retention is enforced.",
        ),
    ]
    for name, value, typ, doc in own:
        entries[name] = BrokerConfigEntry(name, value, typ, doc)
    return [entries[k] for k in sorted(entries)]
