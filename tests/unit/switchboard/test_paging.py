"""Page tokens are opaque to the client: what a list returned comes back; anything else is refused."""

from __future__ import annotations

import base64

import pytest

from switchboard import paging
from switchboard.errors import InvalidArgument


def _refusal(token: str, expected: set[str]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as refused:
        paging.decode(token, expected=expected)
    return refused.value


def test_a_token_decodes_to_the_position_it_was_made_from() -> None:
    token = paging.encode({"after": 1042})

    assert paging.decode(token, expected={"after"}) == {"after": 1042}


def test_a_token_keeps_string_and_integer_positions() -> None:
    position: dict[str, str | int] = {"after_created": "2025-03-14T09:30:00Z", "after_seq": 7}

    assert paging.decode(paging.encode(position), expected={"after_created", "after_seq"}) == position


def test_a_token_is_url_safe_text() -> None:
    token = paging.encode({"after": 1042, "customer": "C-1001/?+"})

    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_no_token_means_the_first_page() -> None:
    assert paging.decode("", expected={"after"}) is None


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        base64.urlsafe_b64encode(b"[1042]").decode(),
        base64.urlsafe_b64encode(b'"after"').decode(),
    ],
)
def test_a_forged_token_is_invalid_argument_naming_page_token(token: str) -> None:
    refused = _refusal(token, {"after"})

    assert [v.field for v in refused.violations] == ["page_token"]
    assert "not a token this list returned" in refused.violations[0].description


def test_a_token_from_another_list_is_refused() -> None:
    other_lists_token = paging.encode({"after_created": "2025-03-14T09:30:00Z"})

    assert _refusal(other_lists_token, {"after"}).violations[0].field == "page_token"


def test_a_token_with_an_extra_key_is_refused() -> None:
    assert _refusal(paging.encode({"after": 3, "tenant": "acme"}), {"after"}).violations[0].field == "page_token"


def test_page_size_defaults_to_50_when_unset() -> None:
    assert paging.page_size(0) == paging.DEFAULT_PAGE_SIZE == 50


def test_page_size_keeps_a_size_within_the_maximum() -> None:
    assert paging.page_size(20) == 20


def test_page_size_is_capped_at_500_by_default() -> None:
    assert paging.page_size(10_000) == 500


def test_page_size_is_capped_at_the_given_maximum() -> None:
    assert paging.page_size(300, maximum=100) == 100
