"""``novelcrew-pathrag serve``: the PathRAG HTTP contract over the embedded store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="novelcrew-pathrag",
        description="novelcrew's knowledge graph: serve the PathRAG HTTP contract.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve /health, /insert, /insert_custom_kg, /query, /delete_entity"
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    serve.add_argument(
        "--data-dir", type=Path, default=None,
        help="where pathrag.sqlite3 lives (default: novelcrew's data directory)",
    )
    serve.add_argument(
        "--plain", action="store_true",
        help="behave like upstream PathRAG: no scopes, no structured data (client testing)",
    )
    serve.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        import uvicorn

        from novelcrew_pathrag.server import create_app

        data_dir = args.data_dir
        if data_dir is None:
            from novelcrew.settings import Settings

            data_dir = Settings().resolved_data_dir
        app = create_app(Path(data_dir).expanduser().resolve(), plain=args.plain)
        print(f"novelcrew-pathrag: serving {data_dir}/pathrag.sqlite3 on "
              f"http://{args.host}:{args.port}", file=sys.stderr, flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
