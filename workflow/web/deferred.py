"""One warning the web silences: pydantic's "unused alias" on FastAPI's body wrappers.

FastAPI wraps each route's body model in a type adapter annotated with an ``alias``
that has no effect there; pydantic (>= 2.12) warns about it, and FastAPI silences the
warning while it builds the wrapper. Our models defer their build (``defer_build``:
a CLI command uses a few of them and should not pay for all), so the wrapper is built
later, at the first request, outside FastAPI's silence, and the warning would reach
the server's log on every first use. It says nothing about our code, so the web app
ignores it, as FastAPI does; the test suite, where warnings are errors, ignores the
same warning in ``pyproject.toml`` (pytest resets filters for every test).
"""

from __future__ import annotations

import warnings

from pydantic.warnings import UnsupportedFieldAttributeWarning

#: The warning's text as pydantic words it; only the ``alias`` case is silenced.
ALIAS_WARNING = "The 'alias' attribute with value"


def silence_alias_warning() -> None:
    warnings.filterwarnings(
        "ignore", message=ALIAS_WARNING, category=UnsupportedFieldAttributeWarning
    )
