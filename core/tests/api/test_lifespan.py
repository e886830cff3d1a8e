"""What the app's lifespan does to the interpreter it serves from, and undoes at shutdown."""

from __future__ import annotations

import gc

from conftest import make_settings

from novelcrew.api.app import GC_THRESHOLDS, create_app


async def test_serving_freezes_the_heap_and_scans_young_objects_less_often(tmp_path, plugins):
    before_thresholds, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(make_settings(tmp_path), plugins)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > before_frozen  # what was loaded is out of the scans
    # several apps in one process (tests, embedding) leave the interpreter as they found it
    assert gc.get_threshold() == before_thresholds
    assert gc.get_freeze_count() == 0


def test_fastapi_telemetry_is_off_without_a_provider_and_on_with_one(tmp_path):
    """FastAPI's own OpenTelemetry spans, asked for by setting up a provider before the app is
    made; without one the app does not ask again at every request. In a child process: a
    global provider can be set only once per process."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import httpx, asyncio
        from pathlib import Path
        from novelcrew.api.app import create_app, fastapi_telemetry
        from novelcrew.settings import Settings

        assert fastapi_telemetry() == {{"tracing": False, "metrics": False, "logs": False}}

        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        assert fastapi_telemetry() is None

        app = create_app(Settings(_env_file=None, data_dir=Path({str(tmp_path)!r})))

        async def main():
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    assert (await c.get("/crews")).status_code == 200
        asyncio.run(main())
        names = [span.name for span in exporter.get_finished_spans()]
        assert any("/crews" in name for name in names), names
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
