"""Bearer tokens: HMAC-signed JWTs carrying the caller's id and roles."""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

from switchboard.context import Caller
from switchboard.errors import Unauthenticated
from switchboard.ids import new_id
from switchboard.settings import Settings

AGENT = "agent"
TECHNICIAN = "technician"
SUPERVISOR = "supervisor"
ADMIN = "admin"
INTEGRATION = "integration"
ROLES = frozenset({AGENT, TECHNICIAN, SUPERVISOR, ADMIN, INTEGRATION})
_ALGORITHM = "HS256"


def issue(settings: Settings, subject: str, roles: Iterable[str], ttl_seconds: int = 8 * 3600) -> str:
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {sorted(ROLES)}")
    now = int(time.time())
    claims = {
        "iss": settings.token_issuer,
        "sub": subject,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": new_id(),
    }
    return jwt.encode(claims, settings.signing_key(), algorithm=_ALGORITHM)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._key = settings.signing_key()
        self._issuer = settings.token_issuer

    def verify(self, authorization: str | None) -> Caller:
        if not authorization:
            raise Unauthenticated("no bearer token: send 'authorization: Bearer <token>' (see 'switchboard token')")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired: get a new one") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid here: {exc}") from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("the token's roles claim must be a list of role names")
        return Caller(subject=str(claims["sub"]), roles=frozenset(roles))
