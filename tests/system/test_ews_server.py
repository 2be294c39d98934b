"""The loopback EWS server driven by exchangelib: first contact, sending, finding by key, reports,
sync, the schema check and the statistics. Meetings and faults have their own modules."""

from __future__ import annotations

import base64
import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest
import requests
from exchangelib import ExtendedProperty, Message
from exchangelib.errors import ErrorCorruptData, ErrorInvalidSyncStateData
from flufl.bounce import scan_message
from lxml import etree

from tests.ews_server import EwsServer
from tests.ews_server.client import account
from tests.ews_server.fixtures import ews_server_fixture
from tests.ews_server.store import decode_id, encode_id
from tests.ews_server.xml import SOAP, M, T

__all__ = ["ews_server_fixture"]

AE = "ae@agency.example"
CLIENT = "buyer@client.example"


class LoopbackKey(ExtendedProperty):
    """The key a sent message is stamped with, as the EWS mail adapter stamps its messages."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "LoopbackTestKey"
    property_type = "String"


@pytest.fixture
def keyed_messages() -> Iterator[None]:
    Message.register("loopback_key", LoopbackKey)
    yield
    Message.deregister("loopback_key")


@pytest.fixture
def server(ews_server: EwsServer) -> EwsServer:
    ews_server.add_mailbox(AE, "ae-secret", "Account Executive")
    ews_server.add_mailbox(CLIENT, "client-secret", "Buyer")
    return ews_server


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_first_contact_finds_the_folders_with_every_request_and_answer_in_schema(
    server: EwsServer,
) -> None:
    ae = account(server, AE, "ae-secret")
    assert (ae.inbox.name, ae.sent.name, ae.calendar.name) == ("Inbox", "Sent Items", "Calendar")
    assert ae.inbox.total_count == 0
    assert server.stats.count("GetFolder") >= 3
    assert server.invalid == []
    for exchange in server.exchanges:
        root = etree.fromstring(exchange.response)
        assert root.find(f"{{{SOAP}}}Header/{{{T}}}ServerVersionInfo") is not None
        code = root.find(".//{*}ResponseCode")
        assert code is not None and code.text == "NoError"


@pytest.mark.usefixtures("keyed_messages")
def test_a_sent_message_is_found_in_sent_items_by_its_key(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    message = Message(
        account=ae,
        folder=ae.sent,
        subject="Proposal v2",
        body="Please find the proposal.",
        to_recipients=[CLIENT],
        is_read_receipt_requested=True,
        is_delivery_receipt_requested=True,
        loopback_key="confirm:kickoff:2026-12-01",
    )
    message.send_and_save()
    assert server.stats.count("CreateItem") == 1
    found = list(ae.sent.filter(loopback_key="confirm:kickoff:2026-12-01"))
    assert [item.subject for item in found] == ["Proposal v2"]
    assert list(ae.sent.filter(loopback_key="confirm:other")) == []
    sent = found[0]
    assert sent.is_read_receipt_requested and sent.is_delivery_receipt_requested
    fetched = next(iter(ae.fetch(ids=[sent], only_fields=["mime_content", "message_id"])))
    assert parse(fetched.mime_content)["Message-ID"] == fetched.message_id
    received = server.mailbox(CLIENT).items("inbox")
    assert [item.subject for item in received] == ["Proposal v2"]
    assert received[0].extended_value("PublicStrings", "LoopbackTestKey") == (
        "confirm:kickoff:2026-12-01"
    )
    assert received[0].message_id == sent.message_id


def test_a_message_to_an_unknown_address_bounces_with_a_dsn_naming_the_original(
    server: EwsServer,
) -> None:
    ae = account(server, AE, "ae-secret")
    Message(
        account=ae, folder=ae.sent, subject="Agenda", body="Agenda attached.",
        to_recipients=["nobody@client.example"],
    ).send_and_save()  # fmt: skip
    original = ae.sent.all().only("message_id")[0].message_id
    reports = list(ae.inbox.all())
    assert [(type(r).__name__, r.item_class) for r in reports] == [
        ("Message", "REPORT.IPM.Note.NDR")
    ]
    raw = next(iter(ae.fetch(ids=reports, only_fields=["mime_content"]))).mime_content
    dsn = parse(raw)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    per_recipient = status.get_payload()[1]
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Final-Recipient"] == "rfc822; nobody@client.example"
    assert per_recipient["Status"].startswith("5.")
    headers = next(p for p in dsn.walk() if p.get_content_type() == "text/rfc822-headers")
    assert parse(headers.get_payload(decode=True))["Message-ID"] == original
    assert scan_message(email.message_from_bytes(raw)) == {b"nobody@client.example"}


def test_a_delivery_receipt_answers_a_message_that_asked_for_one(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    Message(
        account=ae, subject="Schedule", body="Next week.", to_recipients=[CLIENT],
        is_delivery_receipt_requested=True,
    ).send(save_copy=False)  # fmt: skip
    assert server.mailbox(AE).items("sentitems") == []  # SendOnly keeps no copy
    (receipt,) = server.mailbox(AE).items("inbox")
    assert receipt.item_class == "REPORT.IPM.Note.DR"
    dsn = parse(receipt.mime or b"")
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    assert status.get_payload()[1]["Action"] == "delivered"
    delivered = server.mailbox(CLIENT).items("inbox")[0]
    assert receipt.fields["InReplyTo"] == delivered.message_id


def test_marking_read_a_message_that_asked_for_it_sends_one_read_receipt(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    Message(
        account=ae, subject="Minutes", body="Minutes of the meeting.", to_recipients=[CLIENT],
        is_read_receipt_requested=True,
    ).send()  # fmt: skip
    client = server.mailbox(CLIENT)
    (received,) = client.items("inbox")
    assert not received.is_read
    client.mark_read(received.item_id)
    client.mark_read(received.item_id)
    assert received.is_read
    reports = list(account(server, AE, "ae-secret").inbox.all())
    assert [r.item_class for r in reports] == ["REPORT.IPM.Note.IPNRN"]
    mdn = parse(server.mailbox(AE).items("inbox")[0].mime or b"")
    assert mdn.get_param("report-type") == "disposition-notification"
    notification = next(
        p for p in mdn.walk() if p.get_content_type() == "message/disposition-notification"
    )
    fields = notification.get_payload()[0]
    assert fields["Original-Message-ID"] == received.message_id
    assert "displayed" in fields["Disposition"]


def test_sync_reports_creations_page_by_page_then_nothing_then_what_changed(
    server: EwsServer,
) -> None:
    ae = account(server, AE, "ae-secret")
    for number in range(5):
        Message(account=ae, subject=f"Note {number}", body=".", to_recipients=[CLIENT]).send()
    client = account(server, CLIENT, "client-secret")
    server.stats.reset()
    changes = list(client.inbox.sync_items(max_changes_returned=2, only_fields=["subject"]))
    assert [(kind, item.subject) for kind, item in changes] == [
        ("create", f"Note {number}") for number in range(5)
    ]
    assert server.stats.count("SyncFolderItems") == 3  # 2 + 2 + 1, the last saying it is all
    state = client.inbox.item_sync_state
    assert list(client.inbox.sync_items(sync_state=state)) == []
    box = server.mailbox(CLIENT)
    first, second = box.items("inbox")[:2]
    box.mark_read(first.item_id)
    client.inbox.get(id=second.item_id).delete()
    later = list(client.inbox.sync_items(sync_state=state, only_fields=["subject"]))
    assert [kind for kind, _ in later] == ["read_flag_change", "delete"]
    assert later[0][1][0].id == first.item_id and later[0][1][1] is True
    assert later[1][1].id == second.item_id
    with pytest.raises(ErrorInvalidSyncStateData):
        list(client.inbox.sync_items(sync_state="bm90IGEgc3RhdGU="))


def test_mail_delivered_as_mime_is_classified_as_the_report_it_is(server: EwsServer) -> None:
    # An RFC 3464 bounce and an RFC 8098 read notice, written by hand from the RFCs' examples.
    box = server.mailbox(AE)
    bounce = (
        b"From: MAILER-DAEMON@mx.client.example\r\nTo: ae@agency.example\r\n"
        b"Subject: Delivery failure\r\nMessage-ID: <b1@mx.client.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.client.example\r\n"
        b"\r\nFinal-Recipient: rfc822; gone@client.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig@agency.example>\r\n"
        b"\r\n--b--\r\n"
    )
    notice = (
        b"From: buyer@client.example\r\nTo: ae@agency.example\r\nSubject: Read: Agenda\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="n"\r\n'
        b"\r\n--n\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--n\r\n"
        b"Content-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; buyer@client.example\r\n"
        b"Original-Message-ID: <orig@agency.example>\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n\r\n--n--\r\n"
    )
    plain = b"From: buyer@client.example\r\nTo: ae@agency.example\r\nSubject: Hi\r\n\r\nHello\r\n"
    ids = [box.deliver_mime(raw) for raw in (bounce, notice, plain)]
    classes = [box.item(item_id).item_class for item_id in ids]
    assert classes == ["REPORT.IPM.Note.NDR", "REPORT.IPM.Note.IPNRN", "IPM.Note"]
    assert box.item(ids[1]).fields["InReplyTo"] == "<orig@agency.example>"
    items = list(account(server, AE, "ae-secret").inbox.all().order_by("datetime_received"))
    assert sorted(i.item_class for i in items) == sorted(classes)


def test_an_unreadable_item_answers_corrupt_data_until_restored(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    Message(account=ae, subject="Quote", body="Quote.", to_recipients=[CLIENT]).send()
    client = account(server, CLIENT, "client-secret")
    box = server.mailbox(CLIENT)
    (item,) = box.items("inbox")
    box.garble(item.item_id)
    with pytest.raises(ErrorCorruptData):
        client.inbox.get(id=item.item_id)
    box.restore(item.item_id)
    assert client.inbox.get(id=item.item_id).subject == "Quote"


def test_an_invalid_request_body_is_caught_by_the_schema_check(server: EwsServer) -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:m="http://schemas.microsoft.com/exchange/services/'
        f'2006/messages" xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2016"/>'
        '</s:Header><s:Body><m:GetFolder><m:FolderIds><t:DistinguishedFolderId Id="inbox"/>'
        "</m:FolderIds><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
        "</m:GetFolder></s:Body></s:Envelope>"
    )  # FolderShape must come before FolderIds
    answer = requests.post(
        server.url, data=body.encode(), auth=(AE, "ae-secret"), timeout=10,
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )  # fmt: skip
    assert answer.status_code == 500
    fault = etree.fromstring(answer.content).find(f".//{{{SOAP}}}Fault")
    assert fault is not None and fault.findtext("faultcode") == "a:ErrorSchemaValidation"
    assert len(server.invalid) == 1 and "FolderIds" in server.invalid[0]
    with pytest.raises(AssertionError, match="GetFolder"):
        server.assert_valid()
    server.invalid.clear()


def test_the_schema_check_rejects_an_answer_whose_elements_are_out_of_order(
    server: EwsServer,
) -> None:
    answer = etree.fromstring(
        f'<m:GetItemResponse xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>'
        '<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
        "<m:Items><t:Message><t:Subject>x</t:Subject><t:ItemClass>IPM.Note</t:ItemClass>"
        "</t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages>"
        "</m:GetItemResponse>"
    )
    problems = server.schemas.validate(answer)
    assert problems and "ItemClass" in problems[0]


def test_stats_count_each_operation_and_its_bytes(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    ae.inbox.refresh()
    Message(account=ae, subject="Hi", body="Hi.", to_recipients=[CLIENT]).send()
    by_operation = server.stats.by_operation()
    assert by_operation["CreateItem"].count == 1
    for operation, totals in by_operation.items():
        seen = [e for e in server.exchanges if e.operation == operation]
        assert totals.count == len(seen)
        assert totals.request_bytes == sum(len(e.request) for e in seen)
        assert totals.response_bytes == sum(len(e.response) for e in seen)
    assert server.stats.total() == len(server.exchanges)
    server.stats.reset()
    assert server.stats.total() == 0 and server.stats.count("CreateItem") == 0


def test_item_ids_are_opaque_base64_as_exchange_gives_them() -> None:
    made = encode_id("item", AE, "7")
    assert base64.b64decode(made, validate=True)
    assert decode_id(made) == ["item", AE, "7"]
    assert decode_id("not base64!") is None
