"""Schemathesis over the app's own OpenAPI document, against a real uvicorn server: no 5xx,
no response that breaks its documented schema, status or content type, and invalid requests
rejected with a 4xx.

``positive_data_acceptance`` is left out on purpose: a body can fit the static schema and still
be refused with 422 (a crew's own input model) or 413 (the story limit), which is the point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import apicrews
import pytest
import schemathesis
from apihelpers import served
from conftest import make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from novelcrew.api.app import create_app

KEY = "fuzz-key"


@pytest.fixture(scope="module")
def fuzz_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(tmp, api_keys=[KEY], max_story_chars=5000,
                                   max_body_bytes=200_000), apicrews.load_plugins())
    with served(app) as url:
        yield url


#: examples per operation and generation mode, enough to run the whole test in well under 60 s
EXAMPLES = 12


def test_no_5xx_and_every_response_matches_the_schema(fuzz_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_url}/openapi.json",
                                           headers={"X-API-Key": KEY})
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 19
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(headers={"X-API-Key": KEY}, timeout=10,
                                       excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
