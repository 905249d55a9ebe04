"""caresupport_transport.consent: the one opt-out rule (Linq's, linq-python 0.65)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caresupport_transport import Handle, MediaPart, TextPart
from caresupport_transport.consent import (
    OPT_OUT_KEYWORDS,
    ConsentChange,
    blocklist_form,
    consent_change,
    is_opt_out_keyword,
    is_opt_out_message,
)

WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=4)


@given(st.sampled_from(sorted(OPT_OUT_KEYWORDS)), WHITESPACE, WHITESPACE)
def test_a_keyword_with_any_surrounding_whitespace_opts_out(
    keyword: str, before: str, after: str
) -> None:
    assert is_opt_out_keyword(before + keyword + after)


@given(st.sampled_from(sorted(OPT_OUT_KEYWORDS - {"OPTOUT"})), st.data())
def test_a_keyword_in_any_other_case_does_not_opt_out(keyword: str, data: st.DataObject) -> None:
    flips = data.draw(st.lists(st.booleans(), min_size=len(keyword), max_size=len(keyword)))
    cased = "".join(c.lower() if flip else c for c, flip in zip(keyword, flips, strict=True))
    assert is_opt_out_keyword(cased) == (cased == keyword)


@given(
    st.sampled_from(["", " ", "-"]),
    st.lists(st.booleans(), min_size=6, max_size=6),
    WHITESPACE,
)
def test_opt_out_in_any_casing_with_a_space_a_hyphen_or_nothing_opts_out(
    between: str, flips: list[bool], padding: str
) -> None:
    letters = "".join(c.lower() if f else c for c, f in zip("OPTOUT", flips, strict=True))
    phrase = letters[:3] + between + letters[3:]
    assert is_opt_out_keyword(padding + phrase + padding)


@given(st.sampled_from(sorted(OPT_OUT_KEYWORDS)), st.text(min_size=1).filter(str.strip))
def test_a_keyword_inside_a_longer_message_does_not_opt_out(keyword: str, extra: str) -> None:
    assert not is_opt_out_keyword(f"{keyword} {extra}")
    assert not is_opt_out_keyword(f"{extra} {keyword}")


@pytest.mark.parametrize(
    "text", ["please stop", "STOP!", "Stop", "stop", "opt  out", "opt_out", "START", "UNSTOP", ""]
)
def test_near_misses_do_not_opt_out(text: str) -> None:
    assert not is_opt_out_keyword(text)


def test_a_message_with_media_is_other_content() -> None:
    parts = (TextPart("STOP"), MediaPart(url="https://example.org/a.png"))
    assert (True, False) == (is_opt_out_message((TextPart("STOP"),)), is_opt_out_message(parts))


@pytest.mark.parametrize(
    ("text", "is_group", "opted_out", "change"),
    [
        ("STOP", False, False, ConsentChange.OPTED_OUT),
        ("STOP", True, False, None),  # groups are never marked
        ("STOP", False, True, None),  # already out: nothing changes
        ("ok thanks", False, True, ConsentChange.OPTED_IN),
        ("ok thanks", True, True, ConsentChange.OPTED_IN),  # any conversation opts back in
        ("ok thanks", False, False, None),
        ("STOP", True, True, None),  # a keyword is not "other content"
    ],
)
def test_consent_change_follows_the_rule(
    text: str, is_group: bool, opted_out: bool, change: ConsentChange | None
) -> None:
    assert change == consent_change((TextPart(text),), is_group=is_group, opted_out=opted_out)


def test_the_blocklist_compares_emails_lower_cased_and_numbers_as_they_are() -> None:
    assert (Handle("mum@example.org"), Handle("+16515550101")) == (
        blocklist_form(Handle("Mum@Example.org")),
        blocklist_form(Handle("+16515550101")),
    )
