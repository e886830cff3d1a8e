#!/usr/bin/env bash
# Replays deploy/Dockerfile's build steps on this machine (no Docker engine needed): the same
# files copied in the same order, the same `uv sync` commands, then the runtime checks the
# image relies on (the console script, `novelcrew worker --check`). Run from anywhere:
#   bash deploy/check-image-steps.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UV_PROJECT_ENVIRONMENT="$work/app/.venv" UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=0
skip=(--no-install-package novelcrew-sdk --no-install-package pytest
      --no-install-package pytest-asyncio)   # as UV_SKIP in the Dockerfile
src="$work/src"
mkdir -p "$src"
cd "$src"

# step 1: third-party dependencies from the lock and the manifests only
cp "$repo/pyproject.toml" "$repo/uv.lock" .
# the packages whose manifests the Dockerfile copies in step 1 (its "COPY <pkg>/pyproject.toml" lines)
for pkg in $(sed -n 's|^COPY \([a-z/]*\)/pyproject.toml .*|\1|p' "$repo/deploy/Dockerfile"); do
    mkdir -p "$pkg"
    cp "$repo/$pkg/pyproject.toml" "$repo/$pkg/README.md" "$pkg/"
done
uv sync --frozen --no-dev --no-install-workspace "${skip[@]}" --quiet

# step 2: the workspace packages, not editable
cp -r "$repo/core" "$repo/sdk" "$repo/plugins" .
rm -rf core/tests sdk/tests plugins/*/tests
uv sync --frozen --no-dev --no-editable "${skip[@]}" --quiet

# step 3: third-party plugins (the Dockerfile's EXTRA_PLUGINS build argument); by default the
# repository's example plugin, so the step is exercised
extra="${EXTRA_PLUGINS-$repo/examples/logline-crew}"
if [ -n "$extra" ]; then
    # shellcheck disable=SC2086
    uv pip install --python "$UV_PROJECT_ENVIRONMENT/bin/python" --quiet $extra
fi
cd /
rm -rf "$src"   # the runtime stage keeps only the virtual environment

venv="$work/app/.venv"
"$venv/bin/novelcrew" --help > /dev/null
"$venv/bin/novelcrew" worker --help > /dev/null
"$venv/bin/novelcrew" plugins --json > "$work/plugins.json"
# the story crews come with their export formats (novelcrew-exports)
grep -q '"fountain"' "$work/plugins.json" \
    || { echo "the exports plugin is not in the image" >&2; exit 1; }
if [ -n "$extra" ] && [ -z "${EXTRA_PLUGINS+x}" ]; then
    grep -q '"name": "logline"' "$work/plugins.json" \
        || { echo "the extra plugin is not listed" >&2; exit 1; }
fi
if NOVELCREW_REDIS_URL=redis://127.0.0.1:1/0 "$venv/bin/novelcrew" worker --check; then
    echo "worker --check passed with no Redis" >&2; exit 1
fi
! "$venv/bin/python" -c "import pytest" 2> /dev/null || { echo "dev tools in the image" >&2; exit 1; }
echo "image build steps OK: $("$venv/bin/python" -c 'import novelcrew, sys; print(novelcrew.__file__)')"
