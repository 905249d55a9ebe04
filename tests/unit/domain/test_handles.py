"""Handles: E.164 numbers and email addresses validate themselves; the lenient parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import Handle, HandleKind, InvalidHandleError, parse_handle
from caresupport_transport.handles import E164_PATTERN

e164_numbers = st.from_regex(r"^\+[1-9][0-9]{1,14}$", fullmatch=True)


@given(e164_numbers)
def test_every_e164_number_constructs_a_phone_handle(number: str) -> None:
    handle = Handle(number)

    assert number == handle.value
    assert HandleKind.PHONE is handle.kind
    assert handle.is_phone
    assert not handle.is_email


@given(st.text())
def test_random_text_is_either_a_handle_or_an_invalid_handle_error(text: str) -> None:
    error: InvalidHandleError | None = None
    try:
        handle = Handle(text)
    except InvalidHandleError as exc:  # any other exception fails the test
        error = exc

    if error is None:
        assert bool(E164_PATTERN.fullmatch(text)) == handle.is_phone
    else:
        assert "handle" == error.field
        assert repr(text) in str(error)
        assert "E.164" in str(error)


@given(st.one_of(st.text(), st.none(), st.integers()))
def test_lenient_parser_on_random_input_raises_only_invalid_handle_error(value: object) -> None:
    error: InvalidHandleError | None = None
    try:
        handle = parse_handle(value)  # type: ignore[arg-type]
    except InvalidHandleError as exc:  # any other exception fails the test
        error = exc

    if error is None:
        assert Handle(handle.value) == handle
    else:
        assert repr(value) in str(error)


def test_an_invalid_handle_error_is_a_value_error() -> None:
    assert issubclass(InvalidHandleError, ValueError)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary()))
def test_a_non_string_handle_is_refused_as_not_a_string(value: object) -> None:
    with pytest.raises(InvalidHandleError, match="is not a string"):
        Handle(value)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "+",
        "+1",
        "+0123456789",
        "6517037981",
        "+1651703798123456",
        "+1 651 703 7981",
        "+16517037981\n",
        "not a handle",
        "care@",
        "@example.org",
        "care@example",
        "care@@example.org",
        "care@-example.org",
        "care example@example.org",
    ],
)
def test_an_invalid_handle_error_names_the_value_and_the_rule(bad: str) -> None:
    with pytest.raises(InvalidHandleError) as caught:
        Handle(bad)

    message = str(caught.value)
    assert bad == caught.value.value
    assert repr(bad) in message
    assert "E.164" in message
    assert r"^\+[1-9][0-9]{1,14}$" in message
    assert "email address" in message


def test_an_email_longer_than_254_characters_is_refused() -> None:
    local = "a" * 64
    domain = ".".join(["b" * 60] * 4) + ".org"
    with pytest.raises(InvalidHandleError):
        Handle(f"{local}@{domain}")


@pytest.mark.parametrize(
    "typed",
    [
        "(651) 703-7981",
        "651.703.7981",
        "651-703-7981",
        "651 703 7981",
        "1 651 703 7981",
        "1-651-703-7981",
        "+1 (651) 703-7981",
        "  6517037981  ",
        "001 651 703 7981",
    ],
)
def test_lenient_parser_reads_us_numbers_as_people_type_them(typed: str) -> None:
    assert Handle("+16517037981") == parse_handle(typed, default_country="+1")


def test_lenient_parser_defaults_to_country_plus_one() -> None:
    assert Handle("+16517037981") == parse_handle("(651) 703-7981")


def test_lenient_parser_keeps_an_explicit_country_code() -> None:
    assert Handle("+442079460958") == parse_handle("+44 20 7946 0958", default_country="+1")


def test_lenient_parser_drops_the_trunk_zero_for_a_non_us_default_country() -> None:
    assert Handle("+442079460958") == parse_handle("020 7946 0958", default_country="+44")


def test_handle_parse_is_the_lenient_parser() -> None:
    assert Handle.parse("651.703.7981") == parse_handle("651.703.7981")


@pytest.mark.parametrize("country", ["1", "+", "+0", "+1234", "+1a", "44", ""])
def test_an_invalid_default_country_is_an_error_naming_default_country(country: str) -> None:
    with pytest.raises(InvalidHandleError) as caught:
        parse_handle("651 703 7981", default_country=country)

    assert "default_country" == caught.value.field
    assert "country code" in str(caught.value)


@pytest.mark.parametrize("typed", ["651-703-798x", "call me", "+1 651 703 7981 ext 2", ""])
def test_lenient_parser_refuses_what_is_not_a_number_naming_the_input(typed: str) -> None:
    with pytest.raises(InvalidHandleError) as caught:
        parse_handle(typed)

    assert repr(typed) in str(caught.value)


def test_lenient_parser_reads_anything_with_an_at_sign_as_an_email() -> None:
    handle = parse_handle("  Care@Example.ORG ")

    assert Handle("Care@example.org") == handle
    assert handle.is_email


def test_an_email_handle_lower_cases_the_domain_only() -> None:
    handle = Handle("Grandma.Jo@Example.ORG")

    assert "Grandma.Jo@example.org" == handle.value
    assert HandleKind.EMAIL is handle.kind
    assert handle.is_email
    assert not handle.is_phone


def test_emails_differing_only_in_domain_case_are_equal_and_hash_alike() -> None:
    assert Handle("care@EXAMPLE.org") == Handle("care@example.org")
    assert {Handle("care@EXAMPLE.org")} == {Handle("care@example.org")}


def test_emails_differing_in_local_part_case_are_different() -> None:
    assert Handle("Care@example.org") != Handle("care@example.org")


def test_str_of_a_handle_is_its_value() -> None:
    assert "+16517037981" == str(Handle("+16517037981"))


def test_handles_are_ordered_by_value() -> None:
    numbers = [Handle("+16517037982"), Handle("+16517037981")]

    assert [Handle("+16517037981"), Handle("+16517037982")] == sorted(numbers)


@given(
    st.from_regex(r"[a-z0-9._%+-]{1,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z0-9]{1,10}){1,3}", fullmatch=True),
)
def test_every_plain_email_constructs_with_a_lower_cased_domain(local: str, domain: str) -> None:
    handle = Handle(f"{local}@{domain}")

    assert f"{local}@{domain.lower()}" == handle.value
    assert handle.is_email
