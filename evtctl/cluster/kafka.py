"""The Kafka admin backend over confluent-kafka's AdminClient (librdkafka).

Live state is read in a fixed number of batched calls (metadata, one DescribeConfigs for every
topic, one DescribeAcls with a match-any filter, one DescribeUserScramCredentials, one
DescribeClientQuotas, one ListGroups), and every change kind is applied in one batched call.
``round_trips`` counts the admin requests made, for the benchmark and the docs.

Topic configs, ACLs and client quotas are read on a raw socket with evtctl's own codec (see
evtctl.cluster.wire), authenticated on PLAIN and SCRAM listeners; ``raw_calls`` names the requests
that went that way.
"""

from __future__ import annotations

import concurrent.futures
import functools
import socket
import struct
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from evtctl.cluster import sasl, wire
from evtctl.cluster.capabilities import Capabilities
from evtctl.cluster.connection import ClusterConfig
from evtctl.errors import BackendError, Location
from evtctl.kafka.topic_configs import TOPIC_CONFIGS, ConfigValueError, normalize
from evtctl.plan.scope import is_internal_topic
from evtctl.plan.state import AclBindingState, ConsumerGroupState, QuotaState, ScramUserState, TopicState

# ConfigSource values that a sparse DescribeConfigs answer may use for per-topic values:
# UNKNOWN_CONFIG (0) and DEFAULT_CONFIG (5); broker-level sources are never topic overrides.
_SPARSE_SOURCES = (0, 5)
# librdkafka names Kafka's CLUSTER resource type BROKER
_TO_LIBRDKAFKA = {"CLUSTER": "BROKER"}
_FROM_LIBRDKAFKA = {"BROKER": "CLUSTER"}
WRITE_BATCH = 50  # topics (or topic config changes) per CreateTopics / IncrementalAlterConfigs
ACL_BATCH = 2000
_T = TypeVar("_T")


def _ck() -> Any:
    """confluent_kafka.admin, untyped: its stubs do not export the admin classes."""
    import confluent_kafka.admin

    return confluent_kafka.admin


@functools.lru_cache(maxsize=4096)
def normalize_live_config(name: str, value: str) -> str:
    """Kafka's string for a config as the catalog normalizes it; unknown names pass through.
    Cached: on a large cluster the same (name, value) pairs repeat across thousands of topics."""
    if name not in TOPIC_CONFIGS:
        return value
    try:
        return normalize(name, value)
    except ConfigValueError:
        return value


def _err_text(err: BaseException) -> str:
    inner = err.args[0] if err.args else err
    text = getattr(inner, "str", None)
    if callable(text):
        return str(text())
    return str(inner)


def _already(err: BaseException, *codes: str) -> bool:
    inner = err.args[0] if err.args else None
    name = getattr(inner, "name", None)
    return callable(name) and name() in codes


class KafkaBackend:
    """One admin connection to one cluster."""

    def __init__(self, config: ClusterConfig, capabilities: Capabilities) -> None:
        self.config = config
        self.capabilities = capabilities
        self.round_trips = 0
        self.write_timeout = max(120.0, config.timeout * 8)
        self._admin_client: Any = None
        self._lock = threading.Lock()
        self._kp: Any = None  # kafka-python admin client, only for client quotas
        self.config_errors: dict[str, str] = {}  # topic -> why its configs could not be described
        self.raw_calls: list[str] = []  # the requests answered on the raw socket (appends: thread-safe)
        self._raw_sasl_failed = False

    @property
    def _admin(self) -> Any:
        """librdkafka's AdminClient, created on first use: a plan whose reads all went the raw way
        (or were made by another process) never loads librdkafka."""
        with self._lock:
            if self._admin_client is None:
                self._admin_client = _ck().AdminClient(self.config.librdkafka())
            return self._admin_client

    def close(self) -> None:
        if self._kp is not None:
            self._kp.close()
            self._kp = None

    # -- helpers -------------------------------------------------------------------------------

    def _wait(self, future: concurrent.futures.Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=self.config.timeout * 2)
        except concurrent.futures.TimeoutError:
            raise BackendError(
                f"the cluster at {self.config.bootstrap} did not answer {what} in time",
                location=Location(context=what),
            ) from None
        except Exception as err:  # librdkafka raises KafkaException carrying a KafkaError
            raise BackendError(f"{what} failed: {_err_text(err)}", location=Location(context=what)) from None

    def _results(
        self,
        futures: Mapping[Any, concurrent.futures.Future[Any]],
        ok_codes: tuple[str, ...] = (),
        wait: float | None = None,
    ) -> dict[Any, str | None]:
        out: dict[Any, str | None] = {}
        for key, fut in futures.items():
            try:
                fut.result(timeout=(wait or self.config.timeout) * 2)
                out[key] = None
            except concurrent.futures.TimeoutError:
                out[key] = "timed out"
            except Exception as err:
                out[key] = None if ok_codes and _already(err, *ok_codes) else _err_text(err)
        return out

    # -- the raw socket -------------------------------------------------------------------------

    def _raw_usable(self) -> bool:
        """Whether the raw socket can reach this listener: any listener without SASL; a SASL one
        whose mechanism it speaks (PLAIN, SCRAM), unless authenticating already failed here (not
        retried: a wrong password then costs the broker one failed login per plan, not one per read)."""
        mechanism = self.config.sasl_mechanism
        return not mechanism or (sasl.supports(mechanism) and not self._raw_sasl_failed)

    def _raw_connect(self) -> socket.socket | None:
        """An authenticated raw connection to the first bootstrap broker, or None when SASL cannot be
        done on it (the caller takes the librdkafka or kafka-python path, which reports a wrong
        password the usual way). Network and decoding errors propagate (OSError, ValueError,
        struct.error); a broker that did not prove it holds the SCRAM credential is an authentication
        error, never a fallback."""
        if not self._raw_usable():
            return None
        host, port = self.config.bootstrap_hosts()[0]
        try:
            return wire.connect(self.config, host, port, self.capabilities.versions)
        except sasl.SaslError:
            self._raw_sasl_failed = True
            return None
        except sasl.ServerProofError as err:
            raise BackendError(
                f"SASL authentication with {self.config.bootstrap} failed: {err}",
                location=Location(context="SaslAuthenticate"),
                help="the broker is not the one holding evtctl's credential: check the bootstrap servers",
            ) from None

    # -- reads ---------------------------------------------------------------------------------

    def read_topics(
        self,
        only: Collection[str] | None = None,
        wants_configs: Callable[[str], bool] | None = None,
        *,
        defer_errors: bool = False,
    ) -> dict[str, TopicState]:
        """All topics (or just ``only``, one Metadata request each); configs of the topics
        ``wants_configs`` accepts (default all) in one DescribeConfigs.

        A topic whose configs cannot be described fails the read, unless ``defer_errors``: then it
        is recorded in ``config_errors`` (a read made before the caller knows which topics it needs;
        see :meth:`check_config_errors`)."""
        ConfigResource = _ck().ConfigResource
        ConfigSource = _ck().ConfigSource
        ResourceType = _ck().ResourceType

        topics: dict[str, Any] = {}
        try:
            if only is None:
                self.round_trips += 1
                topics = dict(self._admin.list_topics(timeout=self.config.timeout).topics)
            else:
                for name in sorted(only):
                    self.round_trips += 1
                    topics.update(self._admin.list_topics(topic=name, timeout=self.config.timeout).topics)
        except Exception as err:
            raise BackendError(
                f"could not read topic metadata from {self.config.bootstrap}: {_err_text(err)}",
                location=Location(context="Metadata"),
                help="check the context's bootstrap servers and security settings",
            ) from None
        metadata = topics
        layout: dict[str, tuple[int, int]] = {}
        for name, tmeta in metadata.items():
            if is_internal_topic(name) or tmeta.error is not None:
                continue
            parts = tmeta.partitions
            first = parts.get(0) or next(iter(parts.values()), None)
            layout[name] = (len(parts), len(first.replicas) if first is not None else 0)
        configs: dict[str, dict[str, str]] = {name: {} for name in layout}
        described = sorted(n for n in layout if wants_configs is None or wants_configs(n))
        errors: dict[str, str] = {}
        raw = self._raw_topic_configs(described) if described else None
        if raw is not None:
            # topics share override sets (the raw parse hands out one tuple per distinct set)
            normalized: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
            for name in described:
                found = raw.get(name)
                if found is None or found.error_code:
                    errors[name] = (
                        "no answer" if found is None else found.error_message or f"error {found.error_code}"
                    )
                    continue
                overrides = normalized.get(found.overrides)
                if overrides is None:
                    overrides = {k: normalize_live_config(k, v) for k, v in found.overrides}
                    normalized[found.overrides] = overrides
                configs[name] = overrides
        elif described:
            self.round_trips += 1
            futures = self._admin.describe_configs(
                [ConfigResource(ResourceType.TOPIC, name) for name in described],
                request_timeout=self.write_timeout,
            )
            for resource, fut in futures.items():
                try:
                    entries = self._wait(fut, "DescribeConfigs")
                except BackendError as err:
                    errors[resource.name] = err.message.removeprefix("DescribeConfigs failed: ")
                    continue
                dynamic = configs[resource.name]
                # Only per-topic overrides count: broker defaults and synonyms are never diffs. A broker
                # that answers with just the configs it stores (Tansu labels them DEFAULT_CONFIG) is
                # recognised by the sparse answer; there every stored value is an override.
                sparse = len(entries) < len(TOPIC_CONFIGS) // 2
                for entry in entries.values():
                    if entry.value is None:
                        continue
                    if entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value or (
                        sparse and entry.source in _SPARSE_SOURCES
                    ):
                        dynamic[entry.name] = normalize_live_config(entry.name, entry.value)
        self.config_errors = errors
        if not defer_errors:
            self.check_config_errors(errors)
        frozen: dict[int, tuple[tuple[str, str], ...]] = {}  # by id: shared dicts are sorted once
        states = {}
        for name, (parts, repl) in layout.items():
            values = configs[name]
            pairs = frozen.get(id(values))
            if pairs is None:
                pairs = frozen[id(values)] = tuple(sorted(values.items()))
            states[name] = TopicState(name, parts, repl, pairs)
        return states

    def check_config_errors(self, names: Iterable[str]) -> None:
        """Fail for the first of ``names`` whose configs the last topic read could not describe."""
        for name in sorted(set(names) & self.config_errors.keys()):
            raise BackendError(
                f"DescribeConfigs failed for topic {name!r}: {self.config_errors[name]}",
                location=Location(context="DescribeConfigs"),
                help="evtctl's principal needs DESCRIBE_CONFIGS on the topics it manages",
            )

    def _raw_topic_configs(self, names: Sequence[str]) -> dict[str, wire.TopicConfigs] | None:
        """Every topic's overrides in one raw DescribeConfigs, or None to use librdkafka instead.

        librdkafka builds a Python ConfigEntry for each of the ~35 entries of each topic (7 s for
        10,000 topics); the raw answer is parsed keeping only the overrides. Not on SASL listeners
        whose mechanism the raw socket does not speak (GSSAPI, OAUTHBEARER) nor on brokers without a
        non-flexible version; a SASL, connection or decoding failure also falls back, so the raw path
        can only make a plan faster."""
        version = wire.describe_configs_version(self.capabilities.versions.get(wire.DESCRIBE_CONFIGS))
        if version is None or not self._raw_usable():
            return None
        body = wire.describe_topic_configs_request(names, version)
        try:
            sock = self._raw_connect()
            if sock is None:
                return None
            with sock:
                sock.settimeout(self.write_timeout)
                reader = wire.exchange(sock, wire.DESCRIBE_CONFIGS, version, body)
            result = wire.parse_describe_topic_configs(reader, version, len(TOPIC_CONFIGS) // 2)
        except (OSError, ValueError, struct.error):
            return None
        self.round_trips += 1
        self.raw_calls.append("DescribeConfigs")
        return result

    def _raw_acls(self) -> list[tuple[str, str, str, str, str, str, str]] | None:
        """Every ACL binding in one raw DescribeAcls v1, or None to use librdkafka (SASL mechanisms the
        raw socket does not speak, brokers without v1, a SASL, connection or decoding failure). Same
        reason as for topic configs: librdkafka's AclBinding objects cost most of the read on a
        cluster with 20,000 ACLs."""
        versions = self.capabilities.versions.get(wire.DESCRIBE_ACLS)
        if versions is None or not self._raw_usable():
            return None
        if not versions[0] <= wire.DESCRIBE_ACLS_VERSION <= versions[1]:
            return None
        try:
            sock = self._raw_connect()
            if sock is None:
                return None
            with sock:
                sock.settimeout(self.write_timeout)
                reader = wire.exchange(
                    sock, wire.DESCRIBE_ACLS, wire.DESCRIBE_ACLS_VERSION, wire.describe_all_acls_v1()
                )
            error, message, bindings = wire.parse_describe_acls_v1(reader)
        except (OSError, ValueError, struct.error):
            return None
        self.round_trips += 1
        self.raw_calls.append("DescribeAcls")
        if error:
            raise BackendError(
                f"DescribeAcls failed: error {error} {message or ''}".rstrip(),
                location=Location(context="DescribeAcls"),
            )
        return bindings

    def read_acls(self) -> dict[str, AclBindingState]:
        raw = self._raw_acls()
        if raw is not None:
            states = (AclBindingState(*b) for b in raw)
            return {s.key: s for s in states}
        AclBindingFilter = _ck().AclBindingFilter
        AclOperation = _ck().AclOperation
        AclPermissionType = _ck().AclPermissionType
        ResourcePatternType = _ck().ResourcePatternType
        ResourceType = _ck().ResourceType

        self.round_trips += 1
        match_any = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        bindings = self._wait(
            self._admin.describe_acls(match_any, request_timeout=self.config.timeout), "DescribeAcls"
        )
        out: dict[str, AclBindingState] = {}
        for b in bindings:
            state = AclBindingState(
                b.principal,
                _FROM_LIBRDKAFKA.get(b.restype.name, b.restype.name),
                b.name,
                b.resource_pattern_type.name,
                b.operation.name,
                b.permission_type.name,
                b.host,
            )
            out[state.key] = state
        return out

    def read_users(self, names: Iterable[str] = ()) -> dict[str, ScramUserState]:
        """Every SCRAM credential; ``names`` are asked for explicitly when describe-all comes back
        empty (some brokers treat the empty user list Kafka uses for "all" as "none")."""
        self.round_trips += 1
        result = self._wait(
            self._admin.describe_user_scram_credentials(request_timeout=self.config.timeout),
            "DescribeUserScramCredentials",
        )
        descriptions = list(result.values())
        wanted = sorted(set(names))
        if not descriptions and wanted:
            self.round_trips += 1
            futures = self._admin.describe_user_scram_credentials(wanted, request_timeout=self.config.timeout)
            for fut in futures.values():
                try:
                    descriptions.append(fut.result(timeout=self.config.timeout * 2))
                except Exception as err:
                    if not _already(err, "RESOURCE_NOT_FOUND"):
                        raise BackendError(
                            f"DescribeUserScramCredentials failed: {_err_text(err)}",
                            location=Location(context="DescribeUserScramCredentials"),
                        ) from None
        out: dict[str, ScramUserState] = {}
        for desc in descriptions:
            for info in desc.scram_credential_infos:
                state = ScramUserState(desc.user, info.mechanism.name.replace("_", "-"), info.iterations)
                out[state.key] = state
        return out

    def read_groups(self, with_offsets: bool = False) -> dict[str, ConsumerGroupState]:
        self.round_trips += 1
        listing = self._wait(
            self._admin.list_consumer_groups(request_timeout=self.config.timeout), "ListGroups"
        )
        groups = {g.group_id: g for g in listing.valid}
        offsets: dict[str, tuple[tuple[str, int, int], ...]] = {}
        if with_offsets and groups:
            import confluent_kafka

            ConsumerGroupTopicPartitions: Any = confluent_kafka.ConsumerGroupTopicPartitions

            # librdkafka takes one group per OffsetFetch; issue them all at once and wait together
            self.round_trips += len(groups)
            futures = {
                gid: self._admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(gid)])[gid]
                for gid in groups
            }
            for gid, fut in futures.items():
                res = self._wait(fut, "OffsetFetch")
                offsets[gid] = tuple(
                    sorted(
                        (tp.topic, tp.partition, tp.offset) for tp in res.topic_partitions if tp.offset >= 0
                    )
                )
        return {
            gid: ConsumerGroupState(gid, offsets.get(gid, ()), getattr(g.state, "name", None))
            for gid, g in groups.items()
        }

    def _kafka_python(self) -> Any:
        if self._kp is None:
            from kafka.admin import KafkaAdminClient

            try:
                self._kp = KafkaAdminClient(**self.config.kafka_python())
            except Exception as err:
                raise BackendError(
                    f"could not connect to {self.config.bootstrap} for client quotas: {err}",
                    location=Location(context="DescribeClientQuotas"),
                ) from None
        return self._kp

    def _quota_call(self, request: Any, what: str) -> Any:
        admin = self._kafka_python()
        self.round_trips += 1
        try:
            return admin._manager.run(admin._manager.send, request)
        except Exception as err:
            raise BackendError(f"{what} failed: {err}", location=Location(context=what)) from None

    def _raw(
        self, api_key: int, body: bytes, what: str, parse: Callable[[wire.Reader], _T], *, resend: bool
    ) -> _T | None:
        """One v0 request on a raw socket to the first bootstrap broker, its answer parsed, or None to
        use kafka-python instead. On a SASL listener that is the answer when the raw socket cannot
        authenticate, and, for a request safe to send twice (``resend``: a read), when the raw request
        fails; a write already sent is not sent again. Elsewhere a failure is an error: kafka-python
        would meet it too."""
        fallback = bool(self.config.sasl_mechanism)
        sent = False
        try:
            sock = self._raw_connect()
            if sock is None:
                return None
            with sock:
                sent = True
                result = parse(wire.exchange(sock, api_key, 0, body))
        except (OSError, ValueError, struct.error) as err:
            if fallback and (resend or not sent):
                return None
            self.round_trips += 1
            raise BackendError(f"{what} failed: {err}", location=Location(context=what)) from None
        self.round_trips += 1
        self.raw_calls.append(what)
        return result

    def read_quotas(self) -> dict[str, QuotaState]:
        raw = self._raw(
            48,
            wire.describe_client_quotas_v0(),
            "DescribeClientQuotas",
            wire.parse_describe_client_quotas_v0,
            resend=True,
        )
        if raw is not None:
            error, message, entries = raw
            if error:
                raise BackendError(
                    f"DescribeClientQuotas failed: error {error} {message or ''}",
                    location=Location(context="DescribeClientQuotas"),
                )
            found = {}
            for e in entries:
                state = QuotaState(tuple(sorted((t, n or "") for t, n in e.entity)), tuple(sorted(e.values)))
                found[state.key] = state
            return found
        from kafka.protocol.admin.client_quotas import DescribeClientQuotasRequest

        response = self._quota_call(
            DescribeClientQuotasRequest(components=[], strict=False), "DescribeClientQuotas"
        )
        if response.error_code:
            raise BackendError(
                f"DescribeClientQuotas failed: error {response.error_code} {response.error_message or ''}",
                location=Location(context="DescribeClientQuotas"),
            )
        out: dict[str, QuotaState] = {}
        for entry in response.entries or ():
            entity = tuple(sorted((e.entity_type, e.entity_name or "") for e in entry.entity))
            values = tuple(sorted((v.key, float(v.value)) for v in entry.values))
            state = QuotaState(entity, values)
            out[state.key] = state
        return out

    # -- writes (one batched call per kind; results per address, None = applied) ----------------

    def create_topics(self, topics: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        NewTopic = _ck().NewTopic

        if not topics:
            return {}
        new = [
            NewTopic(
                t["name"],
                num_partitions=t["partitions"],
                replication_factor=t.get("replication") or -1,
                config=dict(t.get("configs") or {}),
            )
            for t in topics
        ]
        results: dict[str, str | None] = {}
        # batches keep each request well inside the timeout on brokers that create slowly
        for start in range(0, len(new), WRITE_BATCH):
            self.round_trips += 1
            futures = self._admin.create_topics(
                new[start : start + WRITE_BATCH],
                request_timeout=self.write_timeout,
                operation_timeout=self.write_timeout,
            )
            results.update(self._results(futures, wait=self.write_timeout))
        for name, err in results.items():
            if err is not None and "already exists" in err:
                # it exists, yet the plan did not see it: the principal may not DESCRIBE it
                results[name] = (
                    f"{err} (it is not visible to evtctl's principal: grant it DESCRIBE on the topic "
                    "or make it a super user)"
                )
        return results

    def create_partitions(self, counts: Mapping[str, int]) -> dict[str, str | None]:
        NewPartitions = _ck().NewPartitions

        if not counts:
            return {}
        self.round_trips += 1
        futures = self._admin.create_partitions(
            [NewPartitions(name, n) for name, n in counts.items()], request_timeout=self.config.timeout
        )
        return self._results(futures)

    def alter_topic_configs(self, changes: Mapping[str, Mapping[str, str | None]]) -> dict[str, str | None]:
        """``{topic: {config: value or None to remove the override}}`` in one IncrementalAlterConfigs."""
        AlterConfigOpType = _ck().AlterConfigOpType
        ConfigEntry = _ck().ConfigEntry
        ConfigResource = _ck().ConfigResource
        ResourceType = _ck().ResourceType

        if not changes:
            return {}
        self.round_trips += 1
        resources = []
        for name, configs in changes.items():
            entries = [
                ConfigEntry(
                    key,
                    value,
                    incremental_operation=AlterConfigOpType.DELETE
                    if value is None
                    else AlterConfigOpType.SET,
                )
                for key, value in sorted(configs.items())
            ]
            resources.append(ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries))
        out: dict[str, str | None] = {}
        self.round_trips += len(range(0, len(resources), WRITE_BATCH)) - 1
        for start in range(0, len(resources), WRITE_BATCH):
            futures = self._admin.incremental_alter_configs(
                resources[start : start + WRITE_BATCH], request_timeout=self.write_timeout
            )
            out.update(
                self._results({res.name: fut for res, fut in futures.items()}, wait=self.write_timeout)
            )
        return out

    def delete_topics(self, names: Sequence[str]) -> dict[str, str | None]:
        if not names:
            return {}
        self.round_trips += 1
        futures = self._admin.delete_topics(list(names), request_timeout=self.config.timeout)
        return self._results(futures, ("UNKNOWN_TOPIC_OR_PART",))

    @staticmethod
    def _binding(a: Mapping[str, Any], cls: Any) -> Any:
        AclOperation = _ck().AclOperation
        AclPermissionType = _ck().AclPermissionType
        ResourcePatternType = _ck().ResourcePatternType
        ResourceType = _ck().ResourceType

        return cls(
            ResourceType[_TO_LIBRDKAFKA.get(a["resource_type"], a["resource_type"])],
            a["resource_name"],
            ResourcePatternType[a["pattern_type"]],
            a["principal"],
            a.get("host", "*"),
            AclOperation[a["operation"]],
            AclPermissionType[a["permission"]],
        )

    def create_acls(self, acls: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
        AclBinding = _ck().AclBinding

        if not acls:
            return {}
        self.round_trips += 1
        bindings = {self._binding(a, AclBinding): key for key, a in acls.items()}
        out: dict[str, str | None] = {}
        items = list(bindings)
        self.round_trips += len(range(0, len(items), ACL_BATCH)) - 1
        for start in range(0, len(items), ACL_BATCH):
            futures = self._admin.create_acls(
                items[start : start + ACL_BATCH], request_timeout=self.write_timeout
            )
            out.update({bindings[b]: r for b, r in self._results(futures, wait=self.write_timeout).items()})
        return out

    def delete_acls(self, acls: Mapping[str, Mapping[str, Any]]) -> dict[str, str | None]:
        AclBindingFilter = _ck().AclBindingFilter

        if not acls:
            return {}
        self.round_trips += 1
        filters = {self._binding(a, AclBindingFilter): key for key, a in acls.items()}
        futures = self._admin.delete_acls(list(filters), request_timeout=self.config.timeout)
        return {filters[f]: r for f, r in self._results(futures).items()}

    def alter_users(
        self, upserts: Mapping[str, tuple[str, str, int, str]], deletes: Mapping[str, tuple[str, str]]
    ) -> dict[str, str | None]:
        """Upserts: key -> (user, mechanism, iterations, password); deletes: key -> (user, mechanism)."""
        ScramCredentialInfo = _ck().ScramCredentialInfo
        ScramMechanism = _ck().ScramMechanism
        UserScramCredentialDeletion = _ck().UserScramCredentialDeletion
        UserScramCredentialUpsertion = _ck().UserScramCredentialUpsertion

        if not upserts and not deletes:
            return {}
        self.round_trips += 1
        alterations: list[Any] = []
        keys: list[str] = []
        for key, (user, mech, iterations, password) in upserts.items():
            info = ScramCredentialInfo(ScramMechanism[mech.replace("-", "_")], iterations)
            alterations.append(UserScramCredentialUpsertion(user, info, password.encode()))
            keys.append(key)
        for key, (user, mech) in deletes.items():
            alterations.append(UserScramCredentialDeletion(user, ScramMechanism[mech.replace("-", "_")]))
            keys.append(key)
        futures = self._admin.alter_user_scram_credentials(alterations, request_timeout=self.config.timeout)
        by_user = self._results(futures)
        return {key: by_user.get(alt.user) for key, alt in zip(keys, alterations, strict=True)}

    def alter_quotas(
        self, quotas: Mapping[str, tuple[Iterable[tuple[str, str]], Mapping[str, float | None]]]
    ) -> dict[str, str | None]:
        """``{key: (entity pairs, {quota key: value or None to remove})}`` in one AlterClientQuotas."""
        if not quotas:
            return {}
        keys = list(quotas)
        body = wire.alter_client_quotas_v0(
            ([(t, n or None) for t, n in quotas[k][0]], quotas[k][1]) for k in keys
        )
        results = self._raw(49, body, "AlterClientQuotas", wire.parse_alter_client_quotas_v0, resend=False)
        if results is not None:
            return {
                k: None if not err else f"error {err}: {msg or ''}"
                for k, (err, msg) in zip(keys, results, strict=False)
            }
        from kafka.protocol.admin.client_quotas import AlterClientQuotasRequest

        E = AlterClientQuotasRequest.EntryData
        entries = []
        for key in keys:
            entity, ops = quotas[key]
            entries.append(
                E(
                    entity=[E.EntityData(entity_type=t, entity_name=n or None) for t, n in entity],
                    ops=[
                        E.OpData(key=k, value=0.0 if v is None else float(v), remove=v is None)
                        for k, v in sorted(ops.items())
                    ],
                )
            )
        response = self._quota_call(
            AlterClientQuotasRequest(entries=entries, validate_only=False), "AlterClientQuotas"
        )
        out: dict[str, str | None] = {}
        for key, entry in zip(keys, response.entries, strict=False):
            out[key] = (
                None if not entry.error_code else f"error {entry.error_code}: {entry.error_message or ''}"
            )
        return out

    def delete_groups(self, ids: Sequence[str]) -> dict[str, str | None]:
        if not ids:
            return {}
        self.round_trips += 1
        futures = self._admin.delete_consumer_groups(list(ids), request_timeout=self.config.timeout)
        return self._results(futures, ("GROUP_ID_NOT_FOUND",))
