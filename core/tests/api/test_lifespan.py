"""What the app's lifespan does to the interpreter it serves from, and undoes at shutdown."""

from __future__ import annotations

import gc

from nc_api import make_settings

from novelcrew.api.app import create_app


async def test_serving_leaves_the_collector_alone(tmp_path, plugins):
    """The app is a library: it never tunes the interpreter it runs in (thresholds, frozen
    objects); ``novelcrew serve`` is the place for that."""
    before_thresholds, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(make_settings(tmp_path), plugins)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == before_thresholds
        assert gc.get_freeze_count() == before_frozen


def test_serve_freezes_the_heap_only_when_its_setting_asks(tmp_path):
    """``NOVELCREW_GC_FREEZE`` is the one switch: off, ``novelcrew serve`` leaves the
    collector alone; on, what start-up loaded is moved out of the collector's sight."""
    from novelcrew.cli.serve import freeze_heap

    gc.unfreeze()
    try:
        freeze_heap(make_settings(tmp_path, gc_freeze=False))
        assert gc.get_freeze_count() == 0
        freeze_heap(make_settings(tmp_path, gc_freeze=True))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
