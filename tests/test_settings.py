"""One configuration: the Settings object reads every IVIG_* variable; nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow.config import get_settings, use_settings

ROOT = Path(__file__).resolve().parent.parent
#: Variables that are not ours, read where they are needed.
NOT_OURS = {"XDG_DATA_HOME", "COLUMNS", "USER"}
READ = re.compile(r"(?:os\.environ(?:\.get)?[\[(]|os\.getenv\()\s*[\"']([A-Z_]+)[\"']")


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = []
    for package in ("workflow", "schedules"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "config.py" and path.parent.name == "workflow":
                continue
            text = path.read_text(encoding="utf-8")
            names = set(READ.findall(text))
            if names - NOT_OURS or "os.environ.update" in text or "os.environ[" in text:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(names - NOT_OURS)}")
    assert not offenders, "read IVIG_* through workflow.config.get_settings(): " + "; ".join(
        offenders
    )


def test_a_changed_environment_is_seen_without_clearing_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IVIG_TIMEZONE", "Europe/Oslo")
    assert get_settings().timezone == "Europe/Oslo"
    monkeypatch.setenv("IVIG_TIMEZONE", "Asia/Tokyo")
    assert get_settings().timezone == "Asia/Tokyo"


def test_installed_settings_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_ACTOR", "from.env")
    with use_settings(get_settings().model_copy(update={"actor": "from.demo"})):
        assert get_settings().actor == "from.demo"
    assert get_settings().actor == "from.env"


def test_a_bad_log_level_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.errors import InvalidInput

    monkeypatch.setenv("IVIG_LOG_LEVEL", "chatty")
    with pytest.raises(InvalidInput, match="IVIG_LOG_LEVEL"):
        get_settings()
