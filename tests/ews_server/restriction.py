"""Evaluating a FindItem Restriction (and SortOrder) against stored items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tests.ews_server.store import ADDRESSES, StoredItem, extended_key
from tests.ews_server.xml import Element, local, mailbox_addresses, parse_datetime, t

Values = Callable[[StoredItem, Element], list[str]]


def values_of(item: StoredItem, operand: Element) -> list[str]:
    """The values an item has for a FieldURI / ExtendedFieldURI operand (several for lists)."""
    kind = local(operand)
    if kind == "ExtendedFieldURI":
        stored = item.extended.get(extended_key(operand))
        if stored is None:
            return []
        return [value.text or "" for value in stored.iter(t("Value"))]
    if kind == "FieldURI":
        name = (operand.get("FieldURI") or "").split(":")[-1]
        if name == "ItemId":
            return [item.item_id]
        if name == "ParentFolderId":
            return [item.folder]
        element = item.props.get(name)
        if element is None:
            return []
        if name in ADDRESSES:
            return mailbox_addresses(element)
        if name == "Categories":
            return [child.text or "" for child in element]
        return [element.text or ""]
    return []


def _typed(value: str) -> Any:
    text = value.strip()
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    if len(text) >= 19 and text[4] == "-" and "T" in text:
        try:
            return parse_datetime(text)
        except ValueError:
            pass
    try:
        return int(text)
    except ValueError:
        return text.lower()


def _compare(left: str, right: str) -> int:
    a, b = _typed(left), _typed(right)
    if type(a) is not type(b):
        a, b = left.lower(), right.lower()
    return int(a > b) - int(a < b)


COMPARISONS: dict[str, Callable[[int], bool]] = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def _operands(node: Element) -> tuple[Element, str | None, Element | None]:
    """(field operand, constant value or None, second field operand or None)."""
    parts = [child for child in node if isinstance(child.tag, str)]
    field, other = parts[0], parts[1] if len(parts) > 1 else None
    if other is None:
        return field, None, None
    if local(other) == "Constant":
        return field, other.get("Value", ""), None
    inner = next((child for child in other if isinstance(child.tag, str)), None)
    if inner is not None and local(inner) == "Constant":
        return field, inner.get("Value", ""), None
    return field, None, inner


def matches(node: Element, item: StoredItem) -> bool:
    kind = local(node)
    children = [child for child in node if isinstance(child.tag, str)]
    if kind == "Restriction":
        return all(matches(child, item) for child in children)
    if kind == "And":
        return all(matches(child, item) for child in children)
    if kind == "Or":
        return any(matches(child, item) for child in children)
    if kind == "Not":
        return not matches(children[0], item)
    if kind == "Exists":
        return bool(values_of(item, children[0]))
    if kind in COMPARISONS:
        field, constant, other = _operands(node)
        left = values_of(item, field)
        right = (
            [constant]
            if constant is not None
            else values_of(item, other)
            if other is not None
            else []
        )
        if kind == "IsNotEqualTo" and not left:
            return True
        return any(COMPARISONS[kind](_compare(a, b)) for a in left for b in right)
    if kind in {"Contains", "Excludes"}:
        field, constant, _ = _operands(node)
        if kind == "Excludes":
            # A bitmask test on an integer property.
            mask = int(constant or "0", 0)
            return any(int(v or "0") & mask == 0 for v in values_of(item, field))
        return any(_contains(node, value, constant or "") for value in values_of(item, field))
    raise ValueError(f"restriction {kind} is not supported by the loopback server")


def _contains(node: Element, value: str, constant: str) -> bool:
    mode = node.get("ContainmentMode", "Substring")
    if node.get("ContainmentComparison", "Exact") != "Exact":
        value, constant = value.lower(), constant.lower()
    if mode == "FullString":
        return value == constant
    if mode == "Prefixed":
        return value.startswith(constant)
    if mode in {"PrefixOnWords", "ExactPhrase"}:
        return constant in value
    return constant in value


def sort_key(order: Element) -> Callable[[StoredItem], Any]:
    field = next(child for child in order if isinstance(child.tag, str))

    def key(item: StoredItem) -> Any:
        found = values_of(item, field)
        if not found:
            return (0, "")
        typed = _typed(found[0])
        if isinstance(typed, dt.datetime):
            return (1, typed.timestamp())
        if isinstance(typed, bool | int):
            return (1, int(typed))
        return (2, str(typed))

    return key
