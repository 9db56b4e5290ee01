"""evtctl.records.fast_init builds the same records as the dataclass-generated __init__ it replaces:
same signature, same field values (defaults, factories, keyword-only, inherited, init=False), still
frozen, still usable with dataclasses.replace."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from evtctl import errors
from evtctl.manifest import model
from evtctl.plan import state
from evtctl.records import fast_init


def _twins() -> list[tuple[type, type]]:
    """Pairs of identical dataclasses: the first keeps the generated __init__, the second is fast."""
    made: list[list[type]] = []
    for _ in range(2):

        @dataclass(frozen=True, slots=True)
        class Plain:
            a: str
            b: int = 3
            c: tuple[int, ...] = ()
            d: list[int] = field(default_factory=lambda: [1, 2])
            e: str = field(default="e", compare=False)

        @dataclass(frozen=True, slots=True, kw_only=True)
        class Base:
            name: str
            tags: dict[str, str] = field(default_factory=dict)

        @dataclass(frozen=True, slots=True, kw_only=True)
        class Child(Base):
            size: int
            note: str | None = None
            fixed: int = field(default=7, init=False)
            made: list[str] = field(default_factory=list, init=False)

        made.append([Plain, Child])
    (plain, child), (fast_plain, fast_child) = made
    return [(plain, fast_init(fast_plain)), (child, fast_init(fast_child))]


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("x",), {}),
    (("x", 5), {}),
    (("x",), {"c": (1,), "d": [9], "e": "given"}),
    ((), {"a": "kw", "b": 0}),
]
CHILD_CALLS: list[dict[str, Any]] = [
    {"name": "n", "size": 1},
    {"name": "n", "size": 2, "tags": {"k": "v"}, "note": "hi"},
]


def _values(obj: object) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def test_fast_records_equal_generated_ones() -> None:
    (plain, fast_plain), (child, fast_child) = _twins()
    for args, kwargs in CALLS:
        assert _values(fast_plain(*args, **kwargs)) == _values(plain(*args, **kwargs))
    for kwargs in CHILD_CALLS:
        assert _values(fast_child(**kwargs)) == _values(child(**kwargs))
    # factories give each record its own value
    assert fast_plain("x").d is not fast_plain("x").d
    assert fast_child(name="a", size=1).made is not fast_child(name="b", size=1).made
    for slow, fast in ((plain, fast_plain), (child, fast_child)):
        assert _shape(fast) == _shape(slow)


def _shape(cls: type) -> list[tuple[str, Any, bool]]:
    """(name, kind, has a default) of each __init__ parameter: annotations are not generated."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty) for p in params]


def test_fast_records_reject_what_the_generated_init_rejects() -> None:
    (plain, fast_plain), (child, fast_child) = _twins()
    for cls in (plain, fast_plain):
        with pytest.raises(TypeError):
            cls()
        with pytest.raises(TypeError):
            cls("x", unknown=1)
    for cls in (child, fast_child):
        with pytest.raises(TypeError):
            cls("positional", size=1)
        with pytest.raises(TypeError):
            cls(name="n", size=1, fixed=3)  # init=False


def test_fast_records_stay_frozen_and_replaceable() -> None:
    record = state.AclBindingState("User:a", "TOPIC", "t", "LITERAL", "READ", "ALLOW")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.principal = "User:b"  # type: ignore[misc]
    changed = dataclasses.replace(record, host="10.0.0.1")
    assert changed.host == "10.0.0.1" and changed.principal == "User:a" and record.host == "*"
    assert hash(record) == hash(state.AclBindingState("User:a", "TOPIC", "t", "LITERAL", "READ", "ALLOW"))


@pytest.mark.parametrize("module", [errors, model, state])
def test_decorated_model_classes_keep_the_dataclass_signature(module: Any) -> None:
    """Every fast record's __init__ takes exactly the parameters dataclasses would generate."""
    checked = 0
    for cls in vars(module).values():
        if not (
            isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
        ):
            continue
        if cls.__init__.__code__.co_filename != "<string>" or "_set0" not in cls.__init__.__code__.co_names:
            continue
        checked += 1
        params = inspect.signature(cls.__init__).parameters
        expected = [f.name for f in dataclasses.fields(cls) if f.init]
        assert [p for p in params if p != "self"] == [
            *[n for n in expected if not _field(cls, n).kw_only],
            *[n for n in expected if _field(cls, n).kw_only],
        ]
    assert checked > 0


def test_classes_it_cannot_speed_up_are_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (Mutable, Checked, NoSlots):
        with pytest.raises(TypeError):
            fast_init(cls)


def _field(cls: type, name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(cls) if f.name == name)
