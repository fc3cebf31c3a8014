"""The web fixture for the reliability attacks on the API and pages."""

from tests.web.conftest import web  # noqa: F401
