"""Which addresses aeflow can send to: what SMTP carries without SMTPUTF8 (RFC 5321), with an
international domain in its ASCII (IDNA) form. Pure, so the planner can leave out an address no
server would take and tell the AE, instead of holding a mail for every other recipient."""

from __future__ import annotations

import re
from contextlib import suppress

ADDRESS_LIMIT = 254  # the longest path SMTP carries (RFC 5321 4.5.3.1.3, less the brackets)
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def smtp_address(email: str) -> str:
    """``email`` as SMTP carries it; ``ValueError`` saying why when it cannot be sent to."""
    local, at, domain = email.strip().rpartition("@")
    if at and domain and not domain.isascii():
        with suppress(UnicodeError):  # an undecodable domain is reported below
            domain = domain.encode("idna").decode("ascii")
    address = f"{local}@{domain}"
    if not (at and _LOCAL_PART.fullmatch(local) and _DOMAIN.fullmatch(domain)):
        raise ValueError("not a mail address aeflow can send to")
    if len(address) > ADDRESS_LIMIT:
        raise ValueError(f"a mail address longer than {ADDRESS_LIMIT} characters")
    return address


def sendable(email: str) -> bool:
    try:
        smtp_address(email)
    except ValueError:
        return False
    return True
