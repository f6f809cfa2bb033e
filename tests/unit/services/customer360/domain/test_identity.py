"""Identifiers normalised so one person matches however they were written, and the survivor rule that
makes identity resolution independent of arrival order."""

from __future__ import annotations

import itertools

import pytest

from services.customer360.domain import identity
from services.customer360.domain.identity import Identifier


@pytest.mark.parametrize(
    "written", ["0171 1234567", "+49 171 1234567", "0049 171 1234567", "(0171) 123-45-67", "+491711234567"]
)
def test_a_german_mobile_number_is_one_identifier_however_it_was_written(written: str) -> None:
    assert identity.phone(written, "DE") == Identifier("phone", "+491711234567")


def test_a_number_without_country_code_takes_the_configured_region() -> None:
    assert identity.phone("020 7946 0000", "GB").value == "+442079460000"


@pytest.mark.parametrize("bad", ["call me", "12", "+49"])
def test_what_is_not_a_phone_number_is_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        identity.phone(bad, "DE")


def test_emails_are_trimmed_and_lower_cased_and_nonsense_refused() -> None:
    assert identity.email("  Ada.Lovelace@Example.COM ").value == "ada.lovelace@example.com"
    with pytest.raises(ValueError, match="not an email address"):
        identity.email("ada at example")


def test_a_contact_point_names_its_identifiers_strongest_first() -> None:
    found = identity.of_contact(
        phone_text="0171 1234567", email_text="ADA@example.com", system="Shop", external_id="88121", region="DE"
    )
    assert [i.key for i in found] == ["external:shop:88121", "email:ada@example.com", "phone:+491711234567"]


def test_a_generated_id_comes_from_the_identifier_so_a_replay_finds_the_same_profile() -> None:
    email = Identifier("email", "ada@example.com")
    assert identity.generated_id(email) == identity.generated_id(Identifier("email", "ada@example.com"))
    assert identity.generated_id(email).startswith("K-")
    assert identity.generated_id(email) != identity.generated_id(Identifier("email", "bob@example.com"))


def test_the_survivor_is_a_suite_id_over_a_generated_one_then_the_smaller_in_any_order() -> None:
    ids = ["K-AAAA", "C-2002", "C-1001", "K-0001"]
    for a, b in itertools.permutations(ids, 2):
        survivor, merged = identity.survivor(a, b)
        assert {survivor, merged} == {a, b}
    assert identity.survivor("K-0001", "C-2002") == ("C-2002", "K-0001")
    assert identity.survivor("C-2002", "C-1001") == ("C-1001", "C-2002")
    # Folding a group pairwise in any order ends at the same root.
    roots = set()
    for order in itertools.permutations(ids):
        root = order[0]
        for other in order[1:]:
            root = identity.survivor(root, other)[0]
        roots.add(root)
    assert roots == {"C-1001"}


def test_a_tombstone_keeps_a_digest_never_the_identifier() -> None:
    digest = Identifier("email", "ada@example.com").digest
    assert len(digest) == 64 and "ada" not in digest
