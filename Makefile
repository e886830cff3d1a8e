# The two commands of the README's first screen are `make demo` and `make test`.
.PHONY: demo test lint typecheck bootstrap bench screenshots dist

bootstrap:
	./scripts/bootstrap.sh

demo:
	./scripts/bootstrap.sh python
	uv run python examples/client/demo.py $(ARGS)

lint:
	uv run ruff check .

# bench apart: its queue.py is a top-level module named like the stdlib's (mypy crashes on both)
typecheck:
	uv run mypy core/src sdk/src $(wildcard plugins/*/src) $(wildcard examples/*/src)
	uv run mypy bench

test: bootstrap lint typecheck
	uv run pytest $(ARGS)

bench: bootstrap
	uv run python bench/api.py
	uv run python bench/concurrency.py
	uv run python bench/queue.py
	uv run python bench/graph.py

# the pictures of the web UI in docs/screenshots, taken by the browser test
screenshots: bootstrap
	NOVELCREW_UI_SCREENSHOTS=docs/screenshots uv run pytest tests/ui -q -p no:randomly

# wheels (and sdists) of core, the SDK and every plugin, for installs outside this repository:
#   uv venv && uv pip install --find-links dist novelcrew novelcrew-sdk
dist:
	rm -rf dist
	uv build --all-packages -o dist/
