"""Every operation of the reference document, and the newer ones, has a client method."""

from __future__ import annotations

import inspect

import pytest

import adapters.linq
from adapters.linq import LinqClient

from ..schema import LinqSchema

# (method, path template) -> LinqClient method. The YAML's 33 but the three gone ones.
OPERATIONS = {
    ("POST", "/v3/chats"): "create_chat",
    ("GET", "/v3/chats"): "list_chats",
    ("GET", "/v3/chats/{chatId}"): "get_chat",
    ("PUT", "/v3/chats/{chatId}"): "update_chat",
    ("POST", "/v3/chats/{chatId}/participants"): "add_participant",
    ("DELETE", "/v3/chats/{chatId}/participants"): "remove_participant",
    ("POST", "/v3/chats/{chatId}/typing"): "start_typing",
    ("DELETE", "/v3/chats/{chatId}/typing"): "stop_typing",
    ("POST", "/v3/chats/{chatId}/read"): "mark_read",
    ("POST", "/v3/chats/{chatId}/share_contact_card"): "share_contact_card",
    ("POST", "/v3/chats/{chatId}/messages"): "send_message",
    ("GET", "/v3/chats/{chatId}/messages"): "list_messages",
    ("GET", "/v3/messages/{messageId}/thread"): "message_thread",
    ("POST", "/v3/chats/{chatId}/voicememo"): "send_voice_memo",
    ("GET", "/v3/messages/{messageId}"): "get_message",
    ("PATCH", "/v3/messages/{messageId}"): "edit_message",
    ("DELETE", "/v3/messages/{messageId}"): "delete_message",
    ("POST", "/v3/messages/{messageId}/reactions"): "react",
    ("POST", "/v3/attachments"): "request_upload",
    ("GET", "/v3/attachments/{attachmentId}"): "get_attachment",
    ("GET", "/v3/phonenumbers"): "list_phone_numbers_legacy",
    ("GET", "/v3/phone_numbers"): "list_phone_numbers",
    ("GET", "/v3/webhook-events"): "list_webhook_event_types",
    ("POST", "/v3/webhook-subscriptions"): "create_webhook_subscription",
    ("GET", "/v3/webhook-subscriptions"): "list_webhook_subscriptions",
    ("GET", "/v3/webhook-subscriptions/{subscriptionId}"): "get_webhook_subscription",
    ("PUT", "/v3/webhook-subscriptions/{subscriptionId}"): "update_webhook_subscription",
    ("DELETE", "/v3/webhook-subscriptions/{subscriptionId}"): "delete_webhook_subscription",
    ("POST", "/v3/capability/check_imessage"): "check_imessage",
    ("POST", "/v3/capability/check_rcs"): "check_rcs",
}
GONE = {
    ("POST", "/v3/my_cards/{chatId}/share"),
    ("GET", "/v3/my_cards"),
    ("POST", "/v3/my_cards"),
}
"""In the YAML, removed by Linq by 0.65 (the contact-card verbs replace them)."""
NEWER_OPERATIONS = {
    ("POST", "/v3/chats/{chatId}/leave"): "leave_chat",
    ("DELETE", "/v3/attachments/{attachmentId}"): "delete_attachment",
    ("GET", "/v3/contact_card"): "get_contact_cards",
    ("POST", "/v3/contact_card"): "create_contact_card",
    ("PATCH", "/v3/contact_card"): "update_contact_card",
    ("POST", "/v3/messages"): "send_to_handles",
    ("POST", "/v3/chats/{chatId}/polls"): "create_poll",
    ("GET", "/v3/messages/{messageId}/poll"): "get_poll",
    ("POST", "/v3/messages/{messageId}/poll/options"): "add_poll_options",
    ("POST", "/v3/messages/{messageId}/poll/votes"): "vote_poll",
    ("GET", "/v3/blocked_handles"): "list_blocked_handles",
    ("POST", "/v3/blocked_handles"): "block_handle",
    ("DELETE", "/v3/blocked_handles"): "unblock_handle",
    ("POST", "/v3/chats/{chatId}/location/request"): "request_location",
    ("GET", "/v3/chats/{chatId}/location"): "get_locations",
    ("DELETE", "/v3/chats/{chatId}/location"): "stop_location_share",
    ("POST", "/v3/chats/{chatId}/background"): "set_chat_background",
    ("DELETE", "/v3/chats/{chatId}/background"): "reset_chat_background",
    ("PUT", "/v3/phone_numbers/{phoneNumberId}"): "set_call_forwarding",
    ("POST", "/v3/phone_numbers/{phoneNumber}/reputation_audit"): "start_reputation_audit",
    ("GET", "/v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}"): ("get_reputation_audit"),
    ("GET", "/v3/available_number"): "get_available_number",
    ("GET", "/v3/experiences"): "list_experiences",
    ("GET", "/v3/experiences/{experience}"): "get_experience",
    ("POST", "/v3/messages/{messageId}/update"): "update_message_card",
    ("PATCH", "/v3/messages/{messageId}/reactions/{reactionId}"): "update_sticker_placement",
}
CONVENIENCES = {"remove_reaction", "upload", "aclose", "config"}


def test_the_table_names_30_surviving_documented_operations_and_26_newer_ones() -> None:
    assert (30, 3, 26) == (len(OPERATIONS), len(GONE), len(NEWER_OPERATIONS))


def test_every_documented_operation_is_in_the_table_or_gone(linq_schema: LinqSchema) -> None:
    assert linq_schema.operations() == set(OPERATIONS) | GONE


def test_the_newer_operations_are_not_in_the_reference_document(linq_schema: LinqSchema) -> None:
    assert [] == [op for op in NEWER_OPERATIONS if linq_schema.has(*op)]


def test_every_operation_has_a_client_method_and_nothing_else_is_public() -> None:
    public = {name for name, _ in inspect.getmembers(LinqClient) if not name.startswith("_")}

    assert public == set(OPERATIONS.values()) | set(NEWER_OPERATIONS.values()) | CONVENIENCES


def test_the_package_exports_a_sorted_all() -> None:
    assert sorted(adapters.linq.__all__) == adapters.linq.__all__
    for name in adapters.linq.__all__:
        assert hasattr(adapters.linq, name), name


@pytest.mark.parametrize("name", sorted(set(OPERATIONS.values()) | set(NEWER_OPERATIONS.values())))
def test_every_operation_method_documents_itself(name: str) -> None:
    doc = inspect.getdoc(getattr(LinqClient, name)) or ""

    assert doc.strip(), f"{name} has no docstring"
