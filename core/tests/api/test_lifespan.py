"""What the app's lifespan does to the interpreter it serves from, and undoes at shutdown."""

from __future__ import annotations

import gc

from conftest import make_settings

from novelcrew.api.app import create_app


async def test_serving_leaves_the_collector_alone(tmp_path, plugins):
    """The app is a library: it never tunes the interpreter it runs in (thresholds, frozen
    objects); ``novelcrew serve`` is the place for that."""
    before_thresholds, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(make_settings(tmp_path), plugins)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == before_thresholds
        assert gc.get_freeze_count() == before_frozen


def test_fastapi_telemetry_spans_appear_with_a_provider(tmp_path):
    """FastAPI's own OpenTelemetry spans, as FastAPI makes them, once a provider is set up.
    In a child process: a global provider can be set only once per process."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import httpx, asyncio
        from pathlib import Path
        from novelcrew.api.app import create_app
        from novelcrew.settings import Settings

        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

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
