"""The medical-necessity recommendation: decision support, never a decision.

Interface used by the services (keep it stable):

- ``load_policy(ref=None) -> Policy``: the active policy (``IVIG_POLICY`` or the default).
- ``evaluate(request, context, policy) -> Recommendation``: pure, no database.
- ``describe_rules(policy)``: the rules as plain data, for ``ivig rules list`` and the docs.
"""

from workflow.review.catalog import describe_rules
from workflow.review.engine import PriorCourse, ReviewContext, derive_outcome, evaluate
from workflow.review.policy import Policy, load_policy, packaged_policies

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
