"""Whose mailbox a request acts on, which versions the loopback EWS server answers, its clock,
and messages that clients hand over as MIME."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    Account,
    Configuration,
    Credentials,
    ExtendedProperty,
    Message,
    Version,
)
from exchangelib.errors import ErrorItemNotFound
from exchangelib.protocol import FailFast
from exchangelib.version import EXCHANGE_2016
from lxml import etree

from tests.conftest import require_corpus
from tests.ews_server import EwsServer
from tests.ews_server.client import account
from tests.ews_server.fixtures import ews_server_fixture
from tests.ews_server.store import decode_id
from tests.ews_server.xml import SOAP, M, T

__all__ = ["ews_server_fixture"]

AE = "ae@agency.example"
ASSISTANT = "assistant@agency.example"
CLIENT = "buyer@client.example"


class AeflowHeader(ExtendedProperty):
    """An X- header as Exchange keeps it: a named property in the InternetHeaders set."""

    distinguished_property_set_id = "InternetHeaders"
    property_name = "X-AEFlow-Key"
    property_type = "String"


@pytest.fixture
def server(ews_server: EwsServer) -> EwsServer:
    for address in (AE, ASSISTANT, CLIENT):
        ews_server.add_mailbox(address)
    return ews_server


def get_inbox(server: EwsServer, user: str, header: str = "") -> etree._Element:
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}" xmlns:m="{M}" '
        f'xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}'
        "</s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
        '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds>'
        "</m:GetFolder></s:Body></s:Envelope>"
    )
    answer = requests.post(server.url, data=body.encode(), auth=(user, "secret"), timeout=10)
    return etree.fromstring(answer.content)


def test_impersonation_acts_on_the_impersonated_mailbox(server: EwsServer) -> None:
    mine = get_inbox(server, ASSISTANT).find(f".//{{{T}}}FolderId")
    impersonation = (
        "<t:ExchangeImpersonation><t:ConnectingSID>"
        f"<t:PrimarySmtpAddress>{AE}</t:PrimarySmtpAddress>"
        "</t:ConnectingSID></t:ExchangeImpersonation>"
    )
    theirs = get_inbox(server, ASSISTANT, impersonation).find(f".//{{{T}}}FolderId")
    assert mine is not None and theirs is not None
    assert decode_id(mine.get("Id")) == ["folder", ASSISTANT, "inbox"]
    assert decode_id(theirs.get("Id")) == ["folder", AE, "inbox"]


def test_a_folder_named_with_another_mailbox_is_that_mailboxs(server: EwsServer) -> None:
    Message(account=account(server, CLIENT), subject="Brief", body=".", to_recipients=[AE]).send()
    config = Configuration(
        service_endpoint=server.url,
        credentials=Credentials(ASSISTANT, "secret"),
        auth_type=BASIC,
        version=Version(build=EXCHANGE_2016),
        retry_policy=FailFast(),
    )
    delegate = Account(AE, config=config, autodiscover=False, access_type=DELEGATE)
    assert [item.subject for item in delegate.inbox.all()] == ["Brief"]
    assert {e.user for e in server.exchanges} == {CLIENT, ASSISTANT}


def test_an_older_server_is_found_by_exchangelibs_version_fallback() -> None:
    require_corpus("ews")
    with EwsServer(version="Exchange2010_SP2") as server:
        server.add_mailbox(AE)
        ae = account(server, AE)
        assert ae.inbox.name == "Inbox"
        assert ae.version.api_version == "Exchange2010_SP2"
        refused = [e for e in server.exchanges if e.status == 500]
        assert refused and all(b"ErrorInvalidServerVersion" in e.response for e in refused)
        server.assert_valid()


def test_the_servers_clock_stamps_what_it_delivers() -> None:
    require_corpus("ews")
    moment = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    with EwsServer(clock=lambda: moment) as server:
        server.add_mailbox(AE)
        server.add_mailbox(CLIENT)
        Message(account=account(server, AE), subject="Hi", body=".", to_recipients=[CLIENT]).send()
        (received,) = account(server, CLIENT).inbox.all()
        assert received.datetime_received == moment
        assert received.datetime_sent == moment
        server.assert_valid()


def test_a_message_handed_over_as_mime_keeps_its_message_id_and_x_headers(
    server: EwsServer,
) -> None:
    raw = (
        b"From: ae@agency.example\r\nTo: buyer@client.example\r\nSubject: Minutes 1 Dec\r\n"
        b"Message-ID: <minutes.42@agency.example>\r\nX-AEFlow-Key: minutes:42\r\n"
        b"Disposition-Notification-To: ae@agency.example\r\n\r\nConclusions and next steps.\r\n"
    )
    ae = account(server, AE)
    Message(account=ae, folder=ae.sent, mime_content=raw).send_and_save()
    Message.register("aeflow_header", AeflowHeader)
    try:
        (sent,) = ae.sent.filter(aeflow_header="minutes:42")
    finally:
        Message.deregister("aeflow_header")
    assert sent.message_id == "<minutes.42@agency.example>"
    assert sent.subject == "Minutes 1 Dec" and sent.is_read_receipt_requested
    (received,) = account(server, CLIENT).inbox.all()
    assert ("X-AEFlow-Key", "minutes:42") in [(h.name, h.value) for h in received.headers]
    assert received.author.email_address == AE


def test_marking_read_through_exchangelib_suppresses_the_receipt_but_syncs_the_flag(
    server: EwsServer,
) -> None:
    ae = account(server, AE)
    Message(
        account=ae, subject="Quote", body=".", to_recipients=[CLIENT],
        is_read_receipt_requested=True,
    ).send()  # fmt: skip
    client = account(server, CLIENT)
    list(client.inbox.sync_items())
    state = client.inbox.item_sync_state
    (item,) = client.inbox.all()
    item.is_read = True
    item.save(update_fields=["is_read"])  # exchangelib sends SuppressReadReceipts="true"
    assert [kind for kind, _ in client.inbox.sync_items(sync_state=state)] == ["read_flag_change"]
    assert server.mailbox(AE).items("inbox") == []


def test_a_deleted_item_is_not_found(server: EwsServer) -> None:
    ae = account(server, AE)
    Message(account=ae, subject="Draft", body=".", folder=ae.drafts).save()
    (draft,) = ae.drafts.all()
    draft_id = draft.id
    draft.move_to_trash()  # DeleteType MoveToDeletedItems
    (moved,) = ae.trash.all()
    assert moved.subject == "Draft" and moved.id == draft_id
    moved.delete()  # HardDelete
    (answer,) = ae.fetch(ids=[(draft_id, None)])
    assert isinstance(answer, ErrorItemNotFound)
    assert list(ae.trash.all()) == []
