"""HTTP for the loopback EWS server: reading requests, acting out injected faults, writing
answers. What an answer says is the server's business (``EwsServer.answer``)."""

from __future__ import annotations

import logging
import socket
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from lxml import etree

from tests.ews_server import responses
from tests.ews_server.faults import Fault
from tests.ews_server.xml import SOAP, Element, local

if TYPE_CHECKING:
    from tests.ews_server.server import EwsServer

log = logging.getLogger(__name__)
PATH = "/EWS/Exchange.asmx"
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class Exchange:
    """One request and its answer, kept for looking at when a test fails."""

    operation: str
    user: str
    status: int
    request: bytes
    response: bytes


def split_envelope(root: Element) -> tuple[Element | None, Element | None]:
    if root.tag != f"{{{SOAP}}}Envelope":
        return None, None
    body = root.find(f"{{{SOAP}}}Body")
    header = root.find(f"{{{SOAP}}}Header")
    if body is None:
        return None, header
    children = [child for child in body if isinstance(child.tag, str)]
    if len(children) != 1:
        return None, header
    return children[0], header


def peek_operation(body: bytes) -> str:
    """The operation a request names, without checking anything; ``?`` when it names none."""
    try:
        root = etree.fromstring(body, SAFE_PARSER)
    except etree.XMLSyntaxError:
        return "?"
    element, _ = split_envelope(root)
    return "?" if element is None else local(element)


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    ews: EwsServer

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (its timeout ran out during a slow answer) is no server fault.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("ews client %s went away", client_address)
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK holds the
    # second for ~40 ms on every request.
    disable_nagle_algorithm = True
    server: HttpServer

    def log_message(self, format: str, *args: object) -> None:
        log.debug("ews %s", format % args)

    def do_GET(self) -> None:
        self._plain(405, b"EWS takes POST")

    def do_POST(self) -> None:
        ews = self.server.ews
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        operation = peek_operation(body)
        fault = ews.take_fault(operation)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif self._commit(fault, operation, body):
                return
        if self.path.split("?")[0].lower() != PATH.lower():
            self._finish(operation, "", body, 404, b"no such endpoint", "text/plain")
            return
        user = ews.authenticate(self.headers.get("Authorization"))
        if user is None:
            self._finish(operation, "", body, 401, b"", "text/plain", unauthorized=True)
            return
        status, answer, operation = ews.answer(user, body)
        self._finish(operation, user.email, body, status, answer, "text/xml; charset=utf-8")

    def _commit(self, fault: Fault, operation: str, body: bytes) -> bool:
        """Act out ``fault``; False when the request should then be answered normally."""
        if fault.kind == "drop":
            self.server.ews.record(Exchange(operation, "", 0, body, b""))
            self.close_connection = True
            # Closing with unread data pending makes the kernel reset the connection; the
            # client sees the peer go away without a byte of answer.
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.kind == "server_busy":
            answer = responses.fault(
                "ErrorServerBusy",
                "The server cannot service this request right now. Try again later.",
                {"BackOffMilliseconds": str(fault.back_off_ms)},
            )
            self._finish(operation, "", body, 500, answer, "text/xml; charset=utf-8")
            return True
        if fault.kind == "ews_disabled":
            text = (
                b"<html><body>403 Forbidden: EWS is disabled for this organization.</body></html>"
            )
            self._finish(operation, "", body, 403, text, "text/html")
            return True
        if fault.kind == "http_status":
            self._finish(
                operation,
                "",
                body,
                fault.status,
                b"",
                "text/plain",
                unauthorized=fault.status == 401,
                retry_after=fault.retry_after,
            )
            return True
        return False

    def _finish(
        self,
        operation: str,
        user: str,
        request: bytes,
        status: int,
        answer: bytes,
        content_type: str,
        unauthorized: bool = False,
        retry_after: str = "",
    ) -> None:
        self.server.ews.record(Exchange(operation, user, status, request, answer))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(answer)))
        if unauthorized:
            self.send_header("WWW-Authenticate", 'Basic realm="ews.aeflow.test"')
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(answer)

    def _plain(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)
