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
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.catalogue import ROLES as ROLES
from workflow.catalogue import permissions
from workflow.clock import Clock
from workflow.errors import (
    Conflict,
    InputRefused,
    InvalidInput,
    IvigError,
    NotFound,
    PermissionDenied,
)
from workflow.models import AccessLog, AppSecret, SignInThrottle, User, UserAudit
from workflow.service.permissions import check_allowed
from workflow.service.permissions import may as permissions_may

if TYPE_CHECKING:
    from argon2 import PasswordHasher

#: Which roles may do what (reading is open to every signed-in role): the action
#: catalogue's table, so a new action brings its roles with it.
PERMISSIONS: dict[str, frozenset[str]] = {name: roles for name, (roles, _) in permissions().items()}

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
#: NIST SP 800-63B-4 (3.1.1.2): at least 15 characters for a password that is the only
#: factor (it is, here), at most 64 required to be accepted (we take up to 1000).
MIN_PASSWORD = 15
#: Failed sign-ins before an account, or an address, has to wait; the wait doubles with
#: each further failure, from one minute up to an hour.
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
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


@functools.cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().casefold() for x in lines if x.strip() and not x.startswith("#"))


def _check_password(password: str, username: str = "") -> str:
    """NIST SP 800-63B-4: a length floor and a blocklist, no composition rules."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: must have at least {MIN_PASSWORD} characters.")
    if len(password) > 1000:
        raise InvalidInput("password: is longer than 1000 characters.")
    folded = password.casefold()
    squeezed = "".join(folded.split())
    # The length is in the API's schema; these rules cannot be (InputRefused: HTTP 409).
    if folded in _common_passwords() or squeezed in _common_passwords():
        raise InputRefused("password: is on the list of common or breached passwords.")
    if len(set(folded)) < 4 or _sequential(folded):
        raise InputRefused("password: is repetitive or sequential characters.")
    if username and username.casefold() in folded:
        raise InputRefused("password: may not contain the username.")
    return password


def _sequential(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)}
    return steps in ({1}, {-1})


# --- sign-in throttling -----------------------------------------------------------------


class SignInThrottled(IvigError):
    """Too many failed sign-ins for an account or an address (HTTP 429)."""

    http_status = 429


def _throttle_keys(username: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"user:{username.strip().casefold()[:200]}", ACCOUNT_FAILURES)]
    if address:
        keys.append((f"addr:{address[:200]}", ADDRESS_FAILURES))
    return keys


def check_sign_in_allowed(
    *, session: Session, username: str, address: str | None, now: datetime
) -> None:
    """Refuses a sign-in while the account or the address is waiting (no password tried)."""
    for key, _ in _throttle_keys(username, address):
        row = session.get(SignInThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise SignInThrottled(
                "sign-in: too many failed attempts; try again after "
                f"{row.locked_until.strftime('%H:%M:%S')} UTC."
            )


def record_sign_in(
    *, session: Session, username: str, address: str | None, ok: bool, now: datetime
) -> None:
    """Counts a failure against the account and the address, with a doubling wait once
    over the limit; a success clears the account's count (not the address's)."""
    keys = _throttle_keys(username, address)
    if ok:
        row = session.get(SignInThrottle, keys[0][0])
        if row is not None:
            session.delete(row)
        return
    for key, limit in keys:
        row = session.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key, failures=0, last_failed_at=now)
            session.add(row)
        row.failures += 1
        row.last_failed_at = now
        if row.failures >= limit:
            wait = min(FIRST_WAIT * 2 ** min(row.failures - limit, 10), LONGEST_WAIT)
            row.locked_until = now + wait
    audit(session, actor=username[:200], username=username[:100], action="sign_in_failed", at=now)


def end_sessions(*, session: Session, user: User, by: str, at: datetime, why: str) -> None:
    """Ends every session of ``user`` (each cookie carries the generation it began in)."""
    user.session_generation += 1
    audit(session, actor=by, username=user.username, action=why, at=at)


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
    _check_password(password, username)
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


def list_users(*, session: Session, limit: int | None = None, offset: int = 0) -> list[User]:
    """Accounts by username; ``limit``/``offset``: one page."""
    query = select(User).order_by(User.username, User.id).offset(offset).limit(limit)
    return list(session.scalars(query))


def count_users(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


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


def set_password(
    *,
    session: Session,
    username: str,
    password: str,
    by: str | None = None,
    at: datetime | None = None,
) -> User:
    """A new password; every session of the account ends."""
    user = user_by_username(session, username)
    user.password_hash = _hasher().hash(_check_password(password, user.username))
    when = at if at is not None else user.created_at
    end_sessions(session=session, user=user, by=by or username, at=when, why="password_changed")
    return user


def set_active(
    *,
    session: Session,
    username: str,
    active: bool,
    by: str | None = None,
    at: datetime | None = None,
) -> User:
    """Deactivating keeps the account (its name stays in the history) but ends every
    session and the API token."""
    user = user_by_username(session, username)
    user.active = active
    when = at if at is not None else user.created_at
    if not active:
        user.api_token_hash = None
        end_sessions(session=session, user=user, by=by or username, at=when, why="deactivated")
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


SESSION_KEY = "session_signing_key"


def database_secret(engine: Engine, *, now: datetime, name: str = SESSION_KEY) -> str:
    """The secret ``name`` kept in this database, made on first use (concurrent first
    users keep the one that was inserted first)."""
    from sqlalchemy.dialects import postgresql, sqlite

    with engine.begin() as conn:
        value = conn.scalar(select(AppSecret.value).where(AppSecret.name == name))
        if value is not None:
            return str(value)
        row = {"name": name, "value": secrets.token_urlsafe(48), "created_at": now}
        dialect = conn.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AppSecret)
        conn.execute(insert.values(**row).on_conflict_do_nothing())
        return str(conn.scalar(select(AppSecret.value).where(AppSecret.name == name)))
