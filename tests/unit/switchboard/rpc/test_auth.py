"""Bearer tokens: issued with a subject and roles, verified or refused with a message that helps."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
import pytest

from switchboard.context import Caller
from switchboard.errors import Unauthenticated
from switchboard.rpc import auth
from switchboard.settings import Settings

OTHER_SECRET = "another-deployments-secret-0123456789abcdef"


def _refusal(settings: Settings, authorization: str | None) -> str:
    with pytest.raises(Unauthenticated) as refused:
        auth.TokenVerifier(settings).verify(authorization)
    return str(refused.value)


def test_a_token_issued_here_verifies_to_its_subject_and_roles(settings: Settings) -> None:
    token = auth.issue(settings, "alice", [auth.AGENT, auth.SUPERVISOR])

    caller = auth.TokenVerifier(settings).verify(f"Bearer {token}")

    assert caller == Caller(subject="alice", roles=frozenset({"agent", "supervisor"}))


def test_the_bearer_scheme_is_case_insensitive(settings: Settings) -> None:
    token = auth.issue(settings, "alice", [auth.AGENT])

    assert auth.TokenVerifier(settings).verify(f"bearer {token}").subject == "alice"


def test_a_token_without_roles_verifies_to_a_caller_with_none(settings: Settings) -> None:
    token = auth.issue(settings, "crm-sync", [])

    assert auth.TokenVerifier(settings).verify(f"Bearer {token}").roles == frozenset()


def test_issuing_a_token_with_an_unknown_role_is_refused_naming_it(settings: Settings) -> None:
    with pytest.raises(ValueError, match=r"unknown role\(s\) \['root'\]"):
        auth.issue(settings, "mallory", [auth.AGENT, "root"])


@pytest.mark.parametrize("header", ["", None])
def test_no_authorization_header_is_unauthenticated_and_says_how_to_send_one(
    settings: Settings, header: str | None
) -> None:
    message = _refusal(settings, header)

    assert "no bearer token" in message
    assert "authorization: Bearer <token>" in message


def test_a_token_without_the_bearer_prefix_is_unauthenticated(settings: Settings) -> None:
    token = auth.issue(settings, "alice", [auth.AGENT])

    assert _refusal(settings, token) == "the authorization header must be 'Bearer <token>'"


def test_another_scheme_is_unauthenticated(settings: Settings) -> None:
    assert _refusal(settings, "Basic YWxpY2U6c2VjcmV0") == "the authorization header must be 'Bearer <token>'"


def test_bearer_without_a_token_is_unauthenticated(settings: Settings) -> None:
    assert _refusal(settings, "Bearer") == "the authorization header must be 'Bearer <token>'"


def test_an_expired_token_is_unauthenticated_and_says_to_get_a_new_one(settings: Settings) -> None:
    token = auth.issue(settings, "alice", [auth.AGENT], ttl_seconds=-60)

    assert _refusal(settings, f"Bearer {token}") == "the token has expired: get a new one"


def test_a_token_signed_with_another_key_is_unauthenticated(
    settings: Settings, settings_factory: Callable[..., Settings]
) -> None:
    token = auth.issue(settings_factory(auth_secret=OTHER_SECRET), "alice", [auth.AGENT])

    message = _refusal(settings, f"Bearer {token}")

    assert message.startswith("the token is not valid here")
    assert "Signature verification failed" in message


def test_a_token_from_another_issuer_is_unauthenticated(
    settings: Settings, settings_factory: Callable[..., Settings]
) -> None:
    token = auth.issue(settings_factory(token_issuer="acme-sso"), "alice", [auth.AGENT])

    message = _refusal(settings, f"Bearer {token}")

    assert message.startswith("the token is not valid here")
    assert "issuer" in message.lower()


def test_a_token_that_is_not_a_jwt_is_unauthenticated(settings: Settings) -> None:
    assert _refusal(settings, "Bearer not.a.jwt").startswith("the token is not valid here")


def test_a_token_without_an_expiry_is_unauthenticated(settings: Settings) -> None:
    token = jwt.encode(
        {"iss": settings.token_issuer, "sub": "alice", "roles": ["agent"]}, settings.signing_key(), algorithm="HS256"
    )

    assert "exp" in _refusal(settings, f"Bearer {token}")


def test_a_token_whose_roles_are_not_a_list_is_unauthenticated(settings: Settings) -> None:
    claims = {"iss": settings.token_issuer, "sub": "alice", "roles": "admin", "exp": int(time.time()) + 60}
    token = jwt.encode(claims, settings.signing_key(), algorithm="HS256")

    assert _refusal(settings, f"Bearer {token}") == "the token's roles claim must be a list of role names"
