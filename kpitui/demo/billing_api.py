"""A small Stripe-like HTTP API on 127.0.0.1 serving a Book (and injected faults for tests)."""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from kpitui.demo.billing_book import Book

MAX_LIMIT = 100


@dataclass
class Fault:
    """One canned answer served instead of the real one (status, headers, raw body)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": {"message": "injected fault"}}'
    delay: float = 0.0
    cut_after: int | None = None  # announce the whole body, send this many bytes, then drop the connection
    drip: float = 0.0  # seconds between the body's bytes, sent one at a time


class _Handler(BaseHTTPRequestHandler):
    server: BillingServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the board owns the terminal."""

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_fault(self, fault: Fault) -> None:
        if fault.delay:
            threading.Event().wait(fault.delay)
        if fault.drip:
            self.send_response(fault.status)
            self.send_header("Content-Length", str(len(fault.body)))
            self.end_headers()
            for byte in fault.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                threading.Event().wait(fault.drip)
            return
        if fault.cut_after is None:
            self._send(fault.status, fault.body, fault.headers)
            return
        self.send_response(fault.status)
        self.send_header("Content-Length", str(len(fault.body)))
        self.end_headers()
        self.wfile.write(fault.body[: fault.cut_after])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": {"message": message}}).encode())

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            key = header[7:]
        elif header.startswith("Basic "):
            key = base64.b64decode(header[6:]).decode(errors="replace").split(":", 1)[0]
        else:
            return False
        return key == self.server.api_key

    def do_GET(self) -> None:
        """Serve list endpoints with Stripe's pagination and expand rules."""
        url = urlsplit(self.path)
        params = parse_qsl(url.query)
        self.server.record(url.path, params)
        fault = self.server.next_fault()
        if fault is not None:
            self._send_fault(fault)
            return
        if not self._authorised():
            self._error(401, "Invalid API Key provided")
            return
        lists = self.server.lists()
        parts = url.path.strip("/").split("/")
        if url.path in lists:
            objects = lists[url.path]
        elif len(parts) == 4 and parts[:2] == ["v1", "invoices"] and parts[3] == "lines":
            invoice = next((i for i in self.server.book.invoices if i["id"] == unquote(parts[2])), None)
            if invoice is None:
                self._error(404, "No such invoice")
                return
            objects = invoice["lines"]["data"]
        else:
            self._error(404, f"Unrecognized request URL (GET: {url.path})")
            return
        try:
            page = self._page(url.path, objects, params)
        except ValueError as exc:
            self._error(400, str(exc))
            return
        self._send(200, json.dumps(page).encode())

    def _page(self, path: str, objects: list[dict], params: list[tuple[str, str]]) -> dict:
        query = dict(params)
        expand = [v for k, v in params if k in ("expand[]", "expand")]
        if any(e not in ("data.discounts", "data.customer", "data.phases.items.price") for e in expand):
            raise ValueError(f"This property cannot be expanded ({expand[0]})")
        status = query.get("status")
        if path == "/v1/subscriptions" and status != "all":
            objects = [o for o in objects if o["status"] == (status or o["status"]) and o["status"] != "canceled"]
        if "type" in query:
            objects = [o for o in objects if o.get("type") == query["type"]]
        if "created[gt]" in query:
            after = int(query["created[gt]"])  # an object whose `created` is no number is served as it is
            objects = [o for o in objects if not isinstance(o.get("created"), int) or o["created"] > after]
        limit = min(max(int(query.get("limit", 10)), 1), MAX_LIMIT)
        start = 0
        if "starting_after" in query:
            ids = [o["id"] for o in objects]
            if query["starting_after"] not in ids:
                raise ValueError(f"No such object: '{query['starting_after']}'")
            start = ids.index(query["starting_after"]) + 1
        chunk = objects[start : start + limit]
        if "data.discounts" in expand:
            discounts = self.server.book.discounts
            chunk = [dict(o, discounts=_expanded(o.get("discounts"), discounts)) for o in chunk]
        if path == "/v1/subscription_schedules" and "data.phases.items.price" not in expand:
            chunk = [_prices_as_ids(o) for o in chunk]
        return {"object": "list", "url": path, "has_more": start + limit < len(objects), "data": chunk}


def _expanded(listed: object, discounts: dict[str, dict]) -> object:
    """A subscription's discounts, the ids of the book's ones expanded (anything else served as it is)."""
    if not isinstance(listed, list):
        return listed
    return [discounts.get(d, d) if isinstance(d, str) else d for d in listed]


def _prices_as_ids(schedule: dict) -> dict:
    """A schedule as Stripe sends it unexpanded: each phase item names its price by id."""
    phases = [dict(p, items=[dict(i, price=i["price"]["id"]) for i in p.get("items", [])]) for p in schedule["phases"]]
    return dict(schedule, phases=phases)


class BillingServer(ThreadingHTTPServer):
    """The demo billing API; `start()` serves it from a daemon thread on a free loopback port."""

    daemon_threads = True

    def __init__(self, book: Book, api_key: str = "sk_test_demo", port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.book = book
        self.api_key = api_key
        self.faults: deque[Fault] = deque()
        self.log: list[tuple[str, list[tuple[str, str]]]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Where the API listens."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def lists(self) -> dict[str, list[dict]]:
        """The list endpoints and the objects behind them."""
        return {
            "/v1/customers": self.book.customers,
            "/v1/subscriptions": self.book.subscriptions,
            "/v1/invoices": self.book.invoices,
            "/v1/events": self.book.events,
            "/v1/products": self.book.products,
            "/v1/subscription_schedules": self.book.schedules,
        }

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client goes away mid-answer: the board owns the terminal."""

    def record(self, path: str, params: list[tuple[str, str]]) -> None:
        """Remember a request, for tests and benchmarks that count them."""
        with self._lock:
            self.log.append((path, params))

    def next_fault(self) -> Fault | None:
        """The next injected fault, if any is queued."""
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def start(self) -> BillingServer:
        """Serve in a daemon thread and return self."""
        self._thread = threading.Thread(target=self.serve_forever, name="demo-billing-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.shutdown()
        self.server_close()
