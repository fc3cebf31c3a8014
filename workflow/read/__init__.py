"""The read side: what every list, page and ``--json`` shows, defined once.

- ``queries``: the course read model (``course show``, the API, the course page),
  course, follow-up and measurement lists, the patient read model;
- ``worklist``: what is due, one definition for ``followups list``, the API and the
  worklist page (bounded sections with their totals);
- ``lists``: the worklist page's sections and the patient list (search).

Read models are pydantic models built from rows (``from_attributes``). List
functions take ``limit`` (and filters) as keyword arguments, so paging and search
are added beside them without changing their callers. Nothing here writes.
"""
