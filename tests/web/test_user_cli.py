"""``ivig user …``: accounts for the web app, made from the command line."""

from __future__ import annotations

from typing import Any

from workflow.db import engine_for, transaction
from workflow.service import users


def test_user_add_reads_the_password_from_stdin_and_prints_json(ivig: Any, db_url: str) -> None:
    doc = ivig.ok(
        "user",
        "add",
        "--username",
        "cole",
        "--full-name",
        "C. Cole",
        "--role",
        "coordinator",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert doc["username"] == "cole" and doc["role"] == "coordinator" and doc["active"] is True
    with transaction(engine_for(db_url)) as session:
        assert users.verify_password(session=session, username="cole", password="a long password")
        assert (
            users.verify_password(session=session, username="cole", password="wrong one!") is None
        )


def test_user_add_refusals(ivig: Any) -> None:
    args = ("user", "add", "--username", "cole", "--full-name", "C", "--password-stdin")
    bad_role = ivig(*args, "--role", "nurse", stdin="a long password\n")
    assert bad_role.code == 2
    assert bad_role.err == "ivig: role: 'nurse' is not a role (coordinator, reviewer, admin).\n"
    short = ivig(*args, "--role", "reviewer", stdin="short\n")
    assert short.code == 2 and "password: must have at least 15 characters" in short.err
    assert ivig(*args, "--role", "reviewer", stdin="a long password\n").code == 0
    again = ivig(*args, "--role", "reviewer", stdin="a long password\n")
    assert again.code == 1 and again.err == "ivig: username: a user named cole already exists.\n"


def test_user_token_prints_a_token_that_the_api_accepts(ivig: Any, db_url: str) -> None:
    ivig(
        "user",
        "add",
        "--username",
        "ada",
        "--full-name",
        "A",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long password\n",
    )
    result = ivig("user", "token", "ada")
    token = result.out.strip()
    assert result.code == 0 and token.startswith("ivig_")
    with transaction(engine_for(db_url)) as session:
        user = users.user_by_token(session=session, token=token)
        assert user is not None and user.username == "ada"
        assert token not in (user.api_token_hash or "")
    newer = ivig.ok("user", "token", "ada")["token"]
    with transaction(engine_for(db_url)) as session:
        assert users.user_by_token(session=session, token=token) is None
        assert users.user_by_token(session=session, token=newer) is not None
    assert ivig("user", "token", "nobody").code == 1
