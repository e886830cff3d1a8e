"""``/ui``: the web dashboard, static files shipped in the package (nothing from the internet).

The page itself holds no data and needs no key; everything it shows comes from the JSON API
with the key the person typed in, kept in the tab's ``sessionStorage``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

UI_DIR = Path(__file__).resolve().parent.parent / "ui"

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/")
@router.get("/ui")
async def root() -> RedirectResponse:
    """A person who opens the server's address in a browser lands on the page, not a 404."""
    return RedirectResponse("ui/", status_code=307)  # relative: right behind a path prefix


@router.get("/ui/")
async def ui_index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


def mount(app: FastAPI) -> None:
    """The page's scripts and styles under ``/ui/assets``."""
    app.mount("/ui/assets", StaticFiles(directory=UI_DIR), name="ui-assets")
