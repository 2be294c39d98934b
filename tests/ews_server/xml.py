"""XML helpers for the loopback EWS server: namespaces, element builders and EWS value formats."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from lxml import etree

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"s": SOAP, "m": M, "t": T}

# lxml is installed without type information, so an element is typed as what mypy can know.
Element: TypeAlias = Any


def m(name: str) -> str:
    return f"{{{M}}}{name}"


def t(name: str) -> str:
    return f"{{{T}}}{name}"


def local(element: Element) -> str:
    return str(etree.QName(element).localname)


def tel(name: str, text: str | None = None, **attrs: str) -> Element:
    """A new element in the types namespace."""
    element = etree.Element(t(name), nsmap={"t": T})
    if text is not None:
        element.text = text
    for key, value in attrs.items():
        element.set(key, value)
    return element


def mel(name: str, text: str | None = None, **attrs: str) -> Element:
    """A new element in the messages namespace."""
    element = etree.Element(m(name), nsmap={"m": M, "t": T})
    if text is not None:
        element.text = text
    for key, value in attrs.items():
        element.set(key, value)
    return element


def sub(parent: Element, tag: str, text: str | None = None, **attrs: str) -> Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    for key, value in attrs.items():
        element.set(key, value)
    return element


def tchild(parent: Element | None, *path: str) -> Element | None:
    """The first descendant along ``path`` (types-namespace names), or None."""
    node = parent
    for name in path:
        if node is None:
            return None
        node = node.find(t(name))
    return node


def ttext(parent: Element | None, *path: str) -> str | None:
    node = tchild(parent, *path)
    return None if node is None else (node.text or "")


def children_named(parent: Element | None, name: str) -> list[Element]:
    if parent is None:
        return []
    return [child for child in parent if isinstance(child.tag, str) and local(child) == name]


def format_datetime(value: dt.datetime) -> str:
    """EWS sends and receives UTC with a ``Z``."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}")
    return value.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(text: str) -> dt.datetime:
    """An xs:dateTime as EWS sends it; a value without an offset is read as UTC, as Exchange does
    when the request carries no time zone context."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def normalize_values(element: Element, naive_zone: dt.tzinfo, booleans: frozenset[str]) -> None:
    """Rewrite values under ``element`` in the forms Exchange answers in: xs:dateTime as UTC with
    a ``Z`` (one without an offset is read in ``naive_zone``, the request's time zone), and
    booleans (named in ``booleans``) as true/false rather than 1/0."""
    for node in element.iter():
        text = (node.text or "").strip()
        if not isinstance(node.tag, str) or len(node):
            continue
        if text in {"0", "1"} and local(node) in booleans:
            node.text = "true" if text == "1" else "false"
            continue
        if not DATETIME.match(text):
            continue
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=naive_zone)
        node.text = format_datetime(value)


def parse_bool(text: str | None) -> bool:
    return (text or "").strip().lower() in {"true", "1"}


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def copy(element: Element) -> Element:
    return etree.fromstring(etree.tostring(element))


def mailbox_element(tag: str, email: str, name: str = "") -> Element:
    """``<t:{tag}><t:Mailbox>...`` as EWS writes a single recipient."""
    outer = tel(tag)
    outer.append(mailbox(email, name))
    return outer


def mailbox(email: str, name: str = "") -> Element:
    box = tel("Mailbox")
    sub(box, t("Name"), name or email)
    sub(box, t("EmailAddress"), email)
    sub(box, t("RoutingType"), "SMTP")
    sub(box, t("MailboxType"), "Mailbox")
    return box


def recipients_element(tag: str, addresses: Iterable[tuple[str, str]]) -> Element:
    outer = tel(tag)
    for email, name in addresses:
        outer.append(mailbox(email, name))
    return outer


def mailbox_addresses(element: Element | None) -> list[str]:
    """The SMTP addresses in a recipient list or single recipient element, lower-cased."""
    if element is None:
        return []
    found = []
    for box in element.iter(t("Mailbox")):
        address = ttext(box, "EmailAddress")
        if address:
            found.append(address.strip().lower())
    return found
