"""The official EWS schemas (Messages.xsd, Types.xsd from the corpus), loaded once per process.

Two uses: validating every request and response element against them with lxml, and knowing the
order of the child elements of each complex type, so that items the server writes follow the
schema's sequences whatever order the properties were stored in.

Types.xsd imports the XML namespace without a location and Messages.xsd imports ``types.xsd`` by a
name that differs from the corpus file's; a resolver answers both, the first with a small schema
declaring ``xml:lang``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from tests.conftest import CORPUS, require_corpus
from tests.ews_server.xml import Element, T

XSD = "http://www.w3.org/2001/XMLSchema"
XML_NAMESPACE_SCHEMA = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="lang" type="xs:language"/>
</xs:schema>"""
XML_IMPORT = b'<xs:import namespace="http://www.w3.org/XML/1998/namespace"/>'
XML_IMPORT_LOCATED = (
    b'<xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xml-lang.xsd"/>'
)


def schema_folder() -> Path:
    return CORPUS / "ews"


class _Resolver(etree.Resolver):  # type: ignore[misc]
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        name = system_url.rsplit("/", 1)[-1]
        if name == "types.xsd":
            data = (self.folder / "schema-Types.xsd").read_bytes()
            if XML_IMPORT not in data:
                raise ValueError("schema-Types.xsd no longer imports the XML namespace as expected")
            data = data.replace(XML_IMPORT, XML_IMPORT_LOCATED, 1)
            return self.resolve_string(data, context, base_url=str(self.folder / "types.xsd"))
        if name == "xml-lang.xsd":
            return self.resolve_string(XML_NAMESPACE_SCHEMA, context)
        return None


@dataclass(frozen=True)
class Child:
    """One element a complex type may hold, in schema order."""

    name: str
    type_name: str | None  # local name of a named type in the types namespace, if any


class Schemas:
    """The compiled schema and the child order of every named complex type in Types.xsd."""

    def __init__(self, folder: Path) -> None:
        messages = folder / "schema-Messages.xsd"
        types = folder / "schema-Types.xsd"
        for path in (messages, types):
            if not path.is_file():
                raise FileNotFoundError(f"the EWS schema {path} is missing")
        parser = etree.XMLParser(huge_tree=True)
        parser.resolvers.add(_Resolver(folder))
        self.schema = etree.XMLSchema(etree.parse(str(messages), parser))
        self._lock = threading.Lock()
        types_root = etree.parse(str(types), etree.XMLParser(huge_tree=True)).getroot()
        self._complex = {
            node.get("name"): node for node in types_root.findall(f"{{{XSD}}}complexType")
        }
        self._groups = {node.get("name"): node for node in types_root.findall(f"{{{XSD}}}group")}
        self._order: dict[str, list[Child]] = {}
        self.booleans = self._boolean_elements(types_root)

    def validate(self, element: Element) -> list[str]:
        """The schema violations of ``element`` (a global element of either schema), as text."""
        document = etree.ElementTree(etree.fromstring(etree.tostring(element)))
        # XMLSchema objects are not safe to share between threads while validating.
        with self._lock:
            ok = self.schema.validate(document)
            log = self.schema.error_log
        if ok:
            return []
        return [f"{etree.QName(element).localname}: line {e.line}: {e.message}" for e in log]

    @staticmethod
    def _boolean_elements(root: Element) -> frozenset[str]:
        """Names of the elements declared xs:boolean (and never anything else)."""
        kinds: dict[str, set[str]] = {}
        for node in root.iter(f"{{{XSD}}}element"):
            if node.get("name"):
                kinds.setdefault(node.get("name"), set()).add(node.get("type") or "")
        return frozenset(name for name, types in kinds.items() if types == {"xs:boolean"})

    def children(self, type_name: str) -> list[Child]:
        """The elements of complex type ``type_name`` (base type's first), in schema order."""
        cached = self._order.get(type_name)
        if cached is None:
            node = self._complex.get(type_name)
            if node is None:
                raise KeyError(f"no complex type {type_name} in Types.xsd")
            cached = list(self._walk(node))
            self._order[type_name] = cached
        return cached

    def _walk(self, node: Element) -> Iterable[Child]:
        for part in node:
            if not isinstance(part.tag, str):
                continue
            kind = etree.QName(part).localname
            if kind == "element":
                name = part.get("name") or (part.get("ref") or "").split(":")[-1]
                type_ref = part.get("type") or ""
                prefix, _, type_local = type_ref.rpartition(":")
                yield Child(name, type_local if prefix == "t" else None)
            elif kind in {"sequence", "choice", "complexContent", "all"}:
                yield from self._walk(part)
            elif kind in {"extension", "restriction"}:
                base = (part.get("base") or "").split(":")[-1]
                if kind == "extension" and base in self._complex:
                    yield from self.children(base)
                yield from self._walk(part)
            elif kind == "group":
                group = self._groups.get((part.get("ref") or "").split(":")[-1])
                if group is not None:
                    yield from self._walk(group)

    def ordered(self, type_name: str, parent: Element, children: Iterable[Element]) -> Element:
        """Append ``children`` to ``parent`` in the order ``type_name`` prescribes; children the
        type does not have are left out."""
        by_name: dict[str, list[Element]] = {}
        for child in children:
            by_name.setdefault(etree.QName(child).localname, []).append(child)
        for entry in self.children(type_name):
            for child in by_name.pop(entry.name, []):
                parent.append(child)
        return parent


_cache: dict[Path, Schemas] = {}
_cache_lock = threading.Lock()


def load_schemas(folder: Path | None = None) -> Schemas:
    """The schemas in ``folder`` (the corpus's ews folder by default), compiled once per process.

    Every ``EwsServer`` loads them here, so this is the one place a missing corpus is handled:
    the test (or the fixture starting the server) skips naming the folder, or fails under CI.
    """
    where = (folder or require_corpus("ews")).resolve()
    with _cache_lock:
        found = _cache.get(where)
        if found is None:
            found = Schemas(where)
            _cache[where] = found
        return found


__all__ = ["Child", "Schemas", "T", "load_schemas", "schema_folder"]
