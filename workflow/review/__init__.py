"""The medical-necessity recommendation: decision support, never a decision.

Interface used by the services (keep it stable):

- ``load_policy(ref=None) -> Policy``: the active policy (``IVIG_POLICY`` or the default).
- ``evaluate(request, context, policy) -> Recommendation``: pure, no database.
- ``describe_rules(policy)``: the rules as plain data, for ``ivig rules list`` and the docs.

The names are loaded on first use (PEP 562): importing one submodule, such as the
lab helpers a course read needs, must not load the whole rule set and its policy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflow.review.catalog import describe_rules
    from workflow.review.engine import PriorCourse, ReviewContext, derive_outcome, evaluate
    from workflow.review.policy import Policy, load_policy, packaged_policies

_HOME = {
    "describe_rules": "workflow.review.catalog",
    "PriorCourse": "workflow.review.engine",
    "ReviewContext": "workflow.review.engine",
    "derive_outcome": "workflow.review.engine",
    "evaluate": "workflow.review.engine",
    "Policy": "workflow.review.policy",
    "load_policy": "workflow.review.policy",
    "packaged_policies": "workflow.review.policy",
}

__all__ = [
    "Policy",
    "PriorCourse",
    "ReviewContext",
    "derive_outcome",
    "describe_rules",
    "evaluate",
    "load_policy",
    "packaged_policies",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value
