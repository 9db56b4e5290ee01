"""The REST surface against a real registry process: every endpoint, its error codes and delete rules."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import descriptor_pb2

from tests.registry.support import RegistryProcess

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def record(name: str, *fields: tuple[str, Any], default: dict[str, Any] | None = None) -> str:
    out = []
    for fname, ftype in fields:
        f: dict[str, Any] = {"name": fname, "type": ftype}
        if default and fname in default:
            f["default"] = default[fname]
        out.append(f)
    return json.dumps({"type": "record", "name": name, "fields": out})


V1 = record("Order", ("id", "string"))
V2 = record("Order", ("id", "string"), ("qty", "int"), default={"qty": 1})
V2_NO_DEFAULT = record("Order", ("id", "string"), ("qty", "int"))


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("[", "-").replace("]", "") + "-value"


def post(http: httpx.Client, path: str, body: Any, **params: str) -> httpx.Response:
    return http.post(path, content=json.dumps(body), headers=CT, params=params)


def register(http: httpx.Client, subject: str, schema: str, **extra: Any) -> httpx.Response:
    return post(http, f"/subjects/{subject}/versions", {"schema": schema, **extra})


def error(resp: httpx.Response, status: int, code: int) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def test_root_types_and_contexts(http: httpx.Client) -> None:
    assert http.get("/").json() == {}
    assert sorted(http.get("/schemas/types").json()) == ["AVRO", "JSON", "PROTOBUF"]
    assert http.get("/contexts").json() == ["."]


def test_register_is_idempotent_and_ids_are_shared_across_subjects(http: httpx.Client, subject: str) -> None:
    first = register(http, subject, V1)
    assert first.status_code == 200, first.text
    schema_id = first.json()["id"]
    assert register(http, subject, V1).json() == {"id": schema_id}
    # whitespace and key order do not make a new schema
    spaced = json.dumps(json.loads(V1), indent=4)
    assert register(http, subject, spaced).json()["id"] == schema_id
    assert register(http, subject + "-copy", V1).json()["id"] == schema_id
    assert http.get(f"/subjects/{subject}/versions").json() == [1]
    other = register(http, subject, V2).json()["id"]
    assert other != schema_id
    assert http.get(f"/subjects/{subject}/versions").json() == [1, 2]
    assert sorted(http.get(f"/schemas/ids/{schema_id}/subjects").json()) == sorted(
        [subject, subject + "-copy"]
    )
    versions = http.get(f"/schemas/ids/{schema_id}/versions").json()
    assert {"subject": subject, "version": 1} in versions
    assert {"subject": subject + "-copy", "version": 1} in versions


def test_get_versions_latest_and_schema(http: httpx.Client, subject: str) -> None:
    id1 = register(http, subject, V1).json()["id"]
    id2 = register(http, subject, V2).json()["id"]
    v1 = http.get(f"/subjects/{subject}/versions/1").json()
    assert (v1["subject"], v1["version"], v1["id"]) == (subject, 1, id1)
    assert json.loads(v1["schema"]) == json.loads(V1)
    assert "schemaType" not in v1 and "references" not in v1  # Confluent leaves them out for AVRO
    for alias in ("latest", "-1"):
        latest = http.get(f"/subjects/{subject}/versions/{alias}").json()
        assert (latest["version"], latest["id"]) == (2, id2)
    raw = http.get(f"/subjects/{subject}/versions/2/schema")
    assert json.loads(raw.text) == json.loads(V2)
    by_id = http.get(f"/schemas/ids/{id2}").json()
    assert json.loads(by_id["schema"]) == json.loads(V2)
    assert json.loads(http.get(f"/schemas/ids/{id2}/schema").text) == json.loads(V2)
    assert http.get(f"/schemas/ids/{id2}", params={"fetchMaxId": "true"}).json()["maxId"] >= id2
    by_guid = http.get(f"/schemas/guids/{latest['guid']}").json()
    assert json.loads(by_guid["schema"]) == json.loads(V2)
    assert http.head(f"/subjects/{subject}/versions/1").status_code == 200
    listed = http.get("/schemas", params={"subjectPrefix": subject, "latestOnly": "true"}).json()
    assert [(s["subject"], s["version"]) for s in listed] == [(subject, 2)]


@pytest.mark.parametrize("bad", ["0", "abc", "2147483648", "-2", "1.5"])
def test_invalid_version_ids(http: httpx.Client, subject: str, bad: str) -> None:
    register(http, subject, V1)
    error(http.get(f"/subjects/{subject}/versions/{bad}"), 422, 42202)


def test_not_found_codes(http: httpx.Client, subject: str) -> None:
    error(http.get(f"/subjects/{subject}/versions"), 404, 40401)
    error(http.get(f"/subjects/{subject}/versions/1"), 404, 40401)
    register(http, subject, V1)
    error(http.get(f"/subjects/{subject}/versions/7"), 404, 40402)
    error(http.get("/schemas/ids/987654"), 404, 40403)
    error(http.get("/schemas/ids/987654/subjects"), 404, 40403)
    error(http.get("/schemas/guids/no-such-guid"), 404, 40403)
    error(http.get(f"/subjects/{subject}/versions/7/referencedby"), 404, 40402)


def test_lookup(http: httpx.Client, subject: str) -> None:
    error(post(http, f"/subjects/{subject}", {"schema": V1}), 404, 40401)
    schema_id = register(http, subject, V1).json()["id"]
    found = post(http, f"/subjects/{subject}", {"schema": V1})
    assert found.status_code == 200
    body = found.json()
    assert (body["subject"], body["version"], body["id"]) == (subject, 1, schema_id)
    assert json.loads(body["schema"]) == json.loads(V1)
    error(post(http, f"/subjects/{subject}", {"schema": V2}), 404, 40403)
    # a soft-deleted subject is only found with deleted=true
    assert http.delete(f"/subjects/{subject}").json() == [1]
    error(post(http, f"/subjects/{subject}", {"schema": V1}), 404, 40401)
    assert post(http, f"/subjects/{subject}", {"schema": V1}, deleted="true").json()["id"] == schema_id


def test_incompatible_registration_is_409_with_field_level_reason(http: httpx.Client, subject: str) -> None:
    register(http, subject, V1)
    message = error(register(http, subject, V2_NO_DEFAULT), 409, 409)
    assert "qty" in message
    verbose = post(
        http, f"/compatibility/subjects/{subject}/versions/latest", {"schema": V2_NO_DEFAULT}, verbose="true"
    ).json()
    assert verbose["is_compatible"] is False
    assert verbose["messages"] and any("qty" in m for m in verbose["messages"])
    ok = post(http, f"/compatibility/subjects/{subject}/versions/1", {"schema": V2}, verbose="true").json()
    assert ok == {"is_compatible": True, "messages": []}
    assert post(http, f"/compatibility/subjects/{subject}/versions", {"schema": V2}).json() == {
        "is_compatible": True
    }
    error(post(http, f"/compatibility/subjects/{subject}/versions/9", {"schema": V2}), 404, 40402)
    # nothing registered: nothing to be incompatible with
    fresh = post(http, f"/compatibility/subjects/{subject}-none/versions/latest", {"schema": V1}).json()
    assert fresh == {"is_compatible": True}


def test_transitive_levels_check_every_version(http: httpx.Client, subject: str) -> None:
    a = record("T", ("a", "string"))
    ab = record("T", ("a", "string"), ("b", "int"), default={"a": "", "b": 0})
    b_only = record("T", ("b", "int"), default={"b": 0})
    assert (
        http.put(
            f"/config/{subject}", content=json.dumps({"compatibility": "FORWARD"}), headers=CT
        ).status_code
        == 200
    )
    register(http, subject, a)
    register(http, subject, ab)
    # FORWARD: old readers read new data; dropping 'a' (no default) breaks the v1 reader only
    assert post(http, f"/compatibility/subjects/{subject}/versions/latest", {"schema": b_only}).json()[
        "is_compatible"
    ]
    http.put(f"/config/{subject}", content=json.dumps({"compatibility": "FORWARD_TRANSITIVE"}), headers=CT)
    result = post(
        http, f"/compatibility/subjects/{subject}/versions", {"schema": b_only}, verbose="true"
    ).json()
    assert result["is_compatible"] is False and result["messages"]
    error(register(http, subject, b_only), 409, 409)
    http.put(f"/config/{subject}", content=json.dumps({"compatibility": "NONE"}), headers=CT)
    assert register(http, subject, b_only).status_code == 200


def test_subject_config(http: httpx.Client, subject: str) -> None:
    assert http.get("/config").json()["compatibilityLevel"] == "BACKWARD"
    error(http.get(f"/config/{subject}"), 404, 40408)
    assert (
        http.get(f"/config/{subject}", params={"defaultToGlobal": "true"}).json()["compatibilityLevel"]
        == "BACKWARD"
    )
    put = http.put(f"/config/{subject}", content=json.dumps({"compatibility": "full_transitive"}), headers=CT)
    assert put.json() == {"compatibility": "FULL_TRANSITIVE"}
    assert http.get(f"/config/{subject}").json()["compatibilityLevel"] == "FULL_TRANSITIVE"
    error(
        http.put(f"/config/{subject}", content=json.dumps({"compatibility": "SIDEWAYS"}), headers=CT),
        422,
        42203,
    )
    error(http.put("/config", content=json.dumps({"compatibility": 7}), headers=CT), 422, 42203)
    assert http.delete(f"/config/{subject}").json()["compatibilityLevel"] == "FULL_TRANSITIVE"
    error(http.get(f"/config/{subject}"), 404, 40408)
    error(http.delete(f"/config/{subject}-never"), 404, 40401)
    # the global level: set, then DELETE restores the default and answers the old one
    assert http.put("/config", content=json.dumps({"compatibility": "NONE"}), headers=CT).status_code == 200
    assert http.delete("/config").json()["compatibilityLevel"] == "NONE"
    assert http.get("/config").json()["compatibilityLevel"] == "BACKWARD"


def test_soft_then_permanent_version_delete(http: httpx.Client, subject: str) -> None:
    # schemas only this test registers, so the id is free once its one version is gone
    own_v1 = record("OnlyHere", ("id", "string"))
    own_v2 = record("OnlyHere", ("id", "string"), ("n", "int"), default={"n": 0})
    id1 = register(http, subject, own_v1).json()["id"]
    register(http, subject, own_v2)
    error(http.delete(f"/subjects/{subject}/versions/1", params={"permanent": "true"}), 404, 40407)
    assert http.delete(f"/subjects/{subject}/versions/1").json() == 1
    error(http.get(f"/subjects/{subject}/versions/1"), 404, 40402)
    assert http.get(f"/subjects/{subject}/versions/1", params={"deleted": "true"}).json()["id"] == id1
    assert http.get(f"/subjects/{subject}/versions").json() == [2]
    assert http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}).json() == [1, 2]
    assert http.get(f"/subjects/{subject}/versions", params={"deletedOnly": "true"}).json() == [1]
    error(http.delete(f"/subjects/{subject}/versions/1"), 404, 40406)
    # soft-deleted schemas stay readable by id: consumers still need old writer schemas
    assert http.get(f"/schemas/ids/{id1}").status_code == 200
    assert http.delete(f"/subjects/{subject}/versions/1", params={"permanent": "true"}).json() == 1
    error(http.get(f"/subjects/{subject}/versions/1", params={"deleted": "true"}), 404, 40402)
    error(http.get(f"/schemas/ids/{id1}"), 404, 40403)
    error(http.delete(f"/subjects/{subject}/versions/1", params={"permanent": "true"}), 404, 40402)
    assert http.delete(f"/subjects/{subject}/versions/latest").json() == 2


def test_soft_then_permanent_subject_delete(http: httpx.Client, subject: str) -> None:
    error(http.delete(f"/subjects/{subject}"), 404, 40401)
    id1 = register(http, subject, V1).json()["id"]
    register(http, subject, V2)
    http.put(f"/config/{subject}", content=json.dumps({"compatibility": "NONE"}), headers=CT)
    error(http.delete(f"/subjects/{subject}", params={"permanent": "true"}), 404, 40405)
    assert http.delete(f"/subjects/{subject}").json() == [1, 2]
    error(http.delete(f"/subjects/{subject}"), 404, 40404)
    assert subject not in http.get("/subjects").json()
    assert subject in http.get("/subjects", params={"deleted": "true"}).json()
    assert subject in http.get("/subjects", params={"deletedOnly": "true"}).json()
    error(http.get(f"/subjects/{subject}/versions"), 404, 40401)
    # registering again continues the version numbers, reuses the id and (as Confluent) replaces
    # the soft-deleted version that held the same schema
    again = register(http, subject, V1).json()["id"]
    assert again == id1
    assert http.get(f"/subjects/{subject}/versions").json() == [3]
    assert http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}).json() == [2, 3]
    assert http.delete(f"/subjects/{subject}").json() == [3]
    assert http.delete(f"/subjects/{subject}", params={"permanent": "true"}).json() == [2, 3]
    error(http.get(f"/subjects/{subject}/versions", params={"deleted": "true"}), 404, 40401)
    assert subject not in http.get("/subjects", params={"deleted": "true"}).json()
    error(http.get(f"/config/{subject}"), 404, 40408)  # permanent delete drops the subject's config
    assert register(http, subject, V1).json()["id"] == id1
    assert http.get(f"/subjects/{subject}/versions").json() == [1]


def test_references_and_referencedby(http: httpx.Client, subject: str) -> None:
    base_subject = subject + "-money"
    money = json.dumps(
        {
            "type": "record",
            "name": "Money",
            "namespace": "shop",
            "fields": [{"name": "cents", "type": "long"}],
        }
    )
    base_id = register(http, base_subject, money).json()["id"]
    order = json.dumps(
        {
            "type": "record",
            "name": "Order",
            "namespace": "shop",
            "fields": [{"name": "total", "type": "shop.Money"}],
        }
    )
    refs = [{"name": "shop.Money", "subject": base_subject, "version": 1}]
    error(register(http, subject, order), 422, 42201)  # unknown type without the reference
    order_id = register(http, subject, order, references=refs).json()["id"]
    assert order_id != base_id
    got = http.get(f"/subjects/{subject}/versions/latest").json()
    assert got["references"] == refs
    assert http.get(f"/schemas/ids/{order_id}").json()["references"] == refs
    assert http.get(f"/subjects/{base_subject}/versions/1/referencedby").json() == [order_id]
    assert post(http, f"/subjects/{subject}", {"schema": order, "references": refs}).json()["id"] == order_id
    # a referenced version cannot be deleted
    error(http.delete(f"/subjects/{base_subject}/versions/1"), 422, 42206)
    error(http.delete(f"/subjects/{base_subject}"), 422, 42206)
    assert http.delete(f"/subjects/{subject}").json() == [1]
    error(http.delete(f"/subjects/{base_subject}", params={"permanent": "true"}), 404, 40405)
    assert http.delete(f"/subjects/{base_subject}").json() == [1]
    # the soft-deleted referrer still pins the base for a permanent delete
    error(http.delete(f"/subjects/{base_subject}", params={"permanent": "true"}), 422, 42206)


def test_reference_to_missing_or_own_future_version(http: httpx.Client, subject: str) -> None:
    refs = [{"name": "shop.Money", "subject": subject + "-nothere", "version": 1}]
    msg = error(register(http, subject, V1, references=refs), 422, 42201)
    assert "nothere" in msg
    # a schema cannot reference the version it is about to become (the only way to form a cycle)
    own = [{"name": "self", "subject": subject, "version": 1}]
    error(register(http, subject, V1, references=own), 422, 42201)
    error(register(http, subject, V1, references="nope"), 422, 422)
    error(register(http, subject, V1, references=[{"name": "x"}]), 422, 422)
    assert http.get("/subjects").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"schema": "{not json"}, 422, 42201),
        (
            {
                "schema": json.dumps(
                    {"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}
                )
            },
            422,
            42201,
        ),
        ({"schema": "{}", "schemaType": "XML"}, 422, 42201),
        ({"schema": 'syntax = "proto3"; message {', "schemaType": "PROTOBUF"}, 422, 42201),
        ({"schema": '{"type": 12}', "schemaType": "JSON"}, 422, 42201),
        ({"schema": 5}, 422, 422),
        ({"schemaType": "AVRO"}, 422, 422),
    ],
)
def test_invalid_schemas(
    http: httpx.Client, subject: str, body: dict[str, Any], status: int, code: int
) -> None:
    error(post(http, f"/subjects/{subject}/versions", body), status, code)
    error(http.get(f"/subjects/{subject}/versions"), 404, 40401)  # nothing was stored


def test_malformed_bodies_and_media_types(http: httpx.Client, subject: str) -> None:
    error(http.post(f"/subjects/{subject}/versions", content=b"{bad json", headers=CT), 400, 400)
    error(http.post(f"/subjects/{subject}/versions", content=b"[1,2]", headers=CT), 422, 422)
    error(http.post(f"/subjects/{subject}/versions", content=b"\xff\xfe", headers=CT), 400, 400)
    error(
        http.post(
            f"/subjects/{subject}/versions",
            content=json.dumps({"schema": V1}),
            headers={"Content-Type": "text/xml"},
        ),
        415,
        415,
    )
    error(http.get("/subjects", headers={"Accept": "text/html"}), 406, 406)
    error(http.get("/no/such/path"), 404, 404)
    error(http.request("PATCH", "/subjects"), 405, 405)
    for content_type in (
        "application/json",
        "application/octet-stream",
        "application/vnd.schemaregistry+json",
    ):
        resp = http.post(
            f"/subjects/{subject}/versions",
            content=json.dumps({"schema": V1}),
            headers={"Content-Type": content_type},
        )
        assert resp.status_code == 200, (content_type, resp.text)


def test_response_content_types(http: httpx.Client) -> None:
    assert http.get("/subjects").headers["content-type"].startswith("application/vnd.schemaregistry.v1+json")
    resp = http.get("/subjects", headers={"Accept": "application/json"})
    assert resp.headers["content-type"].startswith("application/json")
    resp = http.get(
        "/subjects", headers={"Accept": "application/vnd.schemaregistry+json, application/json; q=0.5"}
    )
    assert resp.headers["content-type"].startswith("application/vnd.schemaregistry+json")


def test_huge_bodies_are_refused_and_registry_keeps_serving(http: httpx.Client, subject: str) -> None:
    huge = b'{"schema": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    resp = http.post(f"/subjects/{subject}/versions", content=huge, headers=CT)
    error(resp, 413, 413)
    big_schema = json.dumps({"type": "enum", "name": "E", "symbols": ["A"], "doc": "d" * (5 * 1024 * 1024)})
    error(register(http, subject, big_schema), 422, 42201)
    assert register(http, subject, V1).status_code == 200


def test_protobuf_text_and_serialized_forms(http: httpx.Client, subject: str) -> None:
    proto = (
        'syntax = "proto3";\npackage shop;\n\n'
        "message Order {\n  string id = 1;\n  repeated int32 qty = 2;\n}\n"
    )
    schema_id = register(http, subject, proto, schemaType="PROTOBUF").json()["id"]
    got = http.get(f"/subjects/{subject}/versions/1").json()
    assert got["schemaType"] == "PROTOBUF" and "message Order" in got["schema"]
    serialized = http.get(f"/schemas/ids/{schema_id}", params={"format": "serialized"}).json()["schema"]
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.ParseFromString(base64.b64decode(serialized))
    assert fdp.package == "shop"
    assert [f.name for f in fdp.message_type[0].field] == ["id", "qty"]
    # Confluent's Python serializer registers the base64 descriptor: same schema, same id
    again = register(http, subject + "-b64", serialized, schemaType="PROTOBUF").json()["id"]
    assert again == schema_id
    breaking = 'syntax = "proto3";\npackage shop;\n\nmessage Order {\n  int64 id = 1;\n}\n'
    msg = error(register(http, subject, breaking, schemaType="PROTOBUF"), 409, 409)
    assert "id" in msg


def test_protobuf_bundled_imports_need_no_references(http: httpx.Client, subject: str) -> None:
    proto = (
        'syntax = "proto3";\npackage shop;\n\nimport "confluent/meta.proto";\n'
        'import "confluent/type/decimal.proto";\nimport "google/type/money.proto";\n\n'
        "message Line {\n"
        '  string sku = 1 [(confluent.field_meta).doc = "stock keeping unit"];\n'
        "  confluent.type.Decimal amount = 2;\n"
        "  google.type.Money price = 3;\n"
        "}\n"
    )
    schema_id = register(http, subject, proto, schemaType="PROTOBUF").json()["id"]
    serialized = http.get(f"/schemas/ids/{schema_id}", params={"format": "serialized"}).json()["schema"]
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.ParseFromString(base64.b64decode(serialized))
    assert list(fdp.dependency) == [
        "confluent/meta.proto",
        "confluent/type/decimal.proto",
        "google/type/money.proto",
    ]
    assert [f.type_name for f in fdp.message_type[0].field][1:] == [
        ".confluent.type.Decimal",
        ".google.type.Money",
    ]


def test_json_schema_registration_and_compatibility(http: httpx.Client, subject: str) -> None:
    v1 = json.dumps(
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    )
    recursive = json.dumps({"type": "object", "properties": {"next": {"$ref": "#"}}})
    assert register(http, subject, v1, schemaType="JSON").status_code == 200
    assert register(http, subject + "-rec", recursive, schemaType="JSON").status_code == 200
    narrowed = json.dumps(
        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    )
    result = post(
        http,
        f"/compatibility/subjects/{subject}/versions/latest",
        {"schema": narrowed, "schemaType": "JSON"},
        verbose="true",
    ).json()
    assert result["is_compatible"] is False and result["messages"]


def test_normalize_stores_the_canonical_form(http: httpx.Client, subject: str) -> None:
    spaced = json.dumps(json.loads(V1), indent=2)
    resp = http.post(
        f"/subjects/{subject}/versions",
        content=json.dumps({"schema": spaced}),
        headers=CT,
        params={"normalize": "true"},
    )
    schema_id = resp.json()["id"]
    stored = http.get(f"/subjects/{subject}/versions/1").json()["schema"]
    assert "\n" not in stored and json.loads(stored) == json.loads(V1)
    assert http.get(f"/schemas/ids/{schema_id}").status_code == 200


def test_modes(registry_factory: Any) -> None:
    proc: RegistryProcess = registry_factory()
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        assert http.get("/mode").json() == {"mode": "READWRITE"}
        error(http.get("/mode/s1"), 404, 40409)
        assert http.get("/mode/s1", params={"defaultToGlobal": "true"}).json() == {"mode": "READWRITE"}
        error(http.put("/mode", content=json.dumps({"mode": "SLEEPY"}), headers=CT), 422, 42204)
        # READONLY blocks writes to that subject only
        assert http.put("/mode/s1", content=json.dumps({"mode": "READONLY"}), headers=CT).json() == {
            "mode": "READONLY"
        }
        error(register(http, "s1", V1), 422, 42205)
        assert register(http, "s2", V1).status_code == 200
        assert http.delete("/mode/s1").json() == {"mode": "READONLY"}
        assert register(http, "s1", V1).status_code == 200
        # explicit ids need IMPORT mode; IMPORT needs an empty registry (or force)
        error(register(http, "s3", V2, id=100, version=1), 422, 42205)
        error(http.put("/mode", content=json.dumps({"mode": "IMPORT"}), headers=CT), 422, 42205)
        assert http.put("/mode/s3", content=json.dumps({"mode": "IMPORT"}), headers=CT).json() == {
            "mode": "IMPORT"
        }
        assert register(http, "s3", V2, id=100, version=5).json() == {"id": 100}
        assert http.get("/subjects/s3/versions/5").json()["id"] == 100
        error(register(http, "s3", V1, id=100, version=6), 422, 42205)  # id taken by another schema
        error(register(http, "s3", V2, id=101, version=6), 422, 42207)  # same schema, other id
        error(register(http, "s3", V1), 422, 42205)  # no id in IMPORT mode
        assert (
            http.put(
                "/mode", content=json.dumps({"mode": "IMPORT"}), headers=CT, params={"force": "true"}
            ).status_code
            == 200
        )
        assert http.get("/mode").json() == {"mode": "IMPORT"}
        http.put("/mode", content=json.dumps({"mode": "READWRITE"}), headers=CT)
        http.delete("/mode/s3")
        # outside IMPORT an explicit version must be the next one
        error(register(http, "s2", V2, version=5), 422, 42201)
        assert register(http, "s2", V2, version=2).status_code == 200
        # new ids continue after imported ones
        assert register(http, "s4", record("New", ("z", "int"))).json()["id"] == 101


def test_garbage_never_causes_a_server_error(http: httpx.Client, subject: str) -> None:
    """Random bodies, types and parameters on every write endpoint: always a 4xx, never a 500."""
    import random

    rng = random.Random(6)
    register(http, subject, V1)
    values: list[Any] = [
        None,
        0,
        -1,
        2**70,
        1.5,
        True,
        "",
        "x" * 300,
        [],
        {},
        [1, {"a": None}],
        "\u0000",
        "latest",
    ]
    paths = [
        f"/subjects/{subject}/versions",
        f"/subjects/{subject}",
        f"/compatibility/subjects/{subject}/versions/latest",
        f"/compatibility/subjects/{subject}/versions",
    ]
    keys = ["schema", "schemaType", "references", "id", "version", "metadata", "ruleSet"]
    for _ in range(120):
        body: Any = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, len(keys)))}
        if rng.random() < 0.3:
            body["references"] = [{k: rng.choice(values) for k in ("name", "subject", "version")}]
        if rng.random() < 0.3:
            body["schema"] = rng.choice(['"int"', "{", "[]", '{"type":"record"}', "syntax", "null", "{}"])
        params = {rng.choice(["normalize", "verbose", "deleted", "permanent"]): rng.choice(["true", "x", ""])}
        resp = http.post(rng.choice(paths), content=json.dumps(body), headers=CT, params=params)
        assert resp.status_code < 500, (body, resp.text)
        assert "error_code" in resp.json() or resp.status_code == 200
    for path in ("/config", f"/config/{subject}", "/mode", f"/mode/{subject}"):
        for value in values:
            resp = http.put(path, content=json.dumps({"compatibility": value, "mode": value}), headers=CT)
            assert resp.status_code < 500, (path, value, resp.text)
    http.put("/mode", content=json.dumps({"mode": "READWRITE"}), headers=CT)
    http.put("/config", content=json.dumps({"compatibility": "BACKWARD"}), headers=CT)
    for version in ("\u00e9", "%00", "99999999999999999999", " 1", "latest%2F"):
        assert http.get(f"/subjects/{subject}/versions/{version}").status_code < 500
        assert http.get(f"/schemas/ids/{version}").status_code < 500
    assert http.get(f"/subjects/{subject}/versions").json() == [1]


def test_concurrent_registrations_get_distinct_ids_and_versions(
    shared_registry: RegistryProcess, subject: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> tuple[int, int]:
        with httpx.Client(base_url=shared_registry.url, timeout=30.0) as c:
            own = register(c, f"{subject}-{i}", record(f"Conc{i}", ("x", "int"))).json()["id"]
            shared = register(c, f"{subject}-{i}-shared", record("ConcShared", ("y", "int"))).json()["id"]
            return own, shared

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(12)))
    own_ids = [r[0] for r in results]
    assert len(set(own_ids)) == 12  # never the same id for different schemas
    assert len({r[1] for r in results}) == 1  # one id for one schema across subjects
    assert set(own_ids).isdisjoint({results[0][1]})


def test_reference_cycle_in_stored_data_is_a_422_not_a_crash(
    tmp_path: Path, registry_factory: Callable[..., RegistryProcess]
) -> None:
    """The API cannot create a cycle (a reference must name an existing version), but an imported or
    hand-edited store can hold one: resolving it answers 42201 and the registry keeps serving."""

    def rec(subject: str, schema_id: int, ref_subject: str) -> dict[str, Any]:
        text = json.dumps(
            {"type": "record", "name": subject.upper(), "fields": [{"name": "x", "type": "int"}]}
        )
        schema = {"id": schema_id, "type": "AVRO", "text": text, "refs": [[ref_subject, ref_subject, 1]]}
        schema.update(fp=f"fp{schema_id}", guid=f"g{schema_id}")
        return {"op": "register", "subject": subject, "version": 1, "id": schema_id, "schema": schema}

    log = tmp_path / "cyc0" / "_schemas" / "registry.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(json.dumps(r) + "\n" for r in (rec("a", 1, "b"), rec("b", 2, "a"))))
    proc = registry_factory(name="cyc")
    with httpx.Client(base_url=proc.url, timeout=30.0) as http:
        assert http.get("/subjects").json() == ["a", "b"]
        message = error(register(http, "a", V1), 422, 42201)
        assert "cycle" in message
        message = error(post(http, "/compatibility/subjects/b/versions/latest", {"schema": V1}), 422, 42201)
        assert "cycle" in message
        assert http.get("/schemas/ids/1").status_code == 200
