"""The shapes of EWS answers: the envelope with ServerVersionInfo, response messages, SOAP faults.

They follow what recorded Exchange answers show (the corpus's ews/*.xml): ``ResponseClass`` and
``ResponseCode`` on every message, ``MessageText`` / ``DescriptiveLinkKey`` / ``MessageXml`` on
errors, and faults with the code in the errors namespace inside ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from tests.ews_server.xml import SOAP, E, Element, T, m, mel, sub, t

# ServerVersionInfo per version the server may claim: (major, minor, build, revision, Version).
SERVER_VERSIONS = {
    "Exchange2010_SP2": (14, 3, 123, 4, "Exchange2010_SP2"),
    "Exchange2013": (15, 0, 1497, 2, "V2_23"),
    "Exchange2013_SP1": (15, 0, 1497, 2, "V2_23"),
    "Exchange2016": (15, 1, 2507, 6, "V2017_07_11"),
    "Exchange2019": (15, 2, 1118, 7, "V2017_07_11"),
}
# The request versions of the schema's ExchangeVersionType, oldest first.
REQUEST_VERSIONS = [
    "Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
    "Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
    "Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10",
    "V2017_01_07", "V2017_04_14", "V2017_07_11",
]  # fmt: skip


@dataclass
class EwsError(Exception):
    """An Exchange error code to answer with, for one item or for the whole request."""

    code: str
    text: str
    values: dict[str, str] = field(default_factory=dict)  # MessageXml <t:Value Name=...>

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


def server_version_info(version: str) -> Element:
    major, minor, build, revision, label = SERVER_VERSIONS[version]
    info = etree.Element(t("ServerVersionInfo"), nsmap={"h": T})
    info.set("MajorVersion", str(major))
    info.set("MinorVersion", str(minor))
    info.set("MajorBuildNumber", str(build))
    info.set("MinorBuildNumber", str(revision))
    info.set("Version", label)
    return info


def envelope(body_child: Element, version: str | None) -> bytes:
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP})
    if version is not None:
        header = sub(root, f"{{{SOAP}}}Header")
        header.append(server_version_info(version))
    body = sub(root, f"{{{SOAP}}}Body")
    body.append(body_child)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def message(operation: str, container: Element | None = None, tag: str | None = None) -> Element:
    """A successful ``m:{operation}ResponseMessage``, holding ``container`` if given."""
    element = mel(tag or f"{operation}ResponseMessage", ResponseClass="Success")
    sub(element, m("ResponseCode"), "NoError")
    if container is not None:
        element.append(container)
    return element


def error_message(
    operation: str, error: EwsError, container: str | None = None, tag: str | None = None
) -> Element:
    element = mel(tag or f"{operation}ResponseMessage", ResponseClass="Error")
    sub(element, m("MessageText"), error.text)
    sub(element, m("ResponseCode"), error.code)
    sub(element, m("DescriptiveLinkKey"), "0")
    if error.values:
        xml = sub(element, m("MessageXml"))
        for name, value in error.values.items():
            sub(xml, t("Value"), value, Name=name)
    if container:
        sub(element, m(container))
    return element


def response(operation: str, messages: list[Element]) -> Element:
    element = mel(f"{operation}Response")
    holder = sub(element, m("ResponseMessages"))
    for entry in messages:
        holder.append(entry)
    return element


def fault(code: str, text: str, values: dict[str, str] | None = None) -> bytes:
    """A SOAP fault as Exchange sends for request-level errors (schema, throttling)."""
    root = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP})
    body = sub(root, f"{{{SOAP}}}Body")
    fault_element = sub(body, f"{{{SOAP}}}Fault")
    code_element = etree.SubElement(fault_element, "faultcode", nsmap={"a": T})
    code_element.text = f"a:{code}"
    string = sub(fault_element, "faultstring", text)
    string.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = sub(fault_element, "detail")
    code_detail = etree.SubElement(detail, f"{{{E}}}ResponseCode", nsmap={"e": E})
    code_detail.text = code
    text_detail = etree.SubElement(detail, f"{{{E}}}Message", nsmap={"e": E})
    text_detail.text = text
    if values:
        xml = etree.SubElement(detail, t("MessageXml"), nsmap={"t": T})
        for name, value in values.items():
            sub(xml, t("Value"), value, Name=name)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
