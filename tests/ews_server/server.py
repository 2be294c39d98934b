"""The loopback EWS endpoint: Basic authentication, schema checks, dispatch to the operations."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from lxml import etree

from tests.ews_server import responses
from tests.ews_server.core import Core, Mailbox
from tests.ews_server.faults import Fault, FaultQueue
from tests.ews_server.handler import (
    PATH,
    SAFE_PARSER,
    Exchange,
    HttpServer,
    RequestHandler,
    split_envelope,
)
from tests.ews_server.responses import EwsError
from tests.ews_server.schema import Schemas, load_schemas
from tests.ews_server.stats import RequestStats
from tests.ews_server.xml import Element, M, T, local, ttext


@dataclass
class Request:
    """One SOAP request as the operation handlers see it."""

    core: Core
    schemas: Schemas
    user: Mailbox  # who authenticated
    mailbox: Mailbox  # whose mailbox the request acts on (impersonation may differ)
    operation: str
    element: Element
    version: str
    time_zone: str | None = None  # the Windows zone id of the header's TimeZoneContext


Handler = Callable[[Request], Element]


def _operations() -> dict[str, Handler]:
    from tests.ews_server import ops_folders, ops_items, ops_write

    table: dict[str, Handler] = {}
    for module in (ops_folders, ops_items, ops_write):
        table.update(module.OPERATIONS)
    return table


class EwsServer:
    """An EWS endpoint on 127.0.0.1 holding several mailboxes in memory.

    ``with EwsServer() as server:`` starts it on a free port in a daemon thread; leaving stops it.
    Every request's operation element (and its SOAP header entries) is checked against the
    official schemas, and so is every answer; what fails lands in ``invalid`` (so does a bug of
    the server's own, answered as ErrorInternalServerError). Operations it does not implement
    are answered with ErrorInvalidOperation and listed in ``unsupported``. ``exchanges`` keeps
    every request and answer. ``version`` is what ServerVersionInfo claims (Exchange2010_SP2,
    Exchange2013, Exchange2013_SP1, Exchange2016, Exchange2019); ``time_zone`` (a Windows or
    IANA name) is where recurring items without a zone of their own repeat; ``clock`` (aware
    datetimes) stamps what the server sends and delivers.
    """

    def __init__(
        self,
        *,
        validate: bool = True,
        version: str = "Exchange2016",
        time_zone: str = "China Standard Time",
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if version not in responses.SERVER_VERSIONS:
            raise ValueError(f"version is one of {sorted(responses.SERVER_VERSIONS)}")
        self.validate = validate
        self.version = version
        self.time_zone = time_zone
        self.schemas = load_schemas()
        self._core = Core(time_zone, clock)
        self._faults = FaultQueue()
        self._operations = _operations()
        self.stats = RequestStats()
        self.invalid: list[str] = []
        self.unsupported: list[str] = []
        self.exchanges: list[Exchange] = []
        self.url = ""
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> EwsServer:
        httpd = HttpServer(("127.0.0.1", 0), RequestHandler)
        httpd.ews = self
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}{PATH}"
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ews-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> EwsServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- mailboxes, faults, checks -----------------------------------------------------------

    def add_mailbox(self, email: str, password: str = "secret", name: str = "") -> Mailbox:
        with self._core.lock:
            key = email.strip().lower()
            if key in self._core.mailboxes:
                raise ValueError(f"there is already a mailbox {key}")
            box = Mailbox(self._core, key, password, name)
            self._core.mailboxes[key] = box
            return box

    def mailbox(self, email: str) -> Mailbox:
        found = self._core.mailbox_of(email)
        if found is None:
            raise KeyError(f"no mailbox {email}")
        return found

    def inject(self, fault: Fault) -> None:
        """Queue ``fault`` for the next request(s) it matches."""
        self._faults.add(fault)

    def take_fault(self, operation: str) -> Fault | None:
        return self._faults.take(operation)

    def pending_faults(self) -> list[Fault]:
        """Injected faults not used up yet."""
        return self._faults.pending()

    def clear_faults(self) -> None:
        self._faults.clear()

    def assert_valid(self) -> None:
        if self.invalid:
            raise AssertionError(
                "the EWS server saw invalid requests or answers:\n" + "\n".join(self.invalid)
            )

    # -- one request -------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Mailbox | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        # Exchange takes DOMAIN\user and UPNs; the loopback server knows SMTP addresses only.
        found = self._core.mailbox_of(user.rsplit("\\", 1)[-1])
        if found is None or found.password != password:
            return None
        return found

    def answer(self, user: Mailbox, body: bytes) -> tuple[int, bytes, str]:
        """(HTTP status, response body, operation) for a request body from ``user``."""
        try:
            root = etree.fromstring(body, SAFE_PARSER)
        except etree.XMLSyntaxError as error:
            self.invalid.append(f"request is not XML: {error}")
            return 500, responses.fault("ErrorSchemaValidation", f"not XML: {error}"), "?"
        operation_element, header = split_envelope(root)
        if operation_element is None:
            self.invalid.append("request has no SOAP body with an EWS operation")
            return 500, responses.fault("ErrorSchemaValidation", "no operation in Body"), "?"
        operation = local(operation_element)
        problems = self._check_request(operation_element, header)
        if problems:
            self.invalid.extend(f"request {operation}: {p}" for p in problems)
            return 500, responses.fault("ErrorSchemaValidation", "; ".join(problems)), operation
        version = "Exchange2007_SP1"
        acting = user
        zone_name = None
        if header is not None:
            zone = header.find(f"{{{T}}}TimeZoneContext/{{{T}}}TimeZoneDefinition")
            zone_name = zone.get("Id") if zone is not None else None
            requested = header.find(f"{{{T}}}RequestServerVersion")
            if requested is not None:
                version = requested.get("Version", version)
            impersonation = header.find(f"{{{T}}}ExchangeImpersonation")
            if impersonation is not None:
                sid = impersonation.find(f"{{{T}}}ConnectingSID")
                address = ttext(sid, "PrimarySmtpAddress") or ttext(sid, "SmtpAddress") or ""
                target = self._core.mailbox_of(address)
                if target is None:
                    text = f"no mailbox {address} to impersonate"
                    return 500, responses.fault("ErrorNonExistentMailbox", text), operation
                acting = target
        if not self._understands(version):
            text = "The specified server version is invalid."
            return 500, responses.fault("ErrorInvalidServerVersion", text), operation
        handler = self._operations.get(operation)
        if handler is None:
            self.unsupported.append(operation)
            text = f"the loopback server does not implement {operation}"
            return 500, responses.fault("ErrorInvalidOperation", text), operation
        request = Request(
            self._core, self.schemas, user, acting, operation, operation_element, version, zone_name
        )
        try:
            with self._core.lock:
                result = handler(request)
        except EwsError as error:
            return 500, responses.fault(error.code, error.text, error.values), operation
        except Exception:
            self.invalid.append(f"internal error in {operation}:\n{traceback.format_exc()}")
            return (
                500,
                responses.fault("ErrorInternalServerError", "loopback server bug"),
                operation,
            )
        if self.validate:
            for problem in self.schemas.validate(result):
                self.invalid.append(f"response {operation}: {problem}")
        return 200, responses.envelope(result, self.version), operation

    def _check_request(self, operation_element: Element, header: Element | None) -> list[str]:
        if etree.QName(operation_element).namespace != M:
            return [f"{operation_element.tag} is not in the messages namespace"]
        if not self.validate:
            return []
        problems = []
        if header is not None:
            for entry in header:
                if not isinstance(entry.tag, str) or etree.QName(entry).namespace != T:
                    continue
                version = entry.get("Version") if local(entry) == "RequestServerVersion" else ""
                if version and version not in responses.REQUEST_VERSIONS:
                    # Exchange answers a version it does not know with ErrorInvalidServerVersion,
                    # which clients rely on to find one it takes; that is not a malformed request.
                    continue
                problems.extend(self.schemas.validate(entry))
        problems.extend(self.schemas.validate(operation_element))
        return problems

    def _understands(self, version: str) -> bool:
        """Whether a request of ``version`` is one this server's version can answer."""
        known = responses.REQUEST_VERSIONS
        newest = {
            "Exchange2010_SP2": "Exchange2010_SP2",
            "Exchange2013": "Exchange2013",
            "Exchange2013_SP1": "Exchange2013_SP1",
        }.get(self.version, known[-1])
        return version in known and known.index(version) <= known.index(newest)

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self.stats.record(exchange.operation, len(exchange.request), len(exchange.response))
