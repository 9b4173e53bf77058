"""The scrubber: no key, no 4-character part of it, no masked form and no credential survives."""

from __future__ import annotations

import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from selftaught.models.redact import REDACTED, SHORTEST_SECRET_PART, Redactor, _fold, scrub

KEY_ALPHABET = string.ascii_letters + string.digits + "-_"
keys = st.text(KEY_ALPHABET, min_size=8, max_size=64).map(lambda body: "sk-" + body)
filler = st.text(
    st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF) | st.sampled_from(" :;,.{}\"'\n"),
    max_size=40,
)


def surviving_parts(text: str, key: str) -> list[str]:
    """Every run of 4 characters of `key` still in `text` (case-insensitive), markers set apart."""
    outside = _fold(text.replace(REDACTED, "\x00"))
    lowered = _fold(key)
    grams = {lowered[i : i + SHORTEST_SECRET_PART] for i in range(len(lowered) - SHORTEST_SECRET_PART + 1)}
    return sorted(g for g in grams if g in outside)


@st.composite
def leaks(draw: st.DrawFn, key: str) -> str:
    """One way a server gives a key away: whole, a part, a case change, masked, in a header."""
    start = draw(st.integers(0, len(key) - SHORTEST_SECRET_PART))
    end = draw(st.integers(start + SHORTEST_SECRET_PART, len(key)))
    prefix, suffix = draw(st.integers(3, 8)), draw(st.integers(2, 6))
    stars = draw(st.integers(0, 40))
    return draw(
        st.sampled_from(
            [
                key,
                key[start:end],
                key.upper(),
                key[start:end].swapcase(),
                f"{key[:prefix]}{'*' * stars}{key[-suffix:]}",
                f"{key[:prefix]}...{key[-suffix:]}",
                f"Authorization: Bearer {key}",
                f'"authorization": "Bearer {key}"',
            ]
        )
    )


@settings(max_examples=300, deadline=None)
@given(data=st.data(), key=keys)
def test_no_part_of_the_key_survives(data, key):
    pieces = data.draw(st.lists(st.one_of(filler, leaks(key)), min_size=1, max_size=6))
    text = "".join(pieces)
    scrubbed = Redactor([key]).scrub(text)
    assert key not in scrubbed
    assert surviving_parts(scrubbed, key) == []


@settings(max_examples=200, deadline=None)
@given(key=keys, before=filler, after=filler)
def test_a_key_glued_to_any_text_is_removed(key, before, after):
    scrubbed = scrub(before + key + after, [key])
    assert surviving_parts(scrubbed, key) == []


@settings(max_examples=200, deadline=None)
@given(key=keys, stars=st.integers(0, 60))
def test_masked_forms_do_not_give_away_the_length_or_the_ends_even_without_the_key(key, stars):
    message = f"Incorrect API key provided: {key[:5]}{'*' * stars}{key[-4:]}. See the dashboard."
    expected = f"Incorrect API key provided: {REDACTED} See the dashboard."
    assert scrub(message) == expected  # shaped like a key: gone, whoever scrubs it
    # knowing the key also removes any word of the message that shares 4 characters with it
    assume(not surviving_parts(expected, key))
    assert scrub(message, [key]) == expected


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(KEY_ALPHABET + "./+=", min_size=1, max_size=80), scheme=st.sampled_from(["Bearer", "Basic"])
)
def test_credentials_in_headers_are_removed_without_knowing_them(token, scheme):
    for text, expected in (
        (f"Authorization: {scheme} {token}", f"Authorization: {REDACTED}"),
        (f"{{'authorization': '{scheme} {token}'}}", f"{{'authorization': '{REDACTED}'}}"),
        (f"proxy-authorization={scheme} {token}\nnext line", f"proxy-authorization={REDACTED}\nnext line"),
        (f"sent {scheme} {token}", f"sent {scheme} {REDACTED}"),
    ):
        assert scrub(text) == expected


def test_key_shaped_and_random_tokens_go_but_ordinary_text_stays():
    assert scrub("key sk-live_51HxYz2 was refused") == f"key {REDACTED} was refused"
    assert scrub("id 9fK2mQ7xLp4Rt8Vb1Nc6Zd3 is random") == f"id {REDACTED} is random"
    for ordinary in (
        "Error code: 401 - Unauthorized",
        "Connection error.",
        "Request timed out.",
        "malformed answer: the answer has no choices",
        "HTTP 400 BadRequestError (invalid_request_error): max_tokens is too large: 99999999",
        "a long word: internationalization_and_localization",  # long but not random
    ):
        assert scrub(ordinary) == ordinary


@settings(max_examples=200, deadline=None)
@given(key=st.text(KEY_ALPHABET, min_size=12, max_size=64), ends=st.integers(1, 3), stars=st.integers(3, 40))
def test_a_mask_leaves_not_even_the_short_ends_of_a_key(key, ends, stars):
    masked = f"{key[:ends]}{'*' * stars}{key[-ends:]}"
    assert scrub(f"key: {masked}; 401", [key]) == f"key: {REDACTED}; 401"


def test_tiny_and_missing_secrets_are_handled():
    assert scrub("abc and abcd", ["abc"]) == f"{REDACTED} and {REDACTED}"  # what is glued to it goes too
    assert scrub("nothing here", [None, ""]) == "nothing here"
