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


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy("default")


@pytest.fixture(scope="session")
def restricted() -> Policy:
    return load_policy("restricted-dlrpn")
