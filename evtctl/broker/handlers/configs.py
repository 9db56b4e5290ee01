"""DescribeConfigs (32), AlterConfigs (33), IncrementalAlterConfigs (44).

Every topic config comes from the catalog in ``evtctl/kafka/topic_configs.py``: value, source, default
flag, synonyms, type, documentation and sensitivity, whether set explicitly or not (unlike Tansu, which
only reports explicitly set configs).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from evtctl.broker.config import broker_config_entries
from evtctl.broker.context import RequestContext
from evtctl.broker.handlers import HandlerRegistry
from evtctl.broker.protocol.codec import Message, Raw, array_prefix, element_writer, is_flexible
from evtctl.broker.protocol.errors import ErrorCode
from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigType, ConfigValueError, lookup

if TYPE_CHECKING:
    from evtctl.broker.server import Broker

TOPIC = 2
BROKER = 4
BROKER_LOGGER = 8
CLUSTER_NAME = "kafka-cluster"


class Source(enum.IntEnum):
    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5


def topic_config_entries(
    broker: Broker, explicit: Mapping[str, str], *, synonyms: bool, docs: bool, version: int
) -> list[Message]:
    """Every catalog config of a topic. Entries of configs the topic does not set are the same for all
    topics: they are built once per (broker overrides, synonyms, docs) and shared (callers must not mutate
    them), so describing thousands of topics only builds the entries of their explicit configs."""
    overrides = broker.cfg.broker_overrides
    key = (tuple(sorted(overrides.items())), synonyms, docs)
    defaults = _DEFAULT_ENTRIES.get(key)
    if defaults is None:
        defaults = [_entry(name, {}, overrides, synonyms=synonyms, docs=docs) for name in TOPIC_CONFIGS]
        _DEFAULT_ENTRIES[key] = defaults
    if not explicit:
        return defaults
    out = list(defaults)
    for name in explicit:
        i = _CONFIG_INDEX.get(name)
        if i is not None:
            out[i] = _entry(name, explicit, overrides, synonyms=synonyms, docs=docs)
    return out


_DEFAULT_ENTRIES: dict[tuple[tuple[tuple[str, str], ...], bool, bool], list[Message]] = {}
_CONFIG_INDEX = {name: i for i, name in enumerate(TOPIC_CONFIGS)}

# Encoded entries, by (broker overrides, synonyms, docs, version): the defaults of every config, and
# the entries of explicit (name, value) pairs, which repeat across topics (retention.ms=604800000).
# Describing 10,000 topics then costs a list copy and a join per topic instead of encoding 350,000
# entry dicts (seconds in Python). Bounded: cleared when it grows past EXPLICIT_CACHE entries.
_EncKey = tuple[tuple[tuple[str, str], ...], bool, bool, int]
_ENCODED_DEFAULTS: dict[_EncKey, list[bytes]] = {}
_ENCODED_EXPLICIT: dict[tuple[_EncKey, str, str], bytes] = {}
EXPLICIT_CACHE = 50_000


def _encode_entry(version: int, entry: Message) -> bytes:
    out = bytearray()
    element_writer("DescribeConfigsResponse", version, "results", "configs")(out, entry)
    return bytes(out)


def topic_configs_encoded(
    broker: Broker, explicit: Mapping[str, str], *, synonyms: bool, docs: bool, version: int
) -> Raw:
    """The same entries as :func:`topic_config_entries`, as the encoded configs array."""
    overrides = broker.cfg.broker_overrides
    key = (tuple(sorted(overrides.items())), synonyms, docs, version)
    parts = _ENCODED_DEFAULTS.get(key)
    if parts is None:
        entries = topic_config_entries(broker, {}, synonyms=synonyms, docs=docs, version=version)
        parts = [_encode_entry(version, e) for e in entries]
        _ENCODED_DEFAULTS[key] = parts
    prefix = array_prefix(len(parts), is_flexible("DescribeConfigsResponse", version))
    if explicit:
        parts = list(parts)
        for name, value in explicit.items():
            i = _CONFIG_INDEX.get(name)
            if i is None:
                continue
            encoded = _ENCODED_EXPLICIT.get((key, name, value))
            if encoded is None:
                if len(_ENCODED_EXPLICIT) >= EXPLICIT_CACHE:
                    _ENCODED_EXPLICIT.clear()
                entry = _entry(name, {name: value}, overrides, synonyms=synonyms, docs=docs)
                encoded = _ENCODED_EXPLICIT[(key, name, value)] = _encode_entry(version, entry)
            parts[i] = encoded
    return Raw(prefix + b"".join(parts))


def _entry(
    name: str, explicit: Mapping[str, str], overrides: Mapping[str, str], *, synonyms: bool, docs: bool
) -> Message:
    defn = TOPIC_CONFIGS[name]
    chain: list[Message] = []
    if name in explicit:
        chain.append({"name": name, "value": explicit[name], "source": Source.DYNAMIC_TOPIC_CONFIG})
    if defn.broker_synonym and defn.broker_synonym in overrides:
        chain.append(
            {
                "name": defn.broker_synonym,
                "value": overrides[defn.broker_synonym],
                "source": Source.STATIC_BROKER_CONFIG,
            }
        )
    chain.append(
        {"name": defn.broker_synonym or name, "value": defn.default, "source": Source.DEFAULT_CONFIG}
    )
    top = chain[0]
    return {
        "name": name,
        "value": None if defn.sensitive else top["value"],
        "read_only": False,
        "config_source": top["source"],
        "is_default": top["source"] == Source.DEFAULT_CONFIG,
        "is_sensitive": defn.sensitive,
        "synonyms": chain if synonyms else [],
        "config_type": int(defn.type),
        "documentation": defn.doc if docs else None,
    }


def _broker_entries(broker: Broker, *, synonyms: bool, docs: bool) -> list[Message]:
    out: list[Message] = []
    for e in broker_config_entries(broker.cfg, broker.node_id):
        source = Source.STATIC_BROKER_CONFIG
        synonym_list = [{"name": e.name, "value": e.value, "source": source}] if synonyms else []
        out.append(
            {
                "name": e.name,
                "value": None if e.sensitive else e.value,
                "read_only": e.read_only,
                "config_source": source,
                "is_default": False,
                "is_sensitive": e.sensitive,
                "synonyms": synonym_list,
                "config_type": int(e.type),
                "documentation": e.doc if docs else None,
            }
        )
    return out


async def describe_configs(ctx: RequestContext, request: Message) -> Message:
    broker = ctx.broker
    synonyms = bool(request.get("include_synonyms", False))
    docs = bool(request.get("include_documentation", False))
    results: list[Message] = []
    for res in request["resources"]:
        rtype, rname = res["resource_type"], res["resource_name"]
        keys = res.get("configuration_keys")
        result: Message = {
            "error_code": 0,
            "error_message": None,
            "resource_type": rtype,
            "resource_name": rname,
        }
        if rtype == TOPIC:
            meta = broker.store.topics.get(rname)
            if not ctx.authorize("DESCRIBE_CONFIGS", "TOPIC", rname):
                result.update(error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED, configs=[])
            elif meta is None:
                result.update(
                    error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    error_message=f"topic {rname!r} does not exist",
                    configs=[],
                )
            else:
                v = ctx.api_version
                if keys is None:  # every config: the pre-encoded array
                    result["configs"] = topic_configs_encoded(
                        broker, meta.configs, synonyms=synonyms, docs=docs, version=v
                    )
                else:
                    entries = topic_config_entries(
                        broker, meta.configs, synonyms=synonyms, docs=docs, version=v
                    )
                    result["configs"] = [e for e in entries if e["name"] in keys]
        elif rtype in (BROKER, BROKER_LOGGER):
            if not ctx.authorize("DESCRIBE_CONFIGS", "CLUSTER", CLUSTER_NAME):
                result.update(error_code=ErrorCode.CLUSTER_AUTHORIZATION_FAILED, configs=[])
            elif rname not in ("", str(broker.node_id)):
                result.update(
                    error_code=ErrorCode.INVALID_REQUEST,
                    error_message=f"unknown broker id {rname!r} (this broker is {broker.node_id})",
                    configs=[],
                )
            elif rtype == BROKER_LOGGER:
                result["configs"] = []
            else:
                entries = _broker_entries(broker, synonyms=synonyms, docs=docs)
                result["configs"] = [e for e in entries if keys is None or e["name"] in keys]
        else:
            result.update(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message=f"resource type {rtype} has no configs",
                configs=[],
            )
        results.append(result)
    return {"throttle_time_ms": 0, "results": results}


def validate_topic_configs(configs: Mapping[str, object]) -> dict[str, str]:
    """Normalized explicit configs; raises ConfigValueError (message ready for the client)."""
    out: dict[str, str] = {}
    for name, value in configs.items():
        if value is None:
            raise ConfigValueError(f"{name}: a null value is not allowed")
        out[name] = lookup(name).normalize(value)
    _check_cross_field(out)
    return out


def _check_cross_field(configs: Mapping[str, str]) -> None:
    if "min.insync.replicas" in configs and int(configs["min.insync.replicas"]) < 1:
        raise ConfigValueError("min.insync.replicas: must be at least 1")


def _resource_check(ctx: RequestContext, rtype: int, rname: str) -> tuple[ErrorCode, str | None]:
    if rtype == TOPIC:
        if not ctx.authorize("ALTER_CONFIGS", "TOPIC", rname):
            return ErrorCode.TOPIC_AUTHORIZATION_FAILED, None
        if rname not in ctx.broker.store.topics:
            return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {rname!r} does not exist"
        return ErrorCode.NONE, None
    if rtype in (BROKER, BROKER_LOGGER):
        if not ctx.authorize("ALTER_CONFIGS", "CLUSTER", CLUSTER_NAME):
            return ErrorCode.CLUSTER_AUTHORIZATION_FAILED, None
        return (
            ErrorCode.INVALID_REQUEST,
            "broker configs are static on the reference broker (use broker start -c)",
        )
    return ErrorCode.INVALID_REQUEST, f"resource type {rtype} has no configs"


async def alter_configs(ctx: RequestContext, request: Message) -> Message:
    """Legacy AlterConfigs: the given set replaces all explicit configs of the topic."""
    responses: list[Message] = []
    validate_only = bool(request.get("validate_only", False))
    for res in request["resources"]:
        rtype, rname = res["resource_type"], res["resource_name"]
        code, message = _resource_check(ctx, rtype, rname)
        if code == ErrorCode.NONE:
            try:
                new = validate_topic_configs({c["name"]: c["value"] for c in res["configs"]})
            except ConfigValueError as err:
                code, message = ErrorCode.INVALID_CONFIG, str(err)
            else:
                if not validate_only:
                    ctx.broker.set_topic_configs(rname, new)
        responses.append(
            {"error_code": code, "error_message": message, "resource_type": rtype, "resource_name": rname}
        )
    return {"throttle_time_ms": 0, "responses": responses}


SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def apply_incremental(current: Mapping[str, str], ops: list[Message]) -> dict[str, str]:
    new = dict(current)
    seen: set[str] = set()
    for op in ops:
        name, kind, value = op["name"], op["config_operation"], op.get("value")
        if name in seen:
            raise ConfigValueError(f"{name}: more than one operation on the same config")
        seen.add(name)
        defn = lookup(name)
        if kind == SET:
            if value is None:
                raise ConfigValueError(f"{name}: SET needs a value")
            new[name] = defn.normalize(value)
        elif kind == DELETE:
            new.pop(name, None)
        elif kind in (APPEND, SUBTRACT):
            if defn.type is not ConfigType.LIST:
                raise ConfigValueError(f"{name}: APPEND and SUBTRACT apply to list configs only")
            items = [v for v in new.get(name, defn.default).split(",") if v]
            given = [v.strip() for v in (value or "").split(",") if v.strip()]
            if kind == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            new[name] = defn.normalize(",".join(items)) if items else ""
            if not new[name]:
                new.pop(name)
        else:
            raise ConfigValueError(f"{name}: unknown config operation {kind}")
    _check_cross_field(new)
    return new


async def incremental_alter_configs(ctx: RequestContext, request: Message) -> Message:
    responses: list[Message] = []
    validate_only = bool(request.get("validate_only", False))
    for res in request["resources"]:
        rtype, rname = res["resource_type"], res["resource_name"]
        code, message = _resource_check(ctx, rtype, rname)
        if code == ErrorCode.NONE:
            meta = ctx.broker.store.topics[rname]
            try:
                new = apply_incremental(meta.configs, res["configs"])
            except ConfigValueError as err:
                code, message = ErrorCode.INVALID_CONFIG, str(err)
            else:
                if not validate_only:
                    ctx.broker.set_topic_configs(rname, new)
        responses.append(
            {"error_code": code, "error_message": message, "resource_type": rtype, "resource_name": rname}
        )
    return {"throttle_time_ms": 0, "responses": responses}


def register(registry: HandlerRegistry) -> None:
    registry.register(32, "DescribeConfigs", (0, 4), describe_configs)
    registry.register(33, "AlterConfigs", (0, 2), _batched(alter_configs))
    registry.register(44, "IncrementalAlterConfigs", (0, 1), _batched(incremental_alter_configs))


def _batched(
    fn: Callable[[RequestContext, Message], Awaitable[Message]],
) -> Callable[[RequestContext, Message], Awaitable[Message]]:
    """Persist every topic change of one request with one journal write and fsync."""

    async def run(ctx: RequestContext, request: Message) -> Message:
        with ctx.broker.store.batch():
            return await fn(ctx, request)

    return run
