"""The use-cases: one function, one transaction, one history row each.

The CLI, the JSON API and the pages all call these; no rule is written twice.
"""
