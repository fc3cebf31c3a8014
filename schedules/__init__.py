"""The machinery of time: claim due follow-ups, write and deliver their reminders.

``raising`` claims due rows exactly once and writes the outbox in the same
transaction; ``delivery`` drains the outbox through ``channels`` with back-off;
``runner`` is the APScheduler process that calls both on an interval.
"""
