"""A compiled yes/no pre-check for the JSON Schema keyword subset our manifest schemas use.

``jsonschema`` spends ~200 µs per document, i.e. 3 s for a 14,000-document workspace. Almost
every document is valid, so each one is first run through a closure compiled from the same
schema; only documents it rejects go to ``jsonschema`` for the real error messages. The compiler
refuses (``UnsupportedKeyword``) any keyword it does not implement, so it can never silently
accept more than ``jsonschema`` would; tests compare both on the reference workspace and corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "title", "description", "default", "examples"}


class UnsupportedKeyword(Exception):
    pass


def _type_check(name: str) -> Check:
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "integer":
        return lambda v: (
            (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
        )
    if name == "number":
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    raise UnsupportedKeyword(f"type {name}")


def _same(a: Any, b: Any) -> bool:
    # JSON Schema equality: booleans are not numbers.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else bool(a == b)


def _bound_check(keyword: str, bound: float) -> Check:
    def check(v: Any) -> bool:
        if not isinstance(v, int | float) or isinstance(v, bool):
            return True
        if keyword == "minimum":
            return bool(v >= bound)
        if keyword == "maximum":
            return bool(v <= bound)
        return bool(v > bound)

    return check


def compile_schema(schema: dict[str, Any] | bool) -> Check:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    checks: list[Check] = []
    keys = set(schema) - _IGNORED
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        tchecks = [_type_check(t) for t in types]
        checks.append(lambda v: any(c(v) for c in tchecks))
        keys.discard("type")
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: _same(v, const))
        keys.discard("const")
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: any(_same(v, a) for a in allowed))
        keys.discard("enum")
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or rx.search(v) is not None)
        keys.discard("pattern")
    if "minLength" in schema:
        min_len: int = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= min_len)
        keys.discard("minLength")
    if "maxLength" in schema:
        max_len: int = schema["maxLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) <= max_len)
        keys.discard("maxLength")
    for kw in ("minimum", "maximum", "exclusiveMinimum"):
        if kw in schema:
            checks.append(_bound_check(kw, schema[kw]))
            keys.discard(kw)
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda v: not isinstance(v, dict) or all(r in v for r in required))
        keys.discard("required")
    if "properties" in schema or "additionalProperties" in schema or "propertyNames" in schema:
        props = {k: compile_schema(s) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = compile_schema(extra) if extra is not True else None
        names = compile_schema(schema["propertyNames"]) if "propertyNames" in schema else None
        keys -= {"properties", "additionalProperties", "propertyNames"}

        def check_object(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k, item in v.items():
                if names is not None and not names(k):
                    return False
                c = props.get(k)
                if c is not None:
                    if not c(item):
                        return False
                elif extra_check is not None and not extra_check(item):
                    return False
            return True

        checks.append(check_object)
    if "items" in schema:
        item_check = compile_schema(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item_check(i) for i in v))
        keys.discard("items")
    if "minItems" in schema:
        min_items = schema["minItems"]
        checks.append(lambda v: not isinstance(v, list) or len(v) >= min_items)
        keys.discard("minItems")
    if "anyOf" in schema:
        branches = [compile_schema(s) for s in schema["anyOf"]]
        checks.append(lambda v: any(b(v) for b in branches))
        keys.discard("anyOf")
    if keys:
        raise UnsupportedKeyword(", ".join(sorted(keys)))
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(c(v) for c in checks)
