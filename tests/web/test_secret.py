"""The session secret: IVIG_SECRET_KEY, else a key kept in the database itself, so two
deployments (staging, production) never share one, even under one OS user."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.db import engine_for, upgrade
from workflow.web.auth import secret_key


def test_each_database_has_its_own_key_kept_inside_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVIG_SECRET_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(engine_for(other))

    key = secret_key(db_url)

    assert len(key) >= 48 and key == secret_key(db_url)
    assert secret_key(other) != key
    assert not (tmp_path / "home").exists()  # nothing in the user's directories


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_SECRET_KEY", "k" * 48)
    assert secret_key(f"sqlite:///{tmp_path / 'none.db'}") == "k" * 48
    assert list(tmp_path.iterdir()) == []
