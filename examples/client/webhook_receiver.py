"""A minimal novelcrew webhook receiver (standard library only), to copy into your service.

    python examples/client/webhook_receiver.py --port 8787 --secret "$NOVELCREW_WEBHOOK_SECRET"

then submit jobs with ``"webhook_url": "http://127.0.0.1:8787/hooks/novelcrew"`` to a server
started with ``NOVELCREW_WEBHOOK_ALLOW=127.0.0.1`` (a loopback or private receiver must be
allowed by the operator; otherwise the job is refused with 422). For every
delivery it checks ``X-Novelcrew-Signature`` (``sha256=`` + HMAC-SHA256 of the raw body under
the shared secret, compared in constant time) before trusting the body, answers 204, and prints
one JSON line: job id, status, crews, error. A wrong or missing signature gets 401, which
novelcrew does not retry. ``X-Novelcrew-Delivery`` is the same for every retry of a delivery,
so a receiver can drop duplicates.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def signature_ok(body: bytes, secret: str, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(header) and hmac.compare_digest(expected, header or "")


def make_handler(secret: str | None, seen: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if secret is not None and not signature_ok(
                body, secret, self.headers.get("X-Novelcrew-Signature")
            ):
                self.send_response(401)
                self.end_headers()
                print(json.dumps({"rejected": "bad signature"}), flush=True)
                return
            self.send_response(204)
            self.end_headers()
            delivery = self.headers.get("X-Novelcrew-Delivery") or ""
            if delivery in seen:
                return  # a retry of a delivery already handled
            seen.add(delivery)
            job: dict[str, Any] = json.loads(body)
            print(json.dumps({
                "event": self.headers.get("X-Novelcrew-Event"),
                "job_id": job.get("id"),
                "status": job.get("status"),
                "crews": job.get("crews"),
                "error": job.get("error"),
            }), flush=True)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Print novelcrew job webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--secret", help="NOVELCREW_WEBHOOK_SECRET of the server; without it "
                        "signatures are not checked.")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.secret, set()))
    print(json.dumps({"listening": f"http://{args.host}:{server.server_address[1]}"}),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
