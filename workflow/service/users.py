"""Use-cases on the people who sign in: accounts, passwords, API tokens, roles, access log.

Passwords are hashed with argon2id (argon2-cffi) and never stored. API tokens are
random 256-bit strings shown once; only their SHA-256 is kept: a token has far
more entropy than a password, so a fast digest is enough, and a digest (unlike a
salted argon2 hash) can be looked up through the index on ``api_token_hash``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.catalogue import ROLES as ROLES
from workflow.catalogue import permissions
from workflow.clock import Clock
from workflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from workflow.models import AccessLog, User, UserAudit
from workflow.service.permissions import check_allowed
from workflow.service.permissions import may as permissions_may

if TYPE_CHECKING:
    from argon2 import PasswordHasher

#: Which roles may do what (reading is open to every signed-in role): the action
#: catalogue's table, so a new action brings its roles with it.
PERMISSIONS: dict[str, frozenset[str]] = {name: roles for name, (roles, _) in permissions().items()}

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "ivig_"


@functools.cache
def _hasher() -> PasswordHasher:
    # Imported and built on first use: only signing in and setting passwords hash, and
    # every other command (a read above all) should not pay for argon2 at start-up.
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so a wrong username costs as much
    time as a wrong password and sign-in does not reveal which accounts exist."""
    return _hasher().hash(secrets.token_urlsafe(16))


class UserRead(BaseModel):
    username: str
    full_name: str
    role: str
    active: bool
    created_at: datetime
    has_api_token: bool


def user_read(user: User) -> UserRead:
    return UserRead(
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        active=user.active,
        created_at=user.created_at,
        has_api_token=user.api_token_hash is not None,
    )


def may(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (decides which forms a page shows)."""
    return permissions_may(role, action)


def authorize(role: str, action: str) -> None:
    """Refuses an action the role does not allow (HTTP 403)."""
    check_allowed(role, action)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"role: {role!r} is not a role ({', '.join(ROLES)}).")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: must have at least {MIN_PASSWORD} characters.")
    if len(password) > 1000:
        raise InvalidInput("password: is longer than 1000 characters.")
    return password


def add_user(
    *, session: Session, username: str, full_name: str, role: str, password: str, clock: Clock
) -> User:
    """Creates an account; a duplicate username is refused."""
    username = username.strip()
    if not USERNAME.match(username):
        raise InvalidInput(
            "username: use 1-100 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit."
        )
    full_name = full_name.strip()
    if not full_name or len(full_name) > 200:
        raise InvalidInput("full_name: must be 1-200 characters.")
    check_role(role)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username: a user named {username} already exists.")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        password_hash=_hasher().hash(password),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"username: a user named {username} already exists.") from None
    return user


def user_by_username(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"username: there is no user {username}.")
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def verify_password(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, else None (one answer for every failure)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = session.scalars(select(User).where(User.username == username.strip())).one_or_none()
    try:
        _hasher().verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return user


def set_password(*, session: Session, username: str, password: str) -> User:
    user = user_by_username(session, username)
    user.password_hash = _hasher().hash(_check_password(password))
    return user


def set_active(*, session: Session, username: str, active: bool) -> User:
    """Deactivating keeps the account (its name stays in the history) but signs it out."""
    user = user_by_username(session, username)
    user.active = active
    if not active:
        user.api_token_hash = None
    return user


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def audit(
    session: Session,
    *,
    actor: str,
    username: str,
    action: str,
    at: datetime,
    detail: str | None = None,
) -> None:
    """One row of the account audit (``user_audit``)."""
    session.add(UserAudit(actor=actor, username=username, action=action, detail=detail, at=at))


def issue_token(
    *,
    session: Session,
    username: str,
    at: datetime,
    by: str | None = None,
) -> str:
    """A new API token for the user, replacing any earlier one. Shown once, never stored.

    ``by``: who mints it (default the user themself). A token minted by someone else is
    audited as such and cannot review (``delegated``)."""
    user = user_by_username(session, username)
    if not user.active:
        raise PermissionDenied(f"username: {username} is deactivated.")
    minter = by if by is not None else user.username
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = _digest(token)
    user.api_token_minted_by = minter
    own = minter == user.username
    audit(
        session,
        actor=minter,
        username=user.username,
        action="token_minted" if own else "token_minted_for_another",
        detail=None if own else f"minted by {minter}: this token cannot review",
        at=at,
    )
    return token


def delegated(user: User) -> bool:
    """Whether the user's API token was minted by someone else (it may not review)."""
    return user.api_token_minted_by != user.username


def revoke_token(*, session: Session, username: str, at: datetime, by: str | None = None) -> User:
    user = user_by_username(session, username)
    user.api_token_hash = None
    user.api_token_minted_by = None
    audit(
        session,
        actor=by or user.username,
        username=user.username,
        action="token_revoked",
        at=at,
    )
    return user


def user_by_token(*, session: Session, token: str) -> User | None:
    """The active user holding ``token``, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    user = session.scalars(select(User).where(User.api_token_hash == digest)).one_or_none()
    if user is None or not user.active or user.api_token_hash is None:
        return None
    # The lookup already matched; the constant-time compare is belt and braces.
    return user if hmac.compare_digest(user.api_token_hash, digest) else None


def log_access(
    *,
    session: Session,
    actor: str,
    what: str,
    at: datetime,
    patient_id: int | None = None,
    course_id: int | None = None,
) -> AccessLog:
    """Records that ``actor`` viewed a patient's record (who, whose, what, when)."""
    row = AccessLog(actor=actor, patient_id=patient_id, course_id=course_id, what=what[:200], at=at)
    session.add(row)
    return row
