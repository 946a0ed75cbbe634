"""Who may call what: staff access tokens (agent, editor, admin) and customers' conversation tokens.

Tokens are random strings shown once; only their SHA-256 is stored. Staff tokens can expire and be revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from api.db import ApiBase
from api.deps import ContextDep
from handoff.models import utcnow
from handoff.service import hash_token

ROLES = ("agent", "editor", "admin")
bearer = HTTPBearer(auto_error=False)


class ApiToken(ApiBase):
    """A staff member's access token (hashed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Staff:
    """The authenticated staff member behind a request."""

    name: str
    role: str


def create_token(session: Session, role: str, name: str, days: int | None = None) -> str:
    """Store a new token for `name` with `role` (not committed) and return it; it is never shown again."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not name.strip():
        raise ValueError("a token needs the name of who will use it")
    if days is not None and not 1 <= days <= 3650:
        raise ValueError(f"--days must be 1 to 3650 (got {days}); leave it out for a token that does not expire")
    token = f"tz_{role[:2]}_{secrets.token_urlsafe(32)}"
    expires = utcnow() + timedelta(days=days) if days is not None else None
    session.add(ApiToken(name=name.strip(), role=role, token_hash=hash_token(token), expires_at=expires))
    return token


def revoke_tokens(session: Session, name: str) -> int:
    """Revoke every live token of `name` (not committed); returns how many."""
    tokens = session.scalars(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    count = 0
    for token in tokens:
        token.revoked_at = utcnow()
        count += 1
    return count


def unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise unauthorized("missing token: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def get_staff(ctx: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Staff:
    """The staff member whose token the request carries; 401 for none, an unknown, revoked or expired one."""
    token = bearer_token(credentials)
    with ctx.sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        raise unauthorized("this token is not valid (unknown or revoked): ask an admin for a new one")
    expires = row.expires_at
    if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=utcnow().tzinfo)) < utcnow():
        raise unauthorized("this token has expired: ask an admin for a new one")
    return Staff(name=row.name, role=row.role)


def require(*roles: str):
    """A dependency that lets through staff with one of `roles` (admins always)."""

    def check(staff: Annotated[Staff, Depends(get_staff)]) -> Staff:
        if staff.role != "admin" and staff.role not in roles:
            raise HTTPException(status_code=403, detail=f"this needs an {' or '.join(roles)} token")
        return staff

    return check


AgentDep = Annotated[Staff, Depends(require("agent"))]
EditorDep = Annotated[Staff, Depends(require("editor"))]
