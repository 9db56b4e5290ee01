"""A compiled yes/no pre-check for the JSON Schema keyword subset our manifest schemas use.

``jsonschema`` spends ~200 µs per document, i.e. 3 s for a 14,000-document workspace. Almost
every document is valid, so each one is first run through Python code generated from the same
schema; only documents it rejects go to ``jsonschema`` for the real error messages. The compiler
refuses (``UnsupportedKeyword``) any keyword it does not implement, so it never silently accepts
more than ``jsonschema`` would; tests compare both on the reference workspace and the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_IGNORED = {"$schema", "$id", "title", "description", "default", "examples"}

_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool)"
    " or isinstance({v}, float) and {v}.is_integer())",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "null": "{v} is None",
}


class UnsupportedKeyword(Exception):
    pass


def _same(a: Any, b: Any) -> bool:
    """JSON Schema equality: booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class _Compiler:
    def __init__(self) -> None:
        self.functions: list[str] = []
        self.constants: dict[str, Any] = {"_same": _same}

    def const(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def function(self, schema: dict[str, Any] | bool) -> str:
        """Emit a function for ``schema`` and return its name."""
        name = f"_f{len(self.functions)}"
        self.functions.append("")  # reserve the slot so nested functions get later numbers
        body = self._body(schema)
        self.functions[int(name[2:])] = f"def {name}(v):\n" + "".join(f"    {line}\n" for line in body)
        return name

    def _body(self, schema: dict[str, Any] | bool) -> list[str]:
        if schema is True:
            return ["return True"]
        if schema is False:
            return ["return False"]
        lines: list[str] = []
        keys = set(schema) - _IGNORED
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            for t in types:
                if t not in _TYPE_TESTS:
                    raise UnsupportedKeyword(f"type {t}")
            test = " or ".join(_TYPE_TESTS[t].format(v="v") for t in types)
            lines.append(f"if not ({test}): return False")
            keys.discard("type")
        if "const" in schema:
            lines.append(f"if not _same(v, {self.const(schema['const'])}): return False")
            keys.discard("const")
        if "enum" in schema:
            allowed = self.const(list(schema["enum"]))
            lines.append(f"if not any(_same(v, a) for a in {allowed}): return False")
            keys.discard("enum")
        if "pattern" in schema:
            rx = self.const(re.compile(schema["pattern"]))
            lines.append(f"if isinstance(v, str) and {rx}.search(v) is None: return False")
            keys.discard("pattern")
        for kw, op in (("minLength", "<"), ("maxLength", ">")):
            if kw in schema:
                lines.append(f"if isinstance(v, str) and len(v) {op} {int(schema[kw])}: return False")
                keys.discard(kw)
        num = "isinstance(v, (int, float)) and not isinstance(v, bool)"
        for kw, op in (("minimum", "<"), ("maximum", ">"), ("exclusiveMinimum", "<=")):
            if kw in schema:
                lines.append(f"if {num} and v {op} {self.const(schema[kw])}: return False")
                keys.discard(kw)
        if "minItems" in schema:
            lines.append(f"if isinstance(v, list) and len(v) < {int(schema['minItems'])}: return False")
            keys.discard("minItems")
        if "required" in schema:
            for req in schema["required"]:
                lines.append(f"if isinstance(v, dict) and {req!r} not in v: return False")
            keys.discard("required")
        if "properties" in schema or "additionalProperties" in schema or "propertyNames" in schema:
            props = {k: self.function(s) for k, s in schema.get("properties", {}).items()}
            table = self.const({k: self.constants.get(f, f) for k, f in props.items()})
            extra = schema.get("additionalProperties", True)
            extra_fn = self.function(extra) if extra is not True else None
            names_fn = self.function(schema["propertyNames"]) if "propertyNames" in schema else None
            keys -= {"properties", "additionalProperties", "propertyNames"}
            lines.append("if isinstance(v, dict):")
            lines.append("    for k, x in v.items():")
            if names_fn:
                lines.append(f"        if not {names_fn}(k): return False")
            lines.append(f"        c = {table}.get(k)")
            lines.append("        if c is not None:")
            lines.append("            if not c(x): return False")
            if extra_fn:
                lines.append(f"        elif not {extra_fn}(x): return False")
            self._late_tables.append((table, props))
        if "items" in schema:
            item_fn = self.function(schema["items"])
            lines.append("if isinstance(v, list):")
            lines.append("    for x in v:")
            lines.append(f"        if not {item_fn}(x): return False")
            keys.discard("items")
        if "anyOf" in schema:
            branches = [self.function(s) for s in schema["anyOf"]]
            lines.append(f"if not ({' or '.join(f'{b}(v)' for b in branches)}): return False")
            keys.discard("anyOf")
        if keys:
            raise UnsupportedKeyword(", ".join(sorted(keys)))
        lines.append("return True")
        return lines

    _late_tables: list[tuple[str, dict[str, str]]]


def compile_schema(schema: dict[str, Any] | bool) -> Check:
    compiler = _Compiler()
    compiler._late_tables = []
    entry = compiler.function(schema)
    namespace: dict[str, Any] = dict(compiler.constants)
    exec("\n".join(compiler.functions), namespace)  # generated from our own schema text only
    # Property tables map names to functions, which exist only after exec.
    for table, props in compiler._late_tables:
        namespace[table].clear()
        namespace[table].update({k: namespace[f] for k, f in props.items()})
    check: Check = namespace[entry]
    return check
