"""What every tool shares: the service call in a worker thread, French errors for the model."""

from __future__ import annotations

from functools import partial

import anyio
from mcp.server.fastmcp.exceptions import ToolError

from models.serve.service import ServiceError

MAX_TEXT = 500  # the pages' query length


async def call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a worker thread (a search must not block the event loop); a
    :class:`ServiceError` becomes a :class:`ToolError` with its French message."""
    try:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
    except ServiceError as exc:
        raise ToolError(exc.message) from None


def clip(text, n: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def bounded(k, low: int, high: int) -> int:
    try:
        return min(max(int(k), low), high)
    except (TypeError, ValueError, OverflowError):
        return low


def unknown(what: str, text) -> None:
    """Refuse a name the catalogue does not know (the model reads the French message)."""
    raise ToolError(f"{what} inconnu dans ce catalogue\u202f: «\u202f{clip(text, 60)}\u202f»")
