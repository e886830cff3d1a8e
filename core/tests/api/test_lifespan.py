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
