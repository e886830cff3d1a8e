"""``novelcrew.jobs.as_project_id``, public for a crew input's ``project_id`` validator: Novel
Movie's Payload ids on SQLite are integers, and a job keeps every id as a string."""

from __future__ import annotations

from typing import Any

import pytest

from novelcrew.jobs import as_project_id


@pytest.mark.parametrize(("given", "kept"), [
    (42, "42"), (0, "0"), ("p-1", "p-1"), ("", None), ("  ", None), (None, None),
    (True, True), (1.5, 1.5)])
def test_a_crew_inputs_project_id_is_kept_as_jobs_keep_it(given: Any, kept: Any) -> None:
    """An integer id (Payload on SQLite) is its string, a blank one none; anything else is
    left for the field to refuse (a boolean is not an id)."""
    assert as_project_id(given) == kept and type(as_project_id(given)) is type(kept)
