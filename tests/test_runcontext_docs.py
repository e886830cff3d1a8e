"""Every member of ``RunContext`` is documented with its type (issue #23): a docstring or a
``#:`` comment in the code, and a row in docs/plugin-author-guide.md's run-context table."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

from novelcrew import RunContext

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugin-author-guide.md"


def _members() -> list[str]:
    fields = [f.name for f in dataclasses.fields(RunContext) if not f.name.startswith("_")]
    methods = [name for name, value in vars(RunContext).items()
               if not name.startswith("_") and (callable(value) or isinstance(value, property))]
    return fields + methods


def _table() -> dict[str, str]:
    """Member name -> its type cell, from the guide's "The run context" table."""
    section = GUIDE.read_text().split("## The run context", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 3 or cells[0] in ("member", "---"):
            continue
        for name in re.findall(r"`(?:await )?([a-z_]+)", cells[0]):
            rows[name] = cells[1]
    return rows


def test_every_member_has_a_row_with_a_type_in_the_guide():
    rows = _table()
    assert rows["previous"] == "`Mapping[str, Any]`"
    missing = [name for name in _members() if not rows.get(name)]
    assert not missing, f"RunContext members without a typed row in the guide: {missing}"


def test_every_member_is_documented_in_the_code():
    source = inspect.getsource(RunContext).splitlines()
    undocumented = []
    for field in dataclasses.fields(RunContext):
        if field.name.startswith("_"):
            continue
        at = next(i for i, line in enumerate(source)
                  if re.match(rf"\s+{field.name}: ", line))
        comment = source[at - 1].strip()
        if not comment.startswith("#:"):
            undocumented.append(field.name)
    for name, value in vars(RunContext).items():
        if name.startswith("_"):
            continue
        target = value.fget if isinstance(value, property) else value
        if callable(target) and not inspect.getdoc(target):
            undocumented.append(name)
    assert not undocumented, f"RunContext members without a docstring or #: comment: " \
                             f"{undocumented}"
