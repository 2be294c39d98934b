"""A loopback EWS server for tests: several mailboxes in memory, delivering between them,
speaking the SOAP operations exchangelib sends, every request and answer checked against the
official EWS schemas (the corpus's ews/schema-*.xsd).

    with EwsServer() as server:
        server.add_mailbox("ae@agency.example", "secret")
        account = tests.ews_server.client.account(server, "ae@agency.example", "secret")
        ...
        server.assert_valid()

Operations: GetFolder, FindFolder, ResolveNames, ConvertId, GetItem, FindItem (paged views,
CalendarView with recurring series expanded, restrictions, sort), SyncFolderItems, CreateItem
(messages, calendar items with invitations, Accept/TentativelyAccept/Decline, CancelCalendarItem,
replies and forwards), UpdateItem, DeleteItem, SendItem, MoveItem. Reports (NDR, delivery and read
receipts) are ``<t:Message>`` items of class REPORT.IPM.Note.* with an RFC 3464 / RFC 8098
multipart/report as MIME: the schema has no report element, and exchangelib reads them as
``Message``. ``tests.ews_server.fixtures`` has the pytest fixture.
"""

from __future__ import annotations

from tests.ews_server.core import Mailbox
from tests.ews_server.faults import Fault
from tests.ews_server.handler import Exchange
from tests.ews_server.server import EwsServer
from tests.ews_server.stats import OpStats, RequestStats
from tests.ews_server.store import StoredItem

__all__ = ["EwsServer", "Exchange", "Fault", "Mailbox", "OpStats", "RequestStats", "StoredItem"]
