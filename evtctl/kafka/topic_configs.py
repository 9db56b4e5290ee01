"""The catalog of Kafka topic-level configs: one definition used everywhere.

Manifest validation (names, values, human units), the reference broker (defaults, validation,
DescribeConfigs types/docs/synonyms) and plan (normalizing values so ``7d`` == ``604800000``) all
read this table, so the three can never disagree about what a config means. The names, defaults
and validators follow Apache Kafka 3.9 ``LogConfig``/``TopicConfig``.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from evtctl.kafka.units import UnitError, parse_bytes, parse_duration_ms

LONG_MAX = 9_223_372_036_854_775_807


class ConfigType(enum.IntEnum):
    """Kafka's DescribeConfigs ``config_type`` codes."""

    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class Unit(enum.Enum):
    NONE = "none"
    DURATION_MS = "duration"
    BYTES = "bytes"


class ConfigValueError(ValueError):
    """An invalid config name or value; the message is ready to show to a user."""


@dataclass(frozen=True, slots=True)
class TopicConfigDef:
    name: str
    type: ConfigType
    default: str  # as Kafka renders it in DescribeConfigs
    doc: str
    unit: Unit = Unit.NONE
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()  # for STRING and LIST values
    broker_synonym: str | None = None  # the broker-level config that supplies the default
    sensitive: bool = False

    def normalize(self, value: object) -> str:
        """Validate ``value`` (manifest YAML or wire string) and return Kafka's canonical string."""
        return _normalize(self, value)


def _int_value(defn: TopicConfigDef, value: object) -> int:
    candidate = _maybe_int(value)
    if isinstance(candidate, int) and not isinstance(candidate, bool):
        return candidate  # plain numbers (including sentinels such as -2) are range-checked by the caller
    try:
        if defn.unit is Unit.DURATION_MS:
            number = parse_duration_ms(candidate, allow_infinite=True)
        elif defn.unit is Unit.BYTES:
            number = parse_bytes(candidate, allow_infinite=True)
        else:
            raise ConfigValueError(f"{defn.name}: expected an integer, got {value!r}")
    except UnitError as err:
        raise ConfigValueError(f"{defn.name}: {err}") from None
    return number


def _maybe_int(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return value


def _check_range(defn: TopicConfigDef, number: float) -> None:
    if defn.minimum is not None and number < defn.minimum:
        raise ConfigValueError(f"{defn.name}: value {_num(number)} is below the minimum {_num(defn.minimum)}")
    if defn.maximum is not None and number > defn.maximum:
        raise ConfigValueError(f"{defn.name}: value {_num(number)} is above the maximum {_num(defn.maximum)}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _normalize(defn: TopicConfigDef, value: object) -> str:
    if defn.type in (ConfigType.INT, ConfigType.LONG, ConfigType.SHORT):
        number = _int_value(defn, value)
        _check_range(defn, number)
        bound = {ConfigType.INT: 2**31 - 1, ConfigType.SHORT: 2**15 - 1}.get(defn.type, LONG_MAX)
        if number > bound:
            raise ConfigValueError(f"{defn.name}: value {number} does not fit in a {defn.type.name}")
        return str(number)
    if defn.type is ConfigType.DOUBLE:
        if isinstance(value, bool):
            raise ConfigValueError(f"{defn.name}: expected a number, got {value!r}")
        try:
            number_f = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigValueError(f"{defn.name}: expected a number, got {value!r}") from None
        _check_range(defn, number_f)
        return repr(number_f)
    if defn.type is ConfigType.BOOLEAN:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower()
        raise ConfigValueError(f"{defn.name}: expected true or false, got {value!r}")
    if defn.type is ConfigType.LIST:
        items: list[str]
        if isinstance(value, list | tuple):
            items = [str(v).strip() for v in value]
        elif isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        else:
            raise ConfigValueError(f"{defn.name}: expected a list or comma-separated string, got {value!r}")
        if defn.choices:
            for item in items:
                if item not in defn.choices:
                    raise ConfigValueError(
                        f"{defn.name}: {item!r} is not one of {', '.join(defn.choices)}"
                    )
            if defn.name == "cleanup.policy":
                # Kafka treats the policy as a set; order it canonically so "compact,delete" == "delete,compact"
                items = sorted(set(items), key=defn.choices.index)
        return ",".join(items)
    # STRING
    if not isinstance(value, str) or isinstance(value, bool):
        raise ConfigValueError(f"{defn.name}: expected a string, got {value!r}")
    if defn.choices and value not in defn.choices:
        hint = difflib.get_close_matches(value, defn.choices, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigValueError(f"{defn.name}: {value!r} is not one of {', '.join(defn.choices)}{extra}")
    return value


def _d(
    name: str,
    type_: ConfigType,
    default: str,
    doc: str,
    *,
    unit: Unit = Unit.NONE,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    synonym: str | None = None,
) -> TopicConfigDef:
    return TopicConfigDef(name, type_, default, doc, unit, minimum, maximum, choices, synonym)


T = ConfigType
MS, BY = Unit.DURATION_MS, Unit.BYTES

TOPIC_CONFIGS: Mapping[str, TopicConfigDef] = {
    d.name: d
    for d in (
        _d("cleanup.policy", T.LIST, "delete", "A string that is either \"delete\" or \"compact\" or both. Designates the retention policy to use on old log segments.", choices=("delete", "compact"), synonym="log.cleanup.policy"),
        _d("compression.type", T.STRING, "producer", "The final compression type for a topic; \"producer\" retains the codec set by the producer.", choices=("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), synonym="compression.type"),
        _d("compression.gzip.level", T.INT, "-1", "The compression level to use if compression.type is set to gzip.", minimum=-1, maximum=9, synonym="compression.gzip.level"),
        _d("compression.lz4.level", T.INT, "9", "The compression level to use if compression.type is set to lz4.", minimum=1, maximum=17, synonym="compression.lz4.level"),
        _d("compression.zstd.level", T.INT, "3", "The compression level to use if compression.type is set to zstd.", minimum=-131072, maximum=22, synonym="compression.zstd.level"),
        _d("delete.retention.ms", T.LONG, "86400000", "How long to retain delete tombstone markers for log compacted topics.", unit=MS, minimum=0, synonym="log.cleaner.delete.retention.ms"),
        _d("file.delete.delay.ms", T.LONG, "60000", "The time to wait before deleting a file from the filesystem.", unit=MS, minimum=0, synonym="log.segment.delete.delay.ms"),
        _d("flush.messages", T.LONG, str(LONG_MAX), "Interval, in messages, at which an fsync of data written to the log is forced.", minimum=1, synonym="log.flush.interval.messages"),
        _d("flush.ms", T.LONG, str(LONG_MAX), "Interval, in time, at which an fsync of data written to the log is forced.", unit=MS, minimum=0, synonym="log.flush.interval.ms"),
        _d("follower.replication.throttled.replicas", T.LIST, "", "A list of replicas for which log replication should be throttled on the follower side.", synonym="follower.replication.throttled.replicas"),
        _d("index.interval.bytes", T.INT, "4096", "How frequently Kafka adds an index entry to its offset index.", unit=BY, minimum=0, synonym="log.index.interval.bytes"),
        _d("leader.replication.throttled.replicas", T.LIST, "", "A list of replicas for which log replication should be throttled on the leader side.", synonym="leader.replication.throttled.replicas"),
        _d("local.retention.bytes", T.LONG, "-2", "The maximum size of local log segments before deletion when tiered storage is enabled (-2 means retention.bytes).", unit=BY, minimum=-2, synonym="log.local.retention.bytes"),
        _d("local.retention.ms", T.LONG, "-2", "The time to retain local log segments before deletion when tiered storage is enabled (-2 means retention.ms).", unit=MS, minimum=-2, synonym="log.local.retention.ms"),
        _d("max.compaction.lag.ms", T.LONG, str(LONG_MAX), "The maximum time a message will remain ineligible for compaction in the log.", unit=MS, minimum=1, synonym="log.cleaner.max.compaction.lag.ms"),
        _d("max.message.bytes", T.INT, "1048588", "The largest record batch size allowed by Kafka (after compression if compression is enabled).", unit=BY, minimum=0, synonym="message.max.bytes"),
        _d("message.downconversion.enable", T.BOOLEAN, "true", "Whether down-conversion of message formats is enabled to satisfy consume requests.", synonym="log.message.downconversion.enable"),
        _d("message.timestamp.after.max.ms", T.LONG, str(LONG_MAX), "The maximum allowed timestamp difference between the broker's timestamp and a future message timestamp.", unit=MS, minimum=0, synonym="log.message.timestamp.after.max.ms"),
        _d("message.timestamp.before.max.ms", T.LONG, str(LONG_MAX), "The maximum allowed timestamp difference between the broker's timestamp and a past message timestamp.", unit=MS, minimum=0, synonym="log.message.timestamp.before.max.ms"),
        _d("message.timestamp.difference.max.ms", T.LONG, str(LONG_MAX), "[Deprecated] The maximum difference allowed between the broker and message timestamps.", unit=MS, minimum=0, synonym="log.message.timestamp.difference.max.ms"),
        _d("message.timestamp.type", T.STRING, "CreateTime", "Define whether the timestamp in the message is message create time or log append time.", choices=("CreateTime", "LogAppendTime"), synonym="log.message.timestamp.type"),
        _d("min.cleanable.dirty.ratio", T.DOUBLE, "0.5", "The minimum ratio of dirty log to total log for a log to be eligible for cleaning.", minimum=0, maximum=1, synonym="log.cleaner.min.cleanable.ratio"),
        _d("min.compaction.lag.ms", T.LONG, "0", "The minimum time a message will remain uncompacted in the log.", unit=MS, minimum=0, synonym="log.cleaner.min.compaction.lag.ms"),
        _d("min.insync.replicas", T.INT, "1", "The minimum number of replicas that must acknowledge a write for acks=all to succeed.", minimum=1, synonym="min.insync.replicas"),
        _d("preallocate", T.BOOLEAN, "false", "True if we should preallocate the file on disk when creating a new log segment.", synonym="log.preallocate"),
        _d("remote.log.copy.disable", T.BOOLEAN, "false", "Whether to stop copying segments to tiered storage for this topic.", synonym=None),
        _d("remote.log.delete.on.disable", T.BOOLEAN, "false", "Whether to delete tiered segments when tiered storage is disabled for this topic.", synonym=None),
        _d("remote.storage.enable", T.BOOLEAN, "false", "Whether tiered storage is enabled for this topic.", synonym=None),
        _d("retention.bytes", T.LONG, "-1", "The maximum size a partition can grow to before old log segments are discarded (-1: no limit).", unit=BY, minimum=-1, synonym="log.retention.bytes"),
        _d("retention.ms", T.LONG, "604800000", "The maximum time a log is retained before old segments are discarded (-1: no time limit).", unit=MS, minimum=-1, synonym="log.retention.ms"),
        _d("segment.bytes", T.INT, "1073741824", "The segment file size for the log.", unit=BY, minimum=14, synonym="log.segment.bytes"),
        _d("segment.index.bytes", T.INT, "10485760", "The size of the index that maps offsets to file positions.", unit=BY, minimum=4, synonym="log.index.size.max.bytes"),
        _d("segment.jitter.ms", T.LONG, "0", "The maximum random jitter subtracted from the scheduled segment roll time.", unit=MS, minimum=0, synonym="log.roll.jitter.ms"),
        _d("segment.ms", T.LONG, "604800000", "The period of time after which Kafka rolls a segment even if it is not full.", unit=MS, minimum=1, synonym="log.roll.ms"),
        _d("unclean.leader.election.enable", T.BOOLEAN, "false", "Whether out-of-sync replicas may be elected leader as a last resort, at the risk of data loss.", synonym="unclean.leader.election.enable"),
    )
}


def lookup(name: str) -> TopicConfigDef:
    """The definition for ``name``, or a :class:`ConfigValueError` with a did-you-mean suggestion."""
    try:
        return TOPIC_CONFIGS[name]
    except KeyError:
        hint = suggest(name)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigValueError(f"unknown topic config {name!r}{extra}") from None


def suggest(name: str, candidates: Mapping[str, object] | None = None) -> str | None:
    names = list((candidates or TOPIC_CONFIGS).keys())
    found = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return found[0] if found else None


def normalize(name: str, value: object) -> str:
    """Canonical Kafka string for one topic config; raises :class:`ConfigValueError`."""
    return lookup(name).normalize(value)


def normalize_all(configs: Mapping[str, object]) -> dict[str, str]:
    return {name: normalize(name, value) for name, value in configs.items()}


def defaults() -> dict[str, str]:
    return {name: d.default for name, d in TOPIC_CONFIGS.items()}

