"""Protobuf: ``.proto`` text -> descriptors (protoc from grpcio-tools) -> Confluent's compatibility rules.

Parsing runs protoc in-process (``grpc_tools.protoc``) on a temporary directory holding the
schema and its references (imports by path), with the bundled well-known types on the include
path. protoc's ``file:line:col: message`` errors become located ``InputError``s.

The rules follow Confluent Schema Registry's ``ProtobufSchemaDiff``: a schema change is described
as differences from an *original* (the writer) to an *update* (the reader), and any difference
outside Confluent's compatible set is a violation. BACKWARD compares old -> new, FORWARD new -> old.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evtctl.compat.jsonpos import check_size
from evtctl.compat.model import ParsedSchema, SchemaType, Violation, sha256_hex
from evtctl.errors import InputError, Location

_SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}
_TYPE_GROUP, _TYPE_MESSAGE, _TYPE_ENUM = 10, 11, 14
_LABELS = {1: "optional", 2: "required", 3: "repeated"}
# Confluent's wire-compatible scalar groups (after protobuf's "Updating a message type" guide).
_SCALAR_KIND = {
    "int32": "varint",
    "int64": "varint",
    "uint32": "varint",
    "uint64": "varint",
    "bool": "varint",
    "enum": "varint",
    "sint32": "zigzag",
    "sint64": "zigzag",
    "string": "length-delimited",
    "bytes": "length-delimited",
    "fixed32": "fixed32",
    "sfixed32": "fixed32",
    "fixed64": "fixed64",
    "sfixed64": "fixed64",
    "float": "float",
    "double": "double",
}
_IMPORT_RE = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.M)
_MAIN = "__evtctl_schema__.proto"


@dataclass(slots=True)
class PField:
    name: str
    number: int
    label: str  # "optional" (explicit or implicit), "required" or "repeated"
    type: str  # scalar name, "message", "enum" or "map"
    type_name: str | None  # fully qualified, without the leading dot
    oneof: str | None  # real oneofs only (proto3 `optional` is not one)
    explicit_optional: bool = False


@dataclass(slots=True)
class PMessage:
    fullname: str
    package: str
    fields: list[PField] = field(default_factory=list)
    oneofs: list[str] = field(default_factory=list)
    messages: dict[str, PMessage] = field(default_factory=dict)  # nested, by simple name, in order
    enums: dict[str, PEnum] = field(default_factory=dict)
    reserved: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    map_entry: bool = False
    file: str = ""
    message_numbers: frozenset[int] = frozenset()  # fields of message (or map) type
    _by_tag: dict[int, PField] | None = None
    _items: frozenset[tuple[Any, ...]] | None = None

    def by_tag(self) -> dict[int, PField]:
        if self._by_tag is None:
            self._by_tag = {f.number: f for f in self.fields}
        return self._by_tag

    def items(self) -> frozenset[tuple[Any, ...]]:
        """Hashable field facts, for set differences between versions."""
        if self._items is None:
            self._items = frozenset((f.number, f.label, f.type, f.type_name, f.oneof) for f in self.fields)
        return self._items


@dataclass(slots=True)
class PEnum:
    fullname: str
    values: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ProtoModel:
    package: str
    syntax: str
    messages: dict[str, PMessage]  # top level, in declaration order (message index)
    enums: dict[str, PEnum]
    types: dict[str, PMessage | PEnum]  # every type of the file and its imports, by full name
    imports: tuple[str, ...]
    descriptor: Any  # FileDescriptorProto of the schema itself (codegen, lint)
    source: Mapping[tuple[int, ...], tuple[int, int]]  # descriptor path -> (line, col), 1-based
    comments: frozenset[tuple[int, ...]] = frozenset()  # descriptor paths with a comment (lint)


# ----------------------------------------------------------------------------- protoc

_protoc_lock = threading.Lock()  # protoc writes errors to fd 2, which we swap while it runs


def _wkt_include() -> str:
    import importlib.resources

    return str(importlib.resources.files("grpc_tools") / "_proto")


def _run_protoc(text: str, references: Mapping[str, str], origin: str) -> Any:
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="evtctl-proto-") as tmp:
        root = Path(tmp)
        names = {_MAIN: origin}
        for name, ref_text in references.items():
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts:
                raise InputError(
                    f"reference name '{name}' must be a relative import path", location=Location(origin, 1, 1)
                )
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(ref_text, encoding="utf-8")
            names[str(rel)] = name
        (root / _MAIN).write_text(text, encoding="utf-8")
        out = root / "__out.pb"
        err_path = root / "__stderr.txt"
        args = [
            "protoc",
            f"-I{root}",
            f"-I{_wkt_include()}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            _MAIN,
        ]
        with _protoc_lock, open(err_path, "w+b") as err_file:
            saved = os.dup(2)
            try:
                os.dup2(err_file.fileno(), 2)
                rc = protoc.main(args)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            err_file.seek(0)
            stderr = err_file.read().decode("utf-8", "replace")
        if rc != 0:
            raise _protoc_error(stderr.replace(f"{root}{os.sep}", ""), names, origin)
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


_ERR_RE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)


def _protoc_error(stderr: str, names: Mapping[str, str], origin: str) -> InputError:
    m = _ERR_RE.search(stderr)
    if m is None:
        first = stderr.strip().splitlines()[0] if stderr.strip() else "protoc failed"
        first = first.replace(_MAIN, origin)
        help_text = None
        if "File not found" in stderr or "not found" in first:
            help_text = "pass imported files as references (or --reference import roots on the command line)"
        return InputError(
            f"invalid Protobuf schema: {first}", location=Location(origin, 1, 1), help=help_text
        )
    file = names.get(m["file"], m["file"])
    message = m["msg"].replace(_MAIN, origin)
    help_text = None
    if "is not defined" in message:
        help_text = "import the file that defines the type, and pass it as a reference"
    elif "Import" in message and "was not found" in message:
        help_text = "pass imported files as references (or --reference import roots on the command line)"
    return InputError(
        f"invalid Protobuf schema: {message}",
        location=Location(file, int(m["line"]), int(m["col"])),
        help=help_text,
    )


# ----------------------------------------------------------------------------- model


def _build_model(fds: Any, origin: str) -> ProtoModel:
    types: dict[str, PMessage | PEnum] = {}
    main = None
    model_messages: dict[str, PMessage] = {}
    model_enums: dict[str, PEnum] = {}
    for fd in fds.file:
        package = fd.package
        prefix = f"{package}." if package else ""
        msgs = {m.name: _message(m, prefix, package, fd.name, types) for m in fd.message_type}
        enums = {e.name: _enum(e, prefix, types) for e in fd.enum_type}
        if fd.name == _MAIN:
            main, model_messages, model_enums = fd, msgs, enums
    assert main is not None
    source: dict[tuple[int, ...], tuple[int, int]] = {}
    for loc in main.source_code_info.location:
        if loc.span:
            source.setdefault(tuple(loc.path), (loc.span[0] + 1, loc.span[1] + 1))
    comments = frozenset(
        tuple(loc.path)
        for loc in main.source_code_info.location
        if loc.leading_comments.strip() or loc.trailing_comments.strip()
    )
    main_copy = type(main)()
    main_copy.CopyFrom(main)
    main_copy.ClearField("source_code_info")
    main_copy.name = "schema.proto"  # identity must not depend on where the text came from
    return ProtoModel(
        package=main.package,
        syntax=main.syntax or "proto2",
        messages=model_messages,
        enums=model_enums,
        types=types,
        imports=tuple(main.dependency),
        descriptor=main_copy,
        source=source,
        comments=comments,
    )


def _message(m: Any, prefix: str, package: str, file: str, types: dict[str, PMessage | PEnum]) -> PMessage:
    full = prefix + m.name
    msg = PMessage(fullname=full, package=package, map_entry=m.options.map_entry, file=file)
    types[full] = msg
    for nested in m.nested_type:
        msg.messages[nested.name] = _message(nested, full + ".", package, file, types)
    for e in m.enum_type:
        msg.enums[e.name] = _enum(e, full + ".", types)
    synthetic = {f.oneof_index for f in m.field if f.proto3_optional}
    msg.oneofs = [o.name for i, o in enumerate(m.oneof_decl) if i not in synthetic]
    for f in m.field:
        oneof = None
        if f.HasField("oneof_index") and f.oneof_index not in synthetic:
            oneof = m.oneof_decl[f.oneof_index].name
        if f.type == _TYPE_MESSAGE or f.type == _TYPE_GROUP:
            kind = "message"
        elif f.type == _TYPE_ENUM:
            kind = "enum"
        else:
            kind = _SCALARS.get(f.type, "unknown")
        msg.fields.append(
            PField(
                name=f.name,
                number=f.number,
                label=_LABELS.get(f.label, "optional"),
                type=kind,
                type_name=f.type_name.lstrip(".") or None,
                oneof=oneof,
                explicit_optional=f.proto3_optional,
            )
        )
    msg.reserved = [(r.start, r.end - 1) for r in m.reserved_range]  # descriptor ends are exclusive
    msg.message_numbers = frozenset(f.number for f in msg.fields if f.type == "message")
    msg.by_tag()
    msg.items()
    return msg


def _enum(e: Any, prefix: str, types: dict[str, PMessage | PEnum]) -> PEnum:
    en = PEnum(fullname=prefix + e.name, values={v.name: v.number for v in e.value})
    types[en.fullname] = en
    return en


def find_imports(path: Path, text: str, include_dirs: list[Path]) -> dict[str, Path]:
    """Files that ``text`` imports (transitively), found under ``include_dirs``, the file's
    directory and its parent directories (so ``import "orders/v1/common.proto"`` resolves from a
    root). Well-known types are bundled; unknown imports are left for protoc to report."""
    roots = [*include_dirs, path.parent, *path.parent.parents]
    found: dict[str, Path] = {}
    todo = list(_IMPORT_RE.findall(text))
    while todo:
        name = todo.pop()
        if name in found or name.startswith("google/protobuf/"):
            continue
        for root in roots:
            candidate = root / name
            if candidate.is_file():
                found[name] = candidate
                todo.extend(_IMPORT_RE.findall(candidate.read_text(encoding="utf-8", errors="replace")))
                break
    return found


def collect_imports(path: Path, text: str, include_dirs: list[Path]) -> dict[str, str]:
    """Import path -> text of every file ``text`` imports (see :func:`find_imports`)."""
    from evtctl.compat import read_text

    return {name: read_text(p) for name, p in find_imports(path, text, include_dirs).items()}


# ----------------------------------------------------------------------------- checker


class ProtobufChecker:
    schema_type: SchemaType = "PROTOBUF"

    def parse(self, text: str, references: Mapping[str, str], origin: str) -> ParsedSchema:
        from google.protobuf import text_format

        check_size(text, origin)
        fds = _run_protoc(text, references, origin)
        model = _build_model(fds, origin)
        # Normalized form: the descriptor without source info (comments, whitespace, import
        # order and option spelling vanish), plus the imported files' normalized forms.
        canonical = text_format.MessageToString(model.descriptor, as_one_line=True)
        deps = []
        for fd in fds.file:
            if fd.name != _MAIN and not fd.name.startswith("google/protobuf/"):
                fd.ClearField("source_code_info")
                deps.append(f"{fd.name}:{sha256_hex(text_format.MessageToString(fd, as_one_line=True))}")
        fingerprint = sha256_hex(canonical + "\n" + "\n".join(sorted(deps)))
        return ParsedSchema("PROTOBUF", canonical, fingerprint, text, origin, model, dict(references))

    def check(self, reader: ParsedSchema, writer: ParsedSchema, *, reader_is_new: bool) -> list[Violation]:
        diff = _Diff(writer.model, reader.model, reader_is_new)
        diff.run()
        unique: dict[tuple[str, str], Violation] = {}
        for v in diff.violations:
            unique.setdefault((v.rule_id, v.path), v)
        return list(unique.values())


def _field_path(msg: PMessage, f: PField) -> str:
    return f"{msg.fullname}.{f.name} (field {f.number})"


def _describe(model: ProtoModel, f: PField) -> str:
    if f.type in ("message", "enum"):
        base = f.type_name or f.type
        target = model.types.get(base)
        if isinstance(target, PMessage) and target.map_entry:
            k, v = target.fields[0], target.fields[1]
            return f"map<{_describe(model, k)}, {_describe(model, v)}>"
    else:
        base = f.type
    return f"repeated {base}" if f.label == "repeated" else base


class _Diff:
    """Differences from ``original`` (writer) to ``update`` (reader), Confluent style."""

    def __init__(self, original: ProtoModel, update: ProtoModel, reader_is_new: bool) -> None:
        self.o = original
        self.u = update
        self.reader_is_new = reader_is_new
        self.direction = "backward" if reader_is_new else "forward"
        self.consequence = (
            "so the new schema cannot read data written with the old one"
            if reader_is_new
            else "so consumers using the old schema cannot read data written with the new one"
        )
        self.violations: list[Violation] = []
        self.visited: set[tuple[str, str]] = set()

    # old/new in the user's terms, whichever side is the original
    def _old_new(self, o: str | None, u: str | None) -> tuple[str | None, str | None]:
        return (o, u) if self.reader_is_new else (u, o)

    def add(self, rule: str, path: str, message: str, o: str | None, u: str | None, hint: str) -> None:
        old, new = self._old_new(o, u)
        self.violations.append(
            Violation(f"PROTOBUF_{rule}", path, message, old, new, hint, direction=self.direction)
        )

    def run(self) -> None:
        if self.o.package != self.u.package:
            old, new = self._old_new(self.o.package, self.u.package)
            self.add(
                "PACKAGE_CHANGED",
                old or new or "<package>",
                f"The package changed from '{old}' to '{new}', which renames every message, "
                f"{self.consequence}.",
                self.o.package,
                self.u.package,
                "keep the package; put new packages in new subjects",
            )
        self._types(self.o.messages, self.u.messages)
        self._reserved_reuse()

    def _types(self, original: Mapping[str, PMessage], update: Mapping[str, PMessage]) -> None:
        for name, om in original.items():
            um = update.get(name)
            if um is None:
                if not om.map_entry:
                    self._gone(om)
                continue
            self._message(om, um)
        # Messages only in the update, reordered messages (message index) and every enum change
        # are compatible in Confluent's rules: nothing to report.

    def _gone(self, om: PMessage) -> None:
        if self.reader_is_new:
            message = f"Message {om.fullname} was removed, {self.consequence}."
            hint = "keep the message (mark it deprecated) instead of deleting it"
        else:
            message = (
                f"Message {om.fullname} was added, and the old schema has no such message, "
                f"{self.consequence}."
            )
            hint = "under FORWARD levels, add messages only once consumers have them"
        self.add("MESSAGE_REMOVED", om.fullname, message, om.fullname, None, hint)

    def _message(self, om: PMessage, um: PMessage) -> None:
        key = (om.fullname, um.fullname)
        if key in self.visited:
            return
        self.visited.add(key)
        o_by_tag, u_by_tag = om.by_tag(), um.by_tag()
        o_top = {n: f for n, f in o_by_tag.items() if f.oneof is None} if um.oneofs else {}
        # Fields moving into a oneof.
        for oneof in um.oneofs:
            members = [f for f in um.fields if f.oneof == oneof]
            moved = [f for f in members if f.number in o_top]
            existing = [f for f in members if f.number in o_by_tag and o_by_tag[f.number].oneof is not None]
            if len(moved) > 1:
                names = ", ".join(f.name for f in moved)
                self.add(
                    "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
                    f"{um.fullname}.{oneof}",
                    self._moved_text(
                        f"Fields {names} were moved into oneof {oneof}",
                        f"Fields {names} were taken out of oneof {oneof}, which the old schema keeps",
                    ),
                    None,
                    names,
                    "a oneof may take over at most one existing field",
                )
            elif len(moved) == 1 and existing:
                self.add(
                    "FIELD_MOVED_TO_EXISTING_ONEOF",
                    f"{um.fullname}.{oneof}",
                    self._moved_text(
                        f"Field {moved[0].name} was moved into the existing oneof {oneof}",
                        f"Field {moved[0].name} was taken out of oneof {oneof}, which the old schema keeps",
                    ),
                    None,
                    moved[0].name,
                    "only a brand-new oneof may take over an existing field",
                )
        # Oneof members removed entirely.
        for f in om.fields if om.oneofs else ():
            if f.oneof is not None and f.number not in u_by_tag and f.oneof in um.oneofs:
                if self.reader_is_new:
                    message = (
                        f"Field {_field_path(om, f)} was removed from oneof {f.oneof}, {self.consequence}."
                    )
                    hint = "keep the oneof member (reserve nothing inside a oneof)"
                else:
                    message = (
                        f"Field {_field_path(om, f)} was added to oneof {f.oneof}, which the old schema's "
                        f"oneof lacks, {self.consequence}."
                    )
                    hint = "add oneof members only when consumers already have them"
                self.add("ONEOF_FIELD_REMOVED", _field_path(om, f), message, _describe(self.o, f), None, hint)
        # Fields by number (whatever oneof they are in). Set operations (in C) leave only numbers
        # whose field differs, plus message-typed fields (compared structurally): long
        # histories are mostly unchanged fields.
        todo = {item[0] for item in om.items() ^ um.items()} | om.message_numbers | um.message_numbers
        for number in sorted(todo):
            of, uf = o_by_tag.get(number), u_by_tag.get(number)
            if uf is None:
                if of is not None and of.label == "required":
                    self._required(om, of, removed=True)
            elif of is None:
                if uf.label == "required":
                    self._required(um, uf, removed=False)
            elif of.type == "message" or (of.type, of.label, of.type_name) != (
                uf.type,
                uf.label,
                uf.type_name,
            ):
                self._field(om, of, uf)
        self._types(om.messages, um.messages)

    def _moved_text(self, what: str, out_of: str) -> str:
        # In the FORWARD direction the original is the new schema: fields the diff sees moving
        # *into* a oneof were, from old to new, taken *out* of it.
        if self.reader_is_new:
            return f"{what}, {self.consequence}."
        return f"{out_of}, {self.consequence}."

    def _required(self, msg: PMessage, f: PField, *, removed: bool) -> None:
        # "removed" is from original to update; flip for the user's old/new wording.
        gone_in_new = removed == self.reader_is_new
        if gone_in_new:
            message = f"Required field {_field_path(msg, f)} was removed, {self.consequence}."
            rule, hint = "REQUIRED_FIELD_REMOVED", "required fields can never be removed; keep it"
        else:
            message = f"Required field {_field_path(msg, f)} was added, {self.consequence}."
            rule, hint = "REQUIRED_FIELD_ADDED", "add the field as optional instead (proto2 `optional`)"
        self.add(
            rule,
            _field_path(msg, f),
            message,
            _describe(self.o, f) if removed else None,
            None if removed else _describe(self.u, f),
            hint,
        )

    def _field(self, om: PMessage, of: PField, uf: PField) -> None:
        path = _field_path(om, of)
        if of.label != uf.label and "repeated" in (of.label, uf.label):
            o_kind, u_kind = self._scalar_kind(self.o, of), self._scalar_kind(self.u, uf)
            if o_kind not in ("length-delimited", "message") or u_kind not in ("length-delimited", "message"):
                od, ud = _describe(self.o, of), _describe(self.u, uf)
                old, new = self._old_new(od, ud)
                self.add(
                    "FIELD_NUMERIC_LABEL_CHANGED",
                    path,
                    f"{path} changed from {old} to {new}, {self.consequence}.",
                    od,
                    ud,
                    "numeric fields cannot switch between repeated and singular; add a new field",
                )
                return
        self._types_of(path, self.o, of, self.u, uf)

    @staticmethod
    def _kind(model: ProtoModel, f: PField) -> str:
        if f.type == "message":
            target = model.types.get(f.type_name or "")
            return "map" if isinstance(target, PMessage) and target.map_entry else "message"
        return "scalar"

    @staticmethod
    def _scalar_kind(model: ProtoModel, f: PField) -> str:
        if f.type == "message":
            return "message"
        return _SCALAR_KIND.get(f.type, f.type)

    def _types_of(self, path: str, om: ProtoModel, of: PField, um: ProtoModel, uf: PField) -> None:
        ok, uk = self._kind(om, of), self._kind(um, uf)
        od, ud = _describe(om, of), _describe(um, uf)
        old, new = self._old_new(od, ud)
        if ok != uk:
            self.add(
                "FIELD_KIND_CHANGED",
                path,
                f"The type of {path} changed from {old} to {new}, a different kind of field, "
                f"{self.consequence}.",
                od,
                ud,
                "never change a field's type across kinds; add a new field with a new number",
            )
            return
        if ok == "scalar":
            if self._scalar_kind(om, of) != self._scalar_kind(um, uf):
                self.add(
                    "FIELD_SCALAR_KIND_CHANGED",
                    path,
                    f"The type of {path} changed from {old} to {new}, which is not wire-compatible, "
                    f"{self.consequence}.",
                    od,
                    ud,
                    "stay within a wire-compatible group (int32/int64/uint32/uint64/bool/enum; "
                    "sint32/sint64; "
                    "string/bytes; fixed32/sfixed32; fixed64/sfixed64), or use a new field number",
                )
            return
        if ok == "map":
            o_entry = om.types[of.type_name or ""]
            u_entry = um.types[uf.type_name or ""]
            assert isinstance(o_entry, PMessage) and isinstance(u_entry, PMessage)
            for i in (0, 1):
                self._types_of(path, om, o_entry.fields[i], um, u_entry.fields[i])
            return
        o_msg, u_msg = om.types.get(of.type_name or ""), um.types.get(uf.type_name or "")
        assert isinstance(o_msg, PMessage) and isinstance(u_msg, PMessage)
        o_local = o_msg.fullname.removeprefix(o_msg.package + ".") if o_msg.package else o_msg.fullname
        u_local = u_msg.fullname.removeprefix(u_msg.package + ".") if u_msg.package else u_msg.fullname
        if o_local != u_local:
            self.add(
                "FIELD_NAMED_TYPE_CHANGED",
                path,
                f"The type of {path} changed from {old} to {new}, {self.consequence}.",
                od,
                ud,
                "keep the message type; add a new field for the new type",
            )
            return
        self._message(o_msg, u_msg)

    def _reserved_reuse(self) -> None:
        """A new field using a number the old schema reserved (newer Confluent releases check it)."""
        old_model, new_model = (self.o, self.u) if self.reader_is_new else (self.u, self.o)
        for name, old_type in old_model.types.items():
            new_type = new_model.types.get(name)
            if (
                not isinstance(old_type, PMessage)
                or not isinstance(new_type, PMessage)
                or not old_type.reserved
            ):
                continue
            for f in new_type.fields:
                if any(lo <= f.number <= hi for lo, hi in old_type.reserved):
                    self.violations.append(
                        Violation(
                            "PROTOBUF_RESERVED_FIELD_NUMBER_REUSED",
                            _field_path(new_type, f),
                            f"Field {_field_path(new_type, f)} reused a number that the old schema reserved.",
                            f"reserved {f.number}",
                            _describe(new_model, f),
                            f"use a new field number; {f.number} was reserved because old data "
                            "may still use it",
                            direction=self.direction,
                        )
                    )
