"""Python identifiers from schema and manifest names (deterministic, collision-checked)."""

from __future__ import annotations

import keyword
import re

# Names a generated record must not use for a field: its own methods.
RESERVED_MEMBERS = frozenset({"to_dict", "from_dict"})


def identifier(name: str) -> str:
    """A valid, non-keyword Python identifier close to ``name`` (``class`` -> ``class_``)."""
    text = re.sub(r"\W", "_", name)
    if not text or text[0].isdigit():
        text = f"f_{text}"
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in RESERVED_MEMBERS:
        text += "_"
    return text


def pascal(name: str) -> str:
    """``order-created.v1`` -> ``OrderCreatedV1``; already-Pascal names are kept."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Unnamed"
    if text[0].isdigit():
        text = f"T{text}"
    return text if not keyword.iskeyword(text) else text + "_"


def snake(name: str) -> str:
    """``OrderService`` / ``order-service`` -> ``order_service``."""
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return identifier(text or "unnamed")


def enum_member(symbol: str) -> str:
    text = identifier(symbol)
    # Enum's own API names cannot be members.
    return text + "_" if text in {"name", "value", "mro"} or text.startswith("_") else text
