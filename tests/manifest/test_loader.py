"""The workspace loader and model, in-process: positions, variables, overlays, references, ACLs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from evtctl.manifest.check import check_document
from evtctl.manifest.fastcheck import UnsupportedKeyword, compile_schema
from evtctl.manifest.model import (
    DeliveryGuarantee,
    ManagedScope,
    Operation,
    ResourceType,
    SchemaFormat,
    Topic,
)
from evtctl.manifest.problems import Code
from evtctl.manifest.schemas import ALL_KINDS, SPECS, combined_schema, kind_schema
from evtctl.manifest.yamlpos import PosMap, load_file, load_text, locate, locate_key
from evtctl.workspace import WorkspaceInvalid, check_workspace, load_workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
CFG = "apiVersion: evtctl/v1\nkind: Workspace\nmetadata: {name: t}\n"


def _workspace(tmp_path: Path, files: dict[str, str], config: str = CFG) -> Path:
    (tmp_path / "evtctl.yaml").write_text(config)
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


# --- YAML with positions ----------------------------------------------------------------------


def test_every_key_and_value_has_its_position() -> None:
    docs, problems = load_text("a: 1\nb:\n  c: [x, 'y']\n---\nd: e\n", "f.yaml")
    assert problems == []
    first = docs[0].data
    assert first == {"a": 1, "b": {"c": ["x", "y"]}}
    assert first.key_marks["b"] == (2, 1)
    assert str(locate("f.yaml", first, ["b", "c", 1])) == "f.yaml:3:10"
    assert str(locate_key("f.yaml", first, ["b", "c"])) == "f.yaml:3:3"
    # A path that does not exist resolves to its deepest existing prefix.
    assert str(locate("f.yaml", first, ["b", "nope", "deeper"])) == "f.yaml:3:3"
    assert docs[1].data == {"d": "e"} and docs[1].index == 1 and docs[1].mark == (5, 1)


def test_scalars_follow_yaml_types_but_quoted_values_stay_strings() -> None:
    docs, _ = load_text("i: 12\nq: '12'\nf: 0.5\nb: true\nn: ~\ne:\nt: 2024-01-01\nh: 0x1f\n", "f.yaml")
    assert docs[0].data == {
        "i": 12,
        "q": "12",
        "f": 0.5,
        "b": True,
        "n": None,
        "e": None,
        "t": "2024-01-01",
        "h": 31,
    }


def test_duplicate_keys_keep_the_first_value_and_report_the_second() -> None:
    docs, problems = load_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert docs[0].data["a"] == 1
    assert [(p.code, str(p.location)) for p in problems] == [(Code.DUPLICATE_KEY, "f.yaml:3:1")]
    assert "first defined at line 1" in problems[0].message


def test_variables_keep_their_type_when_alone_and_interpolate_inside_text() -> None:
    variables = {"n": 3, "env": "dev"}
    docs, problems = load_text(
        "a: ${n}\nb: topic.${env}.x\nc: $${n}\nd: ${envv}\n", "f.yaml", variables=variables
    )
    assert docs[0].data["a"] == 3
    assert docs[0].data["b"] == "topic.dev.x"
    assert docs[0].data["c"] == "${n}"
    assert [(p.code, str(p.location)) for p in problems] == [(Code.VARIABLE, "f.yaml:4:4")]
    assert "did you mean '${env}'" in (problems[0].help or "")


def test_anchors_are_shared_not_copied() -> None:
    docs, problems = load_text("a: &x {k: v}\nb: *x\n", "f.yaml")
    assert problems == []
    assert docs[0].data["b"] is docs[0].data["a"]


def test_oversized_file_is_rejected_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:  # sparse: no disk space used
        handle.truncate(40 * 1024 * 1024)
    docs, problems = load_file(path, "big.yaml")
    assert docs == []
    assert problems[0].code is Code.FILE and "too large" in problems[0].message


# --- JSON Schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_published_schemas_are_valid_draft_2020_12(kind: str) -> None:
    jsonschema.Draft202012Validator.check_schema(kind_schema(kind))


def test_combined_schema_is_valid_and_dispatches_on_kind() -> None:
    schema = combined_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "apiVersion": "evtctl/v1",
        "kind": "Topic",
        "metadata": {"name": "a.b"},
        "spec": {"partitions": 1},
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "spec": {"partitions": "x"}})


def _reference_documents() -> list[tuple[str, PosMap]]:
    docs: list[tuple[str, PosMap]] = []
    for path in sorted((REPO_ROOT / "topology").rglob("*.yaml")):
        found, problems = load_file(
            path, str(path), variables={"replicas": 3, "minInsync": 2, "orderRetention": "7d"}
        )
        assert problems == []
        docs.extend((d.data["kind"], d.data) for d in found)
    return docs


def _mutations(doc: PosMap) -> list[dict[str, object]]:
    """Variants of a valid document: wrong types, unknown fields, missing fields, bad enums."""
    plain = json.loads(json.dumps(doc))
    out: list[dict[str, object]] = []
    for key in list(plain.get("spec") or {}):
        for bad in ("x", 0, -1, True, None, [], {}, 1.5):
            variant = json.loads(json.dumps(plain))
            variant["spec"][key] = bad
            out.append(variant)
    out.append({**plain, "extra": 1})
    out.append({k: v for k, v in plain.items() if k != "metadata"})
    out.append({**plain, "metadata": {**plain["metadata"], "name": "has space"}})
    out.append({**plain, "metadata": {**plain["metadata"], "classification": "secret"}})
    out.append({**plain, "apiVersion": "evtctl/v0"})
    return out


def test_compiled_precheck_agrees_with_jsonschema() -> None:
    checked = 0
    for kind, doc in _reference_documents():
        fast = compile_schema(kind_schema(kind))
        slow = jsonschema.Draft202012Validator(kind_schema(kind))
        assert fast(doc) and slow.is_valid(doc)
        for variant in _mutations(doc):
            assert fast(variant) == slow.is_valid(variant), (kind, variant)
            checked += 1
    assert checked > 500


def test_compiler_refuses_keywords_it_does_not_implement() -> None:
    with pytest.raises(UnsupportedKeyword):
        compile_schema({"type": "object", "oneOf": [{"type": "object"}]})


def test_unknown_fields_suggest_the_closest_and_the_rest_is_still_checked() -> None:
    docs, _ = load_text(
        "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec:\n  partitons: 3\n  partitions: 3\n",
        "t.yaml",
    )
    problems, usable = check_document("Topic", "t.yaml", docs[0].data)
    assert [(p.code, str(p.location), p.help) for p in problems] == [
        (Code.UNKNOWN_FIELD, "t.yaml:5:3", "did you mean 'partitions'?")
    ]
    assert usable  # the typo is dropped, the document is still built


# --- The reference workspace -------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> object:
    return load_workspace(REPO_ROOT)


def test_reference_workspace_loads_clean(reference: object) -> None:
    from evtctl.manifest.model import Workspace

    assert isinstance(reference, Workspace)
    assert {t.name for t in reference.tenants} == {"retail", "logistics"}
    orders = reference.topic("retail.orders.created")
    assert orders is not None and orders.tenant == "retail"
    assert orders.configs["retention.ms"] == str(14 * 86_400_000)  # ${orderRetention} = 14d
    assert orders.replication_factor == 3
    customers = reference.topic("retail.customers")
    assert customers is not None and customers.compacted
    binding = reference.bindings_for("retail.customers")[0]
    assert binding.key is not None and binding.value is not None
    assert binding.key.subject == "retail.customers-key"
    assert binding.key.record_name == "com.example.retail.customers.CustomerKey"
    formats = {ref.format for b in reference.subjects for _, ref in b.sides()}
    assert formats == {SchemaFormat.AVRO, SchemaFormat.PROTOBUF, SchemaFormat.JSON}


def test_derived_acls_follow_the_service_declarations(reference: object) -> None:
    from evtctl.manifest.model import Workspace

    assert isinstance(reference, Workspace)
    payment = reference.service("payment-service")
    assert payment is not None and payment.delivery is DeliveryGuarantee.EFFECTIVELY_ONCE
    derived = {
        (a.resource_type, a.resource_name, a.operation)
        for a in reference.acls
        if a.origin == "Service/payment-service"
    }
    assert (ResourceType.TOPIC, "retail.payments.completed", Operation.WRITE) in derived
    assert (ResourceType.TOPIC, "retail.orders.created", Operation.READ) in derived
    assert (ResourceType.GROUP, "retail.payment-service", Operation.READ) in derived
    assert (ResourceType.TOPIC, "retail.payments.dlq", Operation.WRITE) in derived
    assert (ResourceType.CLUSTER, "kafka-cluster", Operation.IDEMPOTENT_WRITE) in derived
    assert (ResourceType.TRANSACTIONAL_ID, "retail.payment-service", Operation.WRITE) in derived
    mine = [a for a in reference.acls if a.origin == "Service/payment-service"]
    assert all(a.derived and a.principal == "User:payment-service" for a in mine)
    explicit = [a for a in reference.acls if not a.derived]
    assert explicit and all(a.origin == "AccessPolicy/retail-ops-describe" for a in explicit)
    # Every derived entry points back at the declaration that caused it.
    assert all(a.location.file and a.location.line for a in reference.acls)


def test_environment_overlay_and_variables(tmp_path: Path) -> None:
    work = tmp_path / "ws"
    shutil.copytree(REPO_ROOT / "topology", work / "topology")
    shutil.copytree(REPO_ROOT / "schemas", work / "schemas")
    shutil.copy(REPO_ROOT / "evtctl.yaml", work / "evtctl.yaml")
    dev = load_workspace(work, environment="dev")
    topic = dev.topic("retail.orders.created")
    assert topic is not None
    assert (topic.partitions, topic.replication_factor) == (1, 1)
    assert topic.configs["retention.ms"] == "86400000"
    # The overlaid value points into evtctl.yaml, where it came from.
    assert topic.at("spec", "partitions").file is not None
    assert topic.at("spec", "partitions").file.endswith("evtctl.yaml")
    prod = load_workspace(work, environment="prod")
    prod_orders, prod_customers = prod.topic("retail.orders.created"), prod.topic("retail.customers")
    assert prod_orders is not None and prod_customers is not None
    assert prod_orders.partitions == 24 and prod_customers.partitions == 6  # names glob


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        {
            "topology/a.yaml": (
                "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec:\n  partitions: 0\n---\n"
                "apiVersion: evtctl/v1\nkind: Service\nmetadata: {name: s}\nspec:\n  consumes: [a.c]\n"
            ),
            "topology/b.yaml": "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\n"
            "spec: {partitions: 1}\n",
        },
    )
    with pytest.raises(WorkspaceInvalid) as info:
        load_workspace(ws)
    codes = sorted(p.code.value for p in info.value.problems)
    assert codes == sorted([Code.VALUE.value, Code.REFERENCE.value])
    # The invalid topic a.b is not reported again as a duplicate of the valid one, nor as dangling.
    assert len(info.value.problems) == 2


def test_references_to_invalid_resources_do_not_cascade(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        {
            "topology/a.yaml": (
                "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: a.b}\nspec: {partitions: x}\n---\n"
                "apiVersion: evtctl/v1\nkind: Service\nmetadata: {name: s}\nspec: {produces: [a.b]}\n"
            )
        },
    )
    _, problems = check_workspace(ws)
    assert [p.code for p in problems] == [Code.TYPE]


def test_tenant_ownership_and_read_grants(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        {
            "topology/a.yaml": (
                "apiVersion: evtctl/v1\nkind: Tenant\nmetadata: {name: shop}\n"
                "spec: {prefixes: [shop.], readGrants: [{tenant: ship, topics: [shop.orders]}]}\n---\n"
                "apiVersion: evtctl/v1\nkind: Tenant\nmetadata: {name: ship}\n"
                "spec: {prefixes: [ship., shop.eu.]}\n---\n"
                "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: shop.orders}\n"
                "spec: {partitions: 1}\n---\n"
                "apiVersion: evtctl/v1\nkind: Topic\nmetadata: {name: shop.eu.orders}\n"
                "spec: {partitions: 1}\n"
            )
        },
    )
    workspace = load_workspace(ws)
    owners = {t.name: t.tenant for t in workspace.topics}
    assert owners == {"shop.orders": "shop", "shop.eu.orders": "ship"}  # longest prefix wins
    shop = workspace.tenant("shop")
    assert shop is not None and shop.read_grants[0].covers("shop.orders")
    assert not shop.read_grants[0].covers("shop.payments")


def test_managed_scope_decides_what_may_be_deleted() -> None:
    scope = ManagedScope(tenant_prefixes=("shop.",), exclude={"Topic": ("shop.legacy.*",)})
    assert scope.covers("Topic", "shop.orders")
    assert not scope.covers("Topic", "shop.legacy.x")
    assert not scope.covers("Topic", "other.orders")
    assert not ManagedScope().covers("Topic", "shop.orders")
    explicit = ManagedScope(include={"Topic": ("a.*",)})
    assert explicit.covers("Topic", "a.b") and not explicit.covers("Topic", "b.a")


def test_every_kind_has_a_builder_and_a_spec() -> None:
    from evtctl.manifest.model import Kind

    assert set(SPECS) == {k.value for k in Kind}


def test_model_is_frozen(reference: object) -> None:
    from dataclasses import FrozenInstanceError

    from evtctl.manifest.model import Workspace

    assert isinstance(reference, Workspace)
    topic = reference.topics[0]
    assert isinstance(topic, Topic)
    with pytest.raises(FrozenInstanceError):
        topic.partitions = 99  # type: ignore[misc]


def test_environment_documents_in_their_own_directory() -> None:
    example = REPO_ROOT / "examples" / "environments"
    base = load_workspace(example)
    assert base.config.environments == ("dev", "prod", "staging")
    prod = load_workspace(example, environment="prod")
    readings = prod.topic("iot.telemetry.readings")
    assert readings is not None
    assert readings.partitions == 48 and readings.configs["compression.type"] == "zstd"
    assert readings.configs["retention.ms"] == str(30 * 86_400_000)
    dev = load_workspace(example, environment="dev")
    alerts = dev.topic("iot.alerts.raised")
    assert alerts is not None and (alerts.partitions, alerts.replication_factor) == (1, 1)
    assert dev.config.context().environment == "dev"
    prod_context = dev.config.context("prod")
    assert prod_context.security.password_env == "KAFKA_PASSWORD"
    assert prod_context.bootstrap_servers == ("kafka-1:9093", "kafka-2:9093", "kafka-3:9093")
    assert dev.config.managed.covers("Topic", "iot.alerts.raised")
    assert not dev.config.managed.covers("Topic", "iot.legacy.old")
