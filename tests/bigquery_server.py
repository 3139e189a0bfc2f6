"""A BigQuery-shaped REST server on 127.0.0.1 for tests: OAuth tokens for a service account, tables.list, tables.get,
jobs.insert (dry runs with `totalBytesProcessed`), jobs.get and jobs.getQueryResults with paged rows. Queries run
on DuckDB over GA4-shaped tables (transpiled by sqlglot); failures and slow jobs are set per test."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import sqlglot

_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "HUGEINT": "INT64",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
}


@dataclass
class Failure:
    """An answer the server gives instead of the real one: to requests whose path contains `where`."""

    where: str
    status: int
    reason: str
    message: str
    times: int = 1


@dataclass
class BigQueryServer:
    """The server's state: the DuckDB cursor the tables live in, what a dry run reports, the jobs run."""

    cursor: Any
    scanned_bytes: int = 1_000_000
    page_size: int = 3
    failures: list[Failure] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    tokens_issued: int = 0
    pending_polls: int = 0  # how many polls (getQueryResults) answer "not complete yet"; jobs read RUNNING till then
    jobs: dict[str, dict] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # a source's options for this server, set by a fixture
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        """Serve in a thread; the endpoint, http://127.0.0.1:PORT."""
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def failure_for(self, path: str) -> Failure | None:
        with self.lock:
            for failure in self.failures:
                if failure.where in path and failure.times > 0:
                    failure.times -= 1
                    return failure
        return None

    def run(self, sql: str) -> dict:
        """A query's result: schema and rows as the REST API writes them."""
        self.queries.append(sql)
        duck = sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]
        with self.lock:
            result = self.cursor.execute(duck)
            names = [d[0] for d in result.description]
            kinds = [_TYPES.get(str(d[1]), "STRING") for d in result.description]
            rows = result.fetchall()
        fields = [{"name": n, "type": k, "mode": "NULLABLE"} for n, k in zip(names, kinds)]
        values = [{"f": [{"v": None if v is None else str(v)} for v in row]} for row in rows]
        return {"fields": fields, "rows": values}


class _Handler(BaseHTTPRequestHandler):
    server_state: BigQueryServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, failure: Failure) -> None:
        error = {
            "code": failure.status,
            "message": failure.message,
            "errors": [{"reason": failure.reason, "message": failure.message}],
            "status": failure.reason,
        }
        if failure.where == "/token":
            self._send(failure.status, {"error": failure.reason, "error_description": failure.message})
        else:
            self._send(failure.status, {"error": error})

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        return json.loads(raw or b"{}")

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def _route(self, method: str) -> None:
        state = self.server_state
        url = urlparse(self.path)
        state.requests.append(f"{method} {url.path}")
        body = self._body() if method == "POST" else {}
        if (failure := state.failure_for(url.path)) is not None:
            return self._error(failure)
        parts = url.path.strip("/").split("/")
        if url.path == "/token":
            state.tokens_issued += 1
            return self._send(
                200, {"access_token": f"token-{state.tokens_issued}", "expires_in": 3600, "token_type": "Bearer"}
            )
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._error(Failure("", 401, "unauthorized", "Request is missing required authentication"))
        if parts[-1] == "tables" and method == "GET":
            return self._send(200, self._tables(parts[3], parts[5]))
        if parts[-2] == "tables" and method == "GET":
            return self._send(200, self._table(parts[3], parts[5], parts[-1]))
        if parts[-1] == "jobs" and method == "POST":
            return self._send(200, self._insert(parts[3], body))
        if parts[-2] == "jobs" and method == "GET":
            resource = state.jobs[parts[-1]]["resource"]
            return self._send(200, {**resource, "status": {"state": "RUNNING"}} if state.pending_polls else resource)
        if parts[-2] == "queries" and method == "GET":
            return self._send(200, self._results(parts[-1], parse_qs(url.query)))
        self._send(404, {"error": {"code": 404, "message": f"no route {url.path}", "errors": []}})

    def _tables(self, project: str, dataset: str) -> dict:
        rows = self.server_state.cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
            "ORDER BY table_name",
            [project, dataset],
        ).fetchall()
        return {
            "tables": [
                {"tableReference": {"projectId": project, "datasetId": dataset, "tableId": name}, "type": "TABLE"}
                for (name,) in rows
                if "*" not in name
            ]
        }

    def _table(self, project: str, dataset: str, table: str) -> dict:
        """tables.get: the table's top-level columns (their types as BigQuery names them, roughly)."""
        columns = self.server_state.cursor.execute(f'DESCRIBE "{project}".{dataset}."{table}"').fetchall()
        kind = lambda t: "RECORD" if t.startswith("STRUCT") else {"VARCHAR": "STRING", "BIGINT": "INTEGER"}.get(t, t)  # noqa: E731
        return {
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
            "schema": {"fields": [{"name": name, "type": kind(t), "mode": "REPEATED" if t.endswith("[]") else
                                   "NULLABLE"} for name, t, *_ in columns]},
        }  # fmt: skip

    def _insert(self, project: str, body: dict) -> dict:
        state = self.server_state
        reference = {**body.get("jobReference", {}), "projectId": project}
        reference.setdefault("jobId", uuid.uuid4().hex)
        query = body["configuration"]["query"]["query"]
        statistics = {
            "totalBytesProcessed": str(state.scanned_bytes),
            "query": {"totalBytesProcessed": str(state.scanned_bytes)},
        }
        resource = {
            "kind": "bigquery#job",
            "id": f"{project}:{reference['jobId']}",
            "jobReference": reference,
            "configuration": body["configuration"],
            "status": {"state": "DONE"},
            "statistics": statistics,
        }
        if body["configuration"].get("dryRun"):
            return resource
        limit = body["configuration"]["query"].get("maximumBytesBilled")
        if limit is not None and state.scanned_bytes > int(limit):
            message = f"Query exceeded limit for bytes billed: {limit}. {state.scanned_bytes} or higher required."
            resource["status"] = {
                "state": "DONE",
                "errorResult": {"reason": "bytesBilledLimitExceeded", "message": message},
            }
            state.jobs[reference["jobId"]] = {"resource": resource, "result": None}
            return resource
        state.jobs[reference["jobId"]] = {"resource": resource, "result": state.run(query)}
        return {**resource, "status": {"state": "RUNNING"}} if state.pending_polls else resource

    def _results(self, job_id: str, query: dict) -> dict:
        state = self.server_state
        job = state.jobs[job_id]
        reference = job["resource"]["jobReference"]
        if state.pending_polls > 0:
            state.pending_polls -= 1
            return {"kind": "bigquery#getQueryResultsResponse", "jobReference": reference, "jobComplete": False}
        result = job["result"]
        start = int(query.get("pageToken", ["0"])[0])
        size = min(int(query.get("maxResults", [state.page_size])[0]), state.page_size)
        page = result["rows"][start : start + size]
        answer = {
            "kind": "bigquery#getQueryResultsResponse",
            "jobReference": reference,
            "jobComplete": True,
            "schema": {"fields": result["fields"]},
            "totalRows": str(len(result["rows"])),
            "rows": page,
        }
        if start + size < len(result["rows"]):
            answer["pageToken"] = str(start + size)
        return answer
