#!/usr/bin/env bash
# Install what novelcrew's demo and tests need on a machine that has only Python and pip:
# uv (which installs the locked Python packages), and for the tests redis-server, nginx,
# docker-compose, systemd-analyze and headless Chromium with its driver (Debian) and the Payload test server's Node packages
# (npm). Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet "uv>=0.5,<1"
fi
uv sync --frozen --quiet

[ "$what" = "python" ] && exit 0

if [ "$what" = "crewai-oldest" ]; then
  # a second environment with the oldest crewAI minor core supports (its pyproject's floor),
  # for CI's second pass of the suite: .venv-crewai-oldest/bin/python -m pytest.
  # Everything in it is the resolver's choice beside `crewai==<floor>.*` (no forced install),
  # so it is what a user gets who pins that crewAI; if the declared ranges stop resolving
  # together, this fails here, as does `uv pip check` on a conflict.
  oldest=$(sed -n 's/.*"crewai>=\([0-9][0-9.]*\),.*/\1/p' core/pyproject.toml)
  venv=.venv-crewai-oldest
  [ -x "$venv/bin/python" ] || uv venv --quiet --python .venv/bin/python "$venv"
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  echo "crewai==${oldest}.*" > "$work/constraint.txt"
  for project in core sdk plugins/*; do echo "-e $PWD/$project"; done > "$work/members.in"
  uv pip compile --quiet --python "$venv/bin/python" --constraint "$work/constraint.txt" \
    --group pyproject.toml:dev "$work/members.in" -o "$work/requirements.txt"
  uv pip sync --quiet --python "$venv/bin/python" "$work/requirements.txt"
  uv pip check --python "$venv/bin/python"
  .venv-crewai-oldest/bin/python -c "import crewai; print('crewAI', crewai.__version__)"
  exit 0
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)     # validates deploy/compose.yaml
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)          # verifies deploy/systemd units
command -v chromium >/dev/null 2>&1 || missing+=(chromium)                # browser tests of /ui
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

payload=plugins/payload/tests/payload_server
if [ -f "$payload/package-lock.json" ] && [ ! -d "$payload/node_modules" ]; then
  npm ci --prefix "$payload" --no-audit --no-fund --loglevel=error
fi
