"""A retrying JSON GET over httpx: backoff with jitter, Retry-After, a bounded budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.base import ConnectorError

RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """How many times and how patiently a request is retried."""

    max_retries: int = 4
    answer_within: float = 30.0  # seconds for one whole answer, however it trickles in
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = min(self.base_delay * 2**attempt, self.max_delay)
        return backoff * (0.5 + self.rng.random() / 2)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _should_retry(response: httpx.Response) -> bool:
    hint = response.headers.get("Stripe-Should-Retry")
    if hint is not None:
        return hint.lower() == "true"
    return response.status_code in RETRY_STATUSES


class _TooSlowError(Exception):
    """A whole answer did not come within its time."""


def _get_within(client: httpx.Client, path: str, params: list[tuple[str, str]], seconds: float) -> httpx.Response:
    """GET whose whole answer must come within `seconds` (httpx's timeout bounds each read, not their sum)."""
    deadline = time.monotonic() + seconds
    with client.stream("GET", path, params=params) as streamed:
        body = bytearray()
        for chunk in streamed.iter_bytes():
            body += chunk
            if time.monotonic() > deadline:
                raise _TooSlowError
    headers = streamed.headers.copy()
    headers.pop("Content-Encoding", None)  # the body is decoded already
    return httpx.Response(streamed.status_code, headers=headers, content=bytes(body), request=streamed.request)


def get_json(
    client: httpx.Client,
    path: str,
    params: list[tuple[str, str]],
    policy: RetryPolicy,
    describe: Callable[[httpx.Response], str],
    on_request: Callable[[], None] = lambda: None,
) -> Any:
    """GET a JSON document, retrying transient failures; raises ConnectorError when it gives up."""
    last_problem = ""
    for attempt in range(policy.max_retries + 1):
        on_request()
        try:
            response = _get_within(client, path, params, policy.answer_within)
        except httpx.TransportError as exc:
            last_problem = f"cannot reach the API ({exc.__class__.__name__})"
            retry_after = None
        except _TooSlowError:
            last_problem = f"the API took over {policy.answer_within:g} s to answer"
            retry_after = None
        else:
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError:
                    last_problem = f"{response.status_code} with a body that is not valid JSON"
                    retry_after = None
            elif _should_retry(response):
                last_problem = describe(response)
                retry_after = _retry_after(response)
            else:
                raise ConnectorError(describe(response), status=response.status_code)
        if attempt < policy.max_retries:
            policy.sleep(policy.delay(attempt, retry_after))
    raise ConnectorError(f"{last_problem}; gave up after {policy.max_retries + 1} attempts")
