"""Generated models: names, types, defaults, and round trips through the real encoders."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import importlib
import io
import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import fastavro
import pytest

from evtctl.codegen.models import AvroModels, JsonModels, ModelSet
from evtctl.errors import InputError
from tests.codegen.gen import SHOP, generate_and_import


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    pkg = generate_and_import(SHOP, tmp_path_factory.mktemp("gen"), package="shop_models_test")
    return importlib.import_module(f"{pkg.__name__}.models")


def _order(models: ModuleType, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "order_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "customer_id": "c-1",
        "total": decimal.Decimal("12.50"),
        "placed_at": datetime.datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=datetime.UTC),
        "lines": [models.OrderLine(sku="A-1", quantity=2, unit_price=decimal.Decimal("6.25"))],
        "marker": models.Marker(),
    }
    values.update(changes)
    return models.OrderCreated(**values)


def test_names_come_from_the_schemas_and_manifests(shop: ModuleType) -> None:
    names = {n for n, v in vars(shop).items() if isinstance(v, type) and v.__module__ == shop.__name__}
    assert names == {
        "Address",
        "CustomerKey",
        "CustomerUpdated",
        "CustomerUpdatedAddress",
        "CustomerUpdatedTier",
        "Marker",
        "OrderCreated",
        "OrderLine",
        "OrderStatus",
        "Preferences",
    }


def test_records_are_frozen_slotted_dataclasses(shop: ModuleType) -> None:
    order = _order(shop)
    assert dataclasses.is_dataclass(order) and not hasattr(order, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.customer_id = "other"
    assert issubclass(shop.OrderStatus, enum.Enum)
    assert [m.value for m in shop.OrderStatus] == ["PLACED", "PAID", "CANCELLED"]


def test_defaults_optionals_and_reserved_words(shop: ModuleType) -> None:
    order = _order(shop)
    assert order.status is shop.OrderStatus.PLACED
    assert order.class_ == "standard" and order.to_dict()["class"] == "standard"
    assert order.delivery_date is None and order.shipping is None and order.note is None
    assert order.tags == {} and order.tags is not _order(shop).tags  # a fresh dict per instance
    hints = shop.OrderCreated.__annotations__
    assert hints["total"] == "decimal.Decimal" and hints["placed_at"] == "datetime.datetime"
    assert hints["order_id"] == "uuid.UUID" and hints["delivery_date"] == "datetime.date | None"


def test_avro_round_trip_with_logical_types(shop: ModuleType) -> None:
    schema = fastavro.parse_schema(json.loads((SHOP / "schemas/order_created.avsc").read_text()))
    order = _order(
        shop,
        status=shop.OrderStatus.PAID,
        delivery_date=datetime.date(2024, 5, 3),
        shipping=shop.Address(street="Main 1", city="Utrecht"),
        tags={"channel": "web"},
        note="leave at door",
        class_="express",
    )
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, order.to_dict())
    buf.seek(0)
    decoded = shop.OrderCreated.from_dict(fastavro.schemaless_reader(buf, schema, schema))
    assert decoded == order


def test_avro_reader_projection_tolerates_unknown_fields(shop: ModuleType) -> None:
    newer = json.loads((SHOP / "schemas/order_created.avsc").read_text())
    newer["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None})
    writer = fastavro.parse_schema(newer, named_schemas={})
    reader = fastavro.parse_schema(
        json.loads((SHOP / "schemas/order_created.avsc").read_text()), named_schemas={}
    )
    data = {**_order(shop).to_dict(), "coupon": "SPRING"}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, data)
    buf.seek(0)
    assert shop.OrderCreated.from_dict(fastavro.schemaless_reader(buf, writer, reader)) == _order(shop)


def test_json_round_trip_omits_unset_optionals(shop: ModuleType) -> None:
    import jsonschema

    customer = shop.CustomerUpdated(
        customerId="c-1",
        email="a@example.com",
        tier=shop.CustomerUpdatedTier.gold,
        signedUpAt=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        address=shop.CustomerUpdatedAddress(city="Leiden"),
        from_="ads",
        preferences=shop.Preferences(channels=["sms"]),
    )
    data = customer.to_dict()
    jsonschema.validate(data, json.loads((SHOP / "schemas/customer.json").read_text()))
    assert data["from"] == "ads" and "zip" not in data["address"] and data["loyaltyPoints"] == 0
    text = json.dumps(data)
    assert shop.CustomerUpdated.from_dict({**json.loads(text), "unknown": 1}) == customer


def test_empty_record(shop: ModuleType) -> None:
    assert shop.Marker().to_dict() == {} and shop.Marker.from_dict({"extra": 1}) == shop.Marker()


def test_conflicting_definitions_of_one_name_are_rejected() -> None:
    models = ModelSet()
    avro = AvroModels(models)
    avro.top_level({"type": "record", "name": "a.X", "fields": [{"name": "f", "type": "int"}]}, "one.avsc")
    avro.top_level({"type": "record", "name": "b.X", "fields": [{"name": "g", "type": "int"}]}, "two.avsc")
    assert set(models.classes) == {"X", "BX"}  # the second one is qualified by its namespace
    with pytest.raises(InputError, match="clash"):
        AvroModels(models).top_level(
            {"type": "record", "name": "b.X", "fields": [{"name": "h", "type": "int"}]}, "three.avsc"
        )


def test_json_schema_without_title_uses_the_given_name(tmp_path: Path) -> None:
    models = ModelSet()
    t = JsonModels(models).top_level(
        {
            "type": "object",
            "properties": {"line": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        },
        name="OrderPlaced",
        origin="x.json",
    )
    assert t.annotation == "OrderPlaced" and set(models.classes) == {"OrderPlaced", "OrderPlacedLine"}


def test_avro_round_trip_property(shop: ModuleType) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    schema = fastavro.parse_schema(json.loads((SHOP / "schemas/order_created.avsc").read_text()))
    int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)

    def money(digits: int) -> st.SearchStrategy[decimal.Decimal]:
        bound = decimal.Decimal(10 ** (digits - 2)) - decimal.Decimal("0.01")
        return st.decimals(min_value=-bound, max_value=bound, places=2, allow_nan=False, allow_infinity=False)

    millis = st.datetimes(
        min_value=datetime.datetime(1970, 1, 1),
        max_value=datetime.datetime(2200, 1, 1),
        timezones=st.just(datetime.UTC),
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
    orders = st.builds(
        shop.OrderCreated,
        order_id=st.uuids(),
        customer_id=st.text(),
        status=st.sampled_from(list(shop.OrderStatus)),
        total=money(12),
        placed_at=millis,
        delivery_date=st.none() | st.dates(),
        class_=st.text(),
        lines=st.lists(
            st.builds(shop.OrderLine, sku=st.text(), quantity=int32, unit_price=money(10)), max_size=3
        ),
        shipping=st.none() | st.builds(shop.Address, street=st.text(), city=st.text(), country=st.text()),
        tags=st.dictionaries(st.text(), st.text(), max_size=3),
        marker=st.just(shop.Marker()),
        note=st.none() | st.text(),
    )

    @settings(max_examples=60, deadline=None)
    @given(orders)
    def round_trip(order: Any) -> None:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, order.to_dict())
        buf.seek(0)
        assert shop.OrderCreated.from_dict(fastavro.schemaless_reader(buf, schema, schema)) == order

    round_trip()
