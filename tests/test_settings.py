"""One configuration: the Settings object reads every IVIG_* variable; nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow.config import get_settings, use_settings

ROOT = Path(__file__).resolve().parent.parent
#: Variables that are not ours, read where they are needed.
NOT_OURS = {"XDG_DATA_HOME", "USER"}
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


#: The edges that call ``get_settings()`` and pass the settings (or the values needed:
#: engine options, patient outreach, notify URLs) down as parameters: the CLI's
#: runtime, the web app's factory and request context, the demo. (The scheduler's
#: entry point gets a ``Settings`` from the CLI command that starts it.)
EDGES = {
    "workflow/config.py",
    "workflow/cli/__init__.py",
    "workflow/cli/common.py",
    "workflow/demo.py",
    "workflow/web/app.py",
    "workflow/web/auth.py",
    "workflow/web/context.py",
    "workflow/web/operations.py",
    "workflow/web/selfreport.py",
}
#: Deep modules that still read the settings themselves (issue 10's remainder): the
#: default channels of ``outbox.enqueue(channels=None)`` and ``load_policy()``'s
#: ``IVIG_POLICY``. This list may only shrink.
NOT_YET_PASSED_IN = {"workflow/outbox.py", "workflow/review/policy.py"}


def test_only_the_edges_call_get_settings() -> None:
    users = set()
    for package in ("workflow", "schedules"):
        for path in (ROOT / package).rglob("*.py"):
            if "get_settings" in path.read_text(encoding="utf-8"):
                users.add(path.relative_to(ROOT).as_posix())
    deep = sorted(users - EDGES - NOT_YET_PASSED_IN)
    assert not deep, "take the settings (or the values) from the caller, not get_settings(): " + (
        ", ".join(deep)
    )
    assert NOT_YET_PASSED_IN <= users, "drop the modules that no longer read settings from the list"


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


def test_no_patient_outreach_is_the_settings_defaults() -> None:
    from workflow.config import PatientOutreach, Settings

    assert PatientOutreach() == Settings().patient_outreach()
    assert Settings(patient_smtp="smtp://mail:25").patient_outreach().channels == [
        "smtp://mail:25?to=ivig@localhost&from=ivig@localhost"
    ]
