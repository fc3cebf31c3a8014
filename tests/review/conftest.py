"""Fixtures for the rule-set tests (session-scoped, so hypothesis tests may use them)."""

from __future__ import annotations

import pytest
from review_helpers import MakeContext, MakeRequest, build_context, build_request

from workflow.review import Policy, load_policy


@pytest.fixture(scope="session")
def make_request() -> MakeRequest:
    return build_request


@pytest.fixture(scope="session")
def make_context() -> MakeContext:
    return build_context


# The IVIG risk screen counts diabetes as a renal and a thrombosis risk factor, and
# Octagam's maltose as a glucose-meter hazard in diabetes, so every diabetic patient of
# the clean request would carry three warnings, and a first DLRPN course carries the
# evidence.level note. The rule tests judge one rule at a time
# from a request that raises nothing, so they use the packaged policies with exactly
# that background switched off; tests/review/test_review_screen.py judges the screen
# with the packaged default as shipped.
QUIET_SCREEN = """
rules:
  safety.renal_risk: {count_diabetes: false}
  safety.thrombosis_risk: {count_diabetes: false}
  safety.glucose_meter: {enabled: false}
  evidence.level: {enabled: false}
"""


def _quiet(tmp: pytest.TempPathFactory, packaged: str) -> Policy:
    base = load_policy(packaged)
    path = tmp.mktemp("policies") / f"{packaged}.yaml"
    path.write_text(
        f"extends: {packaged}\nid: {base.id}\nversion: '{base.version}'\n{QUIET_SCREEN}",
        encoding="utf-8",
    )
    return load_policy(str(path))


@pytest.fixture(scope="session")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return _quiet(tmp_path_factory, "default")


@pytest.fixture(scope="session")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return _quiet(tmp_path_factory, "restricted-dlrpn")
