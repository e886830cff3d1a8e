"""The child's side of tests that run crewAI in a fresh process (crewAI's environment and the
logging set-up are per process): a one-agent, one-task crew on a model that answers a fixed
text. A script sets up what it tests first, then imports this (which imports crewAI)."""

from __future__ import annotations

from typing import Any

from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM

ANSWER = "Thought: done\nFinal Answer: the lighthouse"


class FixedAnswer(BaseLLM):
    """Answers every call with ``ANSWER``, after ``on_call`` (a subclass's hook)."""

    def on_call(self) -> None:
        pass

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.on_call()
        return ANSWER

    async def acall(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        return self.call(messages)

    def supports_function_calling(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 8000


def kickoff(llm: Any, *, description: str = "Read the story", verbose: bool = False,
            **agent: Any) -> Any:
    """One Reader agent doing one task on ``llm``; crewAI's tracing off."""
    reader = Agent(role="Reader", goal="read", backstory="reads", llm=llm, verbose=verbose,
                   **agent)
    task = Task(description=description, expected_output="a word", agent=reader)
    return Crew(agents=[reader], tasks=[task], verbose=verbose, tracing=False).kickoff()
