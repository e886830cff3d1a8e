"""OpenTelemetry across core's FastAPI range (docs/api.md, docs/models.md).

FastAPI 0.142 and later make their own request spans once a provider is set up; they need
``opentelemetry-api>=1.44``, which crewAI 1.12-1.14 do not allow, so beside those the resolver
picks an older FastAPI, which makes none. novelcrew configures neither: the app is the same on
both, and it serves requests with a provider set up. CI runs this on the locked FastAPI (spans)
and in ``.venv-crewai-oldest`` (none), so each branch runs in one of the two passes.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fastapi

#: FastAPI's own OpenTelemetry, detected by its public module (FastAPI 0.142+)
FASTAPI_TELEMETRY = importlib.util.find_spec("fastapi.telemetry") is not None

CHILD = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path

    import httpx
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # before the app is made, as opentelemetry-instrument

    from novelcrew.api.app import create_app
    from novelcrew.settings import Settings

    app = create_app(Settings(_env_file=None, data_dir=Path(sys.argv[1])))

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return (await client.get("/crews")).status_code

    status = asyncio.run(main())
    spans = [{"name": span.name, "route": span.attributes.get("http.route")}
             for span in exporter.get_finished_spans()]
    print(json.dumps({"status": status, "spans": spans}))
""")


def serve_one_request_with_a_provider(tmp_path: Path) -> dict:
    """Run CHILD in a fresh interpreter: a global provider can be set only once per process,
    and crewAI's environment (``OTEL_SDK_DISABLED``, set by other tests) must not leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_provider_set_up_gets_fastapis_spans_where_fastapi_makes_them(tmp_path):
    result = serve_one_request_with_a_provider(tmp_path)
    assert result["status"] == 200, result
    routes = {span["route"] for span in result["spans"]}
    if FASTAPI_TELEMETRY:
        assert "/crews" in routes, (fastapi.__version__, result["spans"])
    else:  # FastAPI < 0.142: no spans of its own, and the app works the same
        assert result["spans"] == [], (fastapi.__version__, result["spans"])


OPERATOR_TRACING = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    from novelcrew.crewai.env import prepare

    prepare(Path(sys.argv[1]))  # as the server does at start-up

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with trace.get_tracer("operator").start_as_current_span("mine"):
        pass
    import crewai.telemetry  # crewAI's own telemetry must still be off
    print(json.dumps({"spans": [s.name for s in exporter.get_finished_spans()],
                      "crewai_telemetry": crewai.telemetry.Telemetry().ready}))
""")


def test_preparing_crewai_leaves_the_operators_opentelemetry_on(tmp_path):
    """crewAI's telemetry is switched off without ``OTEL_SDK_DISABLED``, which would disable
    every provider an operator sets up after the server's start-up."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "CREWAI_"))}
    done = subprocess.run([sys.executable, "-c", OPERATOR_TRACING, str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"spans": ["mine"], "crewai_telemetry": False}, result
