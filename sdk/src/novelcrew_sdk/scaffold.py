"""``novelcrew plugin new NAME``: write a working plugin package that passes its own tests."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

TEMPLATE_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "src/{module}/__init__.py",
    "plugin.py.tmpl": "src/{module}/plugin.py",
    "tools.py.tmpl": "src/{module}/tools.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


#: names of novelcrew's own plugins and crews: a package of that name would be installed over
#: theirs (``novelcrew-architect``, ``novelcrew-sdk``), or its crew refused at load
RESERVED = frozenset({"architect", "director", "storyboard", "pathrag", "payload", "exports",
                      "eval", "eval-judge", "sdk"})


class ScaffoldError(ValueError):
    """The name is unusable or the target folder already exists."""


def names(name: str) -> dict[str, str]:
    """The package's names from the plugin name: words of ASCII letters and digits joined by
    ``-`` (``Story Board`` -> ``story-board``). Other characters are refused rather than
    dropped, so ``café`` never quietly becomes ``caf``."""
    odd = sorted(set(re.sub(r"[A-Za-z0-9 _-]", "", name)))
    if odd:
        raise ScaffoldError(
            f"{name!r} is not a usable plugin name: {' '.join(map(repr, odd))} cannot be part "
            "of a Python package name (use ASCII letters, digits, spaces, '-' or '_')")
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    if not slug or not slug[0].isalpha():
        raise ScaffoldError(f"{name!r} is not a usable plugin name (start with a letter)")
    if slug in RESERVED:
        raise ScaffoldError(
            f"{slug!r} is the name of one of novelcrew's own plugins or crews: installing "
            f"novelcrew-{slug} would replace or clash with it; pick another name")
    module = slug.replace("-", "_")
    return {
        "name": slug,
        "dist": f"novelcrew-{slug}",
        "module": f"novelcrew_{module}",
        "crew": slug,
        "tool": f"{module}_word_count",
        "role": f"{slug.replace('-', ' ').title()} Analyst",
        "title": slug.replace("-", " ").title(),
    }


def new_plugin(name: str, directory: Path) -> Path:
    """Write the package ``novelcrew-<name>`` into ``directory``; returns its folder."""
    values = names(name)
    target = directory / values["dist"]
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    template = files("novelcrew_sdk") / "template"
    for source, dest in TEMPLATE_FILES.items():
        text = (template / source).read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        path = target / dest.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target
