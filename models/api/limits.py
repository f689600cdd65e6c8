"""The API's own limits: requests per client (a token bucket per address), the body size, CORS.

Settings (environment, read when the API is installed):

- ``EXPLORER_API_RATE``: requests per second and client, sustained (default 10; 0: no limit);
- ``EXPLORER_API_BURST``: requests a client may send at once (default 60);
- ``EXPLORER_API_CORS``: origins allowed to call the API from a browser, separated by commas
  (default: none, no CORS header at all).

The client is ``request.remote_addr``: behind a reverse proxy, have it set the address (e.g.
werkzeug's ``ProxyFix``), or every visitor shares one bucket.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

MAX_BODY_BYTES = 64 * 1024  # a question (≤ 500 characters) and a state (≤ 8,000): far below
MAX_CLIENTS = 10_000  # buckets kept; beyond, the fullest (idle) ones are forgotten


def _env_float(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass
class RateLimiter:
    """A token bucket per client: ``burst`` requests at once, then ``rate`` per second."""

    rate: float = 10.0
    burst: float = 60.0
    _buckets: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls) -> RateLimiter:
        return cls(rate=_env_float("EXPLORER_API_RATE", 10.0),
                   burst=max(1.0, _env_float("EXPLORER_API_BURST", 60.0)))

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when ``client`` may send a request now (one token taken), else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._forget(now)
            return 0.0

    def _forget(self, now: float) -> None:
        full = [c for c, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
        for c in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[c]


def cors_origins() -> frozenset[str]:
    raw = os.environ.get("EXPLORER_API_CORS", "")
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
