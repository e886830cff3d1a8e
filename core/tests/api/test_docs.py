"""``/docs`` and ``/redoc`` work on a host without internet: every script, style and icon
they load comes from the server itself."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_what_the_server_serves(make_client, page):
    client = await make_client(api_keys=["k"])  # no key needed for the docs
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
    urls += re.findall(r"""url\s*:\s*["']([^"']+)["']""", r.text)  # the OpenAPI document
    urls += re.findall(r"""spec-url\s*=\s*["']([^"']+)["']""", r.text)
    assert urls, r.text
    assert not [u for u in urls if "//" in u], urls  # nothing from another host
    assert "/openapi.json" in urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    if page == "/docs":
        script = next(u for u in urls if u.endswith(".js"))
        body = (await client.get(script)).text
        assert "SwaggerUIBundle" in body
