"""The session secret: IVIG_SECRET_KEY, else a key per database in the user's data
directory; nothing is ever written beside the database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from workflow.web.auth import secret_key


def test_the_generated_key_lives_in_the_data_directory_not_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVIG_SECRET_KEY", raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    repo = tmp_path / "repo"
    repo.mkdir()
    url = f"sqlite:///{repo / 'ivig.db'}"

    key = secret_key(url)

    assert key == secret_key(url)
    assert list(repo.iterdir()) == []
    [kept] = list((data / "ivig").iterdir())
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert secret_key(f"sqlite:///{repo / 'other.db'}") != key


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_SECRET_KEY", "k" * 48)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert secret_key("sqlite:///ivig.db") == "k" * 48
    assert list(tmp_path.iterdir()) == []
