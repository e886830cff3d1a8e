"""crewAI models read their private attributes exactly as pydantic would, only cheaper.

``crewai_bridge`` gives crewAI's pydantic models (flows and agent executors, agents, tasks,
crews, LLMs) a ``__getattr__`` that skips pydantic's per-read exception; anything a user's
subclass does with private attributes must behave as before.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from pydantic import PrivateAttr

from novelcrew import crewai_bridge


def _shout(self: Any) -> str:
    return "loud"


def _pydantic_read(obj: Any, name: str) -> Any:
    return pydantic.BaseModel.__getattr__(obj, name)


@pytest.fixture(scope="module")
def flow_cls() -> type:
    from crewai.flow.flow import Flow, start

    crewai_bridge._fast_private_reads()

    class NoteFlow(Flow):  # type: ignore[misc,type-arg]
        _note: str = PrivateAttr(default="first")
        _items: list[str] = PrivateAttr(default_factory=list)

        @start()
        def begin(self) -> str:
            return self._note

    return NoteFlow


@pytest.fixture(scope="module")
def descriptor_flow_cls() -> type:
    from crewai.flow.flow import Flow, start

    crewai_bridge._fast_private_reads()

    class DescriptorFlow(Flow):  # type: ignore[misc,type-arg]
        _hook: Any = PrivateAttr(default=_shout)  # a function: pydantic binds it on read

        @start()
        def begin(self) -> str:
            return "ok"

    return DescriptorFlow


def test_crewai_models_use_the_cheaper_reader() -> None:
    from crewai import Agent, Crew, Task
    from crewai.flow.flow import Flow

    crewai_bridge._fast_private_reads()
    for cls in (Flow, Agent, Task, Crew):
        assert cls.__getattr__ is not pydantic.BaseModel.__getattr__


def test_private_values_read_and_written_as_with_pydantic(flow_cls: type) -> None:
    flow = flow_cls()
    assert flow._note == "first" == _pydantic_read(flow, "_note")
    flow._note = "second"
    flow._items.append("a")
    assert flow._note == "second" == _pydantic_read(flow, "_note")
    assert flow._items == ["a"] == _pydantic_read(flow, "_items")
    assert flow.kickoff() == "second"


def test_missing_names_raise_attribute_error_as_with_pydantic(flow_cls: type) -> None:
    flow = flow_cls()
    del flow.__pydantic_private__["_note"]
    for name in ("_note", "_never_declared", "not_a_field"):
        with pytest.raises(AttributeError):
            _pydantic_read(flow, name)
        with pytest.raises(AttributeError):
            getattr(flow, name)
        assert not hasattr(flow, name)


def test_a_private_descriptor_default_is_still_bound_as_pydantic_binds_it(
        descriptor_flow_cls: type) -> None:
    flow = descriptor_flow_cls()
    assert flow._hook() == "loud" == _pydantic_read(flow, "_hook")()
