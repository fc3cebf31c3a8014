"""Reports over many courses: set-based queries, then pure arithmetic.

Each report is a handful of aggregate queries (never a query per course) whose rows
are turned into figures by pure functions, so the arithmetic can be tested without
a database and the queries stay fast at 100 000 courses.
"""
