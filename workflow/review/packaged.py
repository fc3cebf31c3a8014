"""Reading the packaged vocabularies (``workflow/review/vocab/*.yaml``)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

#: libyaml's parser where PyYAML was built with it: the same documents (a test compares
#: both on every packaged file) in a tenth of the time, which ``course show`` pays.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of one of our own files."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def vocabulary(name: str) -> Any:
    """The parsed ``vocab/<name>``."""
    entry = resources.files("workflow.review").joinpath("vocab", name)
    return load_yaml(entry.read_text(encoding="utf-8"))
