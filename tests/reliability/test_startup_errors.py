"""Attacks on start-up: every configuration or connection failure is one sentence
naming the setting (exit 2), and a failing command leaves no database file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Ivig


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("IVIG_DATABASE_URL", "sqlite:////no/such/directory/ivig.db", "IVIG_DATABASE_URL"),
        ("IVIG_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x", "IVIG_DATABASE_URL"),
        ("IVIG_LOG_LEVEL", "BOGUS", "IVIG_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_is_one_sentence_naming_it(
    ivig: Ivig, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = ivig("course", "list")
    assert result.code == 2
    assert result.err.count("\n") == 1 and named in result.err
    assert "Traceback" not in result.err


def test_a_bad_smtp_port_names_ivig_notify(ivig: Ivig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_NOTIFY", "smtp://mail.example:99999?to=a@clinic.example")
    result = ivig("followups", "raise", "--as-of", "2026-11-20")
    assert result.code == 2 and "IVIG_NOTIFY" in result.err


def test_a_failing_command_creates_no_database_file(
    ivig: Ivig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typo = tmp_path / "ivgi.db"
    monkeypatch.setenv("IVIG_DATABASE_URL", f"sqlite:///{typo}")
    assert ivig("course", "show", "1").code == 1
    assert not typo.exists()
