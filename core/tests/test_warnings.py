"""``novelcrew.warnings``, public for any crew that gives warnings as words and as data: the
plugin-author guide's example works as written, and the rules hold as the guide says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from novelcrew.warnings import check_messages, kind_label, kinds_of, warning_lines

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-author-guide.md"


def _guide_example() -> dict[str, Any]:
    """The names the guide's "Warnings as words and as data" example defines."""
    section = GUIDE.read_text().split("## Warnings as words and as data", 1)[1].split("\n## ")[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    names: dict[str, Any] = {}
    exec(compile(code, str(GUIDE), "exec", dont_inherit=True), names)  # as a module runs it
    return names


def test_the_guides_example_flags_each_part_with_the_kinds_that_concern_it() -> None:
    ex = _guide_example()
    paragraphs = [ex["Paragraph"](number=1, text="a"), ex["Paragraph"](number=2, text="b")]
    found = ex["SynopsisWarnings"]()
    found.add("too_short", "paragraph 2 is short", [2])
    found.add("no_ending", "no ending", [2, 1])
    found.add("too_short", "paragraph 2 again", [2])
    synopsis = ex["Synopsis"](paragraphs=paragraphs, warnings=found.messages,
                              warning_details=found.resolve(paragraphs))
    assert synopsis.warnings == ["paragraph 2 is short", "no ending", "paragraph 2 again"]
    assert [p.warning_kinds for p in synopsis.paragraphs] == [["no_ending"],
                                                              ["too_short", "no_ending"]]
    assert [w.kind for w in synopsis.warning_details] == ["too_short", "no_ending", "too_short"]


def test_a_result_whose_details_are_not_its_words_is_refused() -> None:
    ex = _guide_example()
    detail = {"kind": "too_short", "paragraphs": [], "message": "short"}
    with pytest.raises(ValidationError, match="one entry per warning, with its message"):
        ex["Synopsis"](paragraphs=[], warnings=["other words"], warning_details=[detail])
    with pytest.raises(ValidationError, match="one entry per warning"):  # order counts too
        ex["Synopsis"](paragraphs=[], warnings=["b", "a"], warning_details=[
            {**detail, "message": "a"}, {**detail, "message": "b"}])
    # a result from before details existed has words only, and that is fine
    assert ex["Synopsis"](paragraphs=[], warnings=["short"]).warning_details == []
    check_messages(["short"], [])


def test_kinds_are_given_once_in_the_order_of_their_first_warning() -> None:
    ex = _guide_example()
    warning = ex["SynopsisWarning"]
    details = [warning(kind="no_ending", message="1"), warning(kind="too_short", message="2"),
               warning(kind="no_ending", message="3")]
    assert kinds_of(details) == ["no_ending", "too_short"]
    assert kinds_of([]) == []


def test_a_renderer_says_each_warning_with_its_kind_when_the_result_gives_it() -> None:
    labels = {"too_short": "too short"}
    result = {"warnings": ["short", "no end"],
              "warning_details": [{"kind": "too_short", "message": "short"},
                                  {"kind": "no_ending", "message": "no end"}]}
    assert warning_lines(result, labels) == ["warning (too short): short",
                                             "warning (no ending): no end"]
    # details that do not match the words (an older or hand-made result): the words alone
    assert warning_lines({"warnings": ["short"], "warning_details": []}, labels) == [
        "warning: short"]
    assert warning_lines({}, labels) == []
    assert kind_label("graph_read_failed", labels) == "graph read failed"
