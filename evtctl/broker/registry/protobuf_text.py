"""Protobuf schemas in the two forms Confluent clients use.

Confluent's Python (and Go) serializers register Protobuf schemas as a base64-encoded
``FileDescriptorProto`` and ask for ``format=serialized`` when reading them back; everything else
(evtctl, the Java client, curl users) sends ``.proto`` text. Confluent Schema Registry accepts both
and stores text, so this module converts: :func:`descriptor_to_text` renders a descriptor as
``.proto`` source (the identity and compatibility checks then see one form), and
:func:`text_to_descriptor` compiles text back into a descriptor with ``protoc`` (grpcio-tools).
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

FDP = descriptor_pb2.FieldDescriptorProto

_SCALARS = {
    FDP.TYPE_DOUBLE: "double",
    FDP.TYPE_FLOAT: "float",
    FDP.TYPE_INT64: "int64",
    FDP.TYPE_UINT64: "uint64",
    FDP.TYPE_INT32: "int32",
    FDP.TYPE_FIXED64: "fixed64",
    FDP.TYPE_FIXED32: "fixed32",
    FDP.TYPE_BOOL: "bool",
    FDP.TYPE_STRING: "string",
    FDP.TYPE_BYTES: "bytes",
    FDP.TYPE_UINT32: "uint32",
    FDP.TYPE_SFIXED32: "sfixed32",
    FDP.TYPE_SFIXED64: "sfixed64",
    FDP.TYPE_SINT32: "sint32",
    FDP.TYPE_SINT64: "sint64",
}

_FILE_STRING_OPTIONS: tuple[Any, ...] = (
    "java_package",
    "java_outer_classname",
    "go_package",
    "csharp_namespace",
    "objc_class_prefix",
    "php_namespace",
    "ruby_package",
)

_B64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")


def decode_descriptor(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The descriptor if ``text`` is a base64 ``FileDescriptorProto``, else None (then it is source)."""
    stripped = text.strip()
    if not stripped or not _B64.match(stripped):
        return None
    try:
        raw = base64.b64decode(stripped, validate=False)
        fdp = descriptor_pb2.FileDescriptorProto()
        fdp.ParseFromString(raw)
    except (binascii.Error, ValueError, Exception):  # protobuf's DecodeError is not a ValueError
        return None
    if not (fdp.message_type or fdp.enum_type or fdp.service or fdp.package or fdp.syntax):
        return None
    return fdp


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _type_name(name: str, package: str) -> str:
    # Keep names fully qualified (leading dot) except inside the own package: unambiguous either way.
    if package and name.startswith("." + package + "."):
        return name[len(package) + 2 :]
    return name


def _field_type(field: descriptor_pb2.FieldDescriptorProto, package: str) -> str:
    if field.type in (FDP.TYPE_MESSAGE, FDP.TYPE_ENUM, FDP.TYPE_GROUP):
        return _type_name(field.type_name, package)
    return _SCALARS[field.type]


def _enum(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> list[str]:
    lines = [f"{indent}enum {enum.name} {{"]
    if enum.options.allow_alias:
        lines.append(f"{indent}  option allow_alias = true;")
    for value in enum.value:
        lines.append(f"{indent}  {value.name} = {value.number};")
    for rr in enum.reserved_range:
        # EnumReservedRange is end-inclusive (unlike message ranges)
        span = f"{rr.start}" if rr.end == rr.start else f"{rr.start} to {rr.end}"
        lines.append(f"{indent}  reserved {span};")
    if enum.reserved_name:
        lines.append(f"{indent}  reserved {', '.join(_quote(n) for n in enum.reserved_name)};")
    lines.append(f"{indent}}}")
    return lines


def _field_line(field: descriptor_pb2.FieldDescriptorProto, syntax: str, package: str, label: bool) -> str:
    prefix = ""
    if label:
        if field.label == FDP.LABEL_REPEATED:
            prefix = "repeated "
        elif field.label == FDP.LABEL_REQUIRED:
            prefix = "required "
        elif syntax == "proto2" or field.proto3_optional:
            prefix = "optional "
    options: list[str] = []
    if field.HasField("default_value"):
        default = field.default_value
        if field.type in (FDP.TYPE_STRING, FDP.TYPE_BYTES):
            default = _quote(default)
        options.append(f"default = {default}")
    if field.options.HasField("packed"):
        options.append(f"packed = {'true' if field.options.packed else 'false'}")
    if field.options.deprecated:
        options.append("deprecated = true")
    if field.HasField("json_name") and field.json_name != _default_json_name(field.name):
        options.append(f"json_name = {_quote(field.json_name)}")
    suffix = f" [{', '.join(options)}]" if options else ""
    return f"{prefix}{_field_type(field, package)} {field.name} = {field.number}{suffix};"


def _default_json_name(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _message(msg: descriptor_pb2.DescriptorProto, syntax: str, package: str, indent: str) -> list[str]:
    lines = [f"{indent}message {msg.name} {{"]
    inner = indent + "  "
    map_entries = {n.name: n for n in msg.nested_type if n.options.map_entry}
    oneof_fields: dict[int, list[descriptor_pb2.FieldDescriptorProto]] = {}
    for field in msg.field:
        real_oneof = field.HasField("oneof_index") and not field.proto3_optional
        if real_oneof:
            oneof_fields.setdefault(field.oneof_index, []).append(field)
            continue
        entry_name = field.type_name.rsplit(".", 1)[-1]
        if field.label == FDP.LABEL_REPEATED and field.type == FDP.TYPE_MESSAGE and entry_name in map_entries:
            key, value = map_entries[entry_name].field[0], map_entries[entry_name].field[1]
            lines.append(
                f"{inner}map<{_field_type(key, package)}, {_field_type(value, package)}> "
                f"{field.name} = {field.number};"
            )
            continue
        lines.append(inner + _field_line(field, syntax, package, label=True))
    for index, fields in sorted(oneof_fields.items()):
        lines.append(f"{inner}oneof {msg.oneof_decl[index].name} {{")
        for field in fields:
            lines.append(inner + "  " + _field_line(field, syntax, package, label=False))
        lines.append(f"{inner}}}")
    for nested in msg.nested_type:
        if not nested.options.map_entry:
            lines.extend(_message(nested, syntax, package, inner))
    for enum in msg.enum_type:
        lines.extend(_enum(enum, inner))
    for rr in msg.reserved_range:
        end = rr.end - 1  # DescriptorProto ranges are end-exclusive
        lines.append(
            f"{inner}reserved {rr.start};" if end == rr.start else f"{inner}reserved {rr.start} to {end};"
        )
    if msg.reserved_name:
        lines.append(f"{inner}reserved {', '.join(_quote(n) for n in msg.reserved_name)};")
    lines.append(f"{indent}}}")
    return lines


def descriptor_to_text(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    """Render a ``FileDescriptorProto`` as ``.proto`` source."""
    syntax = fdp.syntax or "proto2"
    lines = [f'syntax = "{syntax}";']
    if fdp.package:
        lines.append(f"package {fdp.package};")
    lines.append("")
    for dep in fdp.dependency:
        lines.append(f"import {_quote(dep)};")
    for name in _FILE_STRING_OPTIONS:
        if fdp.options.HasField(name):
            lines.append(f"option {name} = {_quote(getattr(fdp.options, name))};")
    if fdp.options.HasField("java_multiple_files"):
        lines.append(
            f"option java_multiple_files = {'true' if fdp.options.java_multiple_files else 'false'};"
        )
    if len(lines) > 3:
        lines.append("")
    for msg in fdp.message_type:
        lines.extend(_message(msg, syntax, fdp.package, ""))
    for enum in fdp.enum_type:
        lines.extend(_enum(enum, ""))
    by_extendee: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
    for ext in fdp.extension:
        by_extendee.setdefault(ext.extendee, []).append(ext)
    for extendee, fields in by_extendee.items():
        lines.append(f"extend {_type_name(extendee, fdp.package)} {{")
        lines.extend("  " + _field_line(f, syntax, fdp.package, label=True) for f in fields)
        lines.append("}")
    for service in fdp.service:
        lines.append(f"service {service.name} {{")
        for method in service.method:
            cin = "stream " if method.client_streaming else ""
            cout = "stream " if method.server_streaming else ""
            lines.append(
                f"  rpc {method.name}({cin}{_type_name(method.input_type, fdp.package)}) returns "
                f"({cout}{_type_name(method.output_type, fdp.package)});"
            )
        lines.append("}")
    return "\n".join(lines) + "\n"


def text_to_descriptor(name: str, text: str, dependencies: Mapping[str, str]) -> bytes:
    """Compile ``.proto`` source to a serialized ``FileDescriptorProto`` (``dependencies``: import
    name -> source text). Raises ValueError with protoc's message when the source does not compile."""
    return _compile(name, text, tuple(sorted(dependencies.items())))


@functools.lru_cache(maxsize=512)
def _compile(name: str, text: str, dependencies: tuple[tuple[str, str], ...]) -> bytes:
    import grpc_tools
    from grpc_tools import protoc

    include = str(Path(grpc_tools.__file__).parent / "_proto")  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory(prefix="evtctl-proto-") as tmp:
        root = Path(tmp)
        for dep_name, dep_text in (*dependencies, (name, text)):
            target = (root / dep_name).resolve()
            if root.resolve() not in target.parents:
                raise ValueError(f"import path {dep_name!r} escapes the schema directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dep_text, encoding="utf-8")
        out = root / "out.pb"
        code = protoc.main(["protoc", f"-I{root}", f"-I{include}", f"--descriptor_set_out={out}", name])
        if code != 0 or not out.exists():
            raise ValueError(f"protoc could not compile {name}")
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(out.read_bytes())
    for file in fds.file:
        if file.name == name:
            return bytes(file.SerializeToString())
    raise ValueError(f"protoc produced no descriptor for {name}")


# Imports Confluent's clients never register because Confluent Schema Registry knows them itself
# (its Protobuf provider bundles them): the registry supplies them the same way.
_BUILTIN_MODULES = {
    "confluent/meta.proto": "confluent_kafka.schema_registry.confluent.meta_pb2",
    "confluent/type/decimal.proto": "confluent_kafka.schema_registry.confluent.type.decimal_pb2",
    "confluent/type/variant.proto": "confluent_kafka.schema_registry.confluent.type.variant_pb2",
}
_IMPORT = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


@functools.lru_cache(maxsize=64)
def builtin_proto(name: str) -> str | None:
    """``.proto`` text of a bundled import (``confluent/...``, ``google/type/...``), else None."""
    if name in _BUILTIN_MODULES:
        module = _BUILTIN_MODULES[name]
    elif name.startswith("google/type/") and name.endswith(".proto"):
        module = "google.type." + name[len("google/type/") : -len(".proto")] + "_pb2"
    else:
        return None
    try:
        descriptor = importlib.import_module(module).DESCRIPTOR
    except ImportError:
        return None
    if descriptor.name != name:
        return None
    fdp = descriptor_pb2.FileDescriptorProto()
    descriptor.CopyToProto(fdp)
    return descriptor_to_text(fdp)


def with_builtin_imports(text: str, references: Mapping[str, str]) -> dict[str, str]:
    """``references`` plus the bundled imports ``text`` (or those) needs and nobody registered."""
    out = dict(references)
    todo = [text, *references.values()]
    while todo:
        for name in _IMPORT.findall(todo.pop()):
            if name not in out:
                builtin = builtin_proto(name)
                if builtin is not None:
                    out[name] = builtin
                    todo.append(builtin)
    return out
