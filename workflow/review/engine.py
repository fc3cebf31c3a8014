"""Evaluates a request against a policy: runs the applicable rules, derives the outcome.

Decision support only: the outcome tells a human reviewer what the guidance says;
the program never approves or denies by itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from workflow.review.context import PriorCourse, ReviewContext
from workflow.review.policy import Policy
from workflow.review.rules import RULES
from workflow.schemas import CourseRequestIn, Finding, Outcome, Recommendation, Severity

__all__ = ["PriorCourse", "ReviewContext", "derive_outcome", "evaluate"]


def evaluate(request: CourseRequestIn, context: ReviewContext, policy: Policy) -> Recommendation:
    """The findings of every enabled rule that applies to the request's indication."""
    findings: list[Finding] = []
    for rule_id, config in policy.rules:
        if not config.applies_to(request.indication):
            continue
        finding = RULES[rule_id](request, context, policy)
        if finding is not None:
            findings.append(finding)
    return Recommendation(
        outcome=derive_outcome(findings),
        findings=findings,
        policy_id=policy.id,
        policy_version=policy.version,
    )


def derive_outcome(findings: Iterable[Finding]) -> Outcome:
    """Any block: not supported; else anything missing: needs information; else supported."""
    listed = list(findings)
    if any(finding.severity is Severity.BLOCK for finding in listed):
        return Outcome.NOT_SUPPORTED
    if any(finding.missing for finding in listed):
        return Outcome.NEEDS_INFORMATION
    return Outcome.SUPPORTED
