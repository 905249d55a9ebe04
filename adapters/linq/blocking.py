"""``BlockingIntake``: the webhook intake for synchronous (WSGI) frameworks such as Flask.

A synchronous framework calls its views on worker threads that have no event
loop, while the dispatcher is asyncio code whose promises (one handler at a time
per conversation, a duplicate waiting for the delivery in flight) hold only when
every delivery goes through **one** event loop. A loop per request
(``asyncio.run`` in each view) would give each request its own loop, and the
dispatcher's per-conversation lock cannot be shared between loops (tried: 20
deliveries of one conversation from 8 threads raised "bound to a different event
loop" and hung); anything else bound to a loop (an ``httpx.AsyncClient`` the care
logic sends with) breaks the same way. So ``BlockingIntake`` runs one loop
on a background thread, started on first use, and a view thread waits there for
its delivery's answer.

Limits, each documented in ``docs/webhooks.md``:

- One loop per process. Several worker processes (``gunicorn -w 4``) each start
  their own, and share the work through the store: give them one
  ``SqliteEventStore`` file, whose claims keep two processes from handling one
  event at once (the second answers 503, and Linq delivers again).
- A view thread waits as long as the care handler runs; a hanging handler holds
  a worker thread as it would hold an ASGI server's task.
- Build the store and the intake in the worker process (not before a fork, as
  ``gunicorn --preload`` would): threads do not survive ``fork``.
- Other async work of the care logic (a reply sent from a view) runs on the same
  loop through :meth:`BlockingIntake.run`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from adapters.linq.receiving import RETRY_AFTER_SECONDS, ReceivedAnswer, WebhookIntake
from adapters.linq.webhooks import Headers

__all__ = ["BlockingIntake"]

_T = TypeVar("_T")


class BlockingIntake:
    """A :class:`WebhookIntake` for synchronous code: one event loop on a background thread.

    Args:
        intake: what verifies, parses and dispatches (``LinqTransport.webhook_intake``
            or ``create_webhook_intake``).
    """

    def __init__(self, intake: WebhookIntake) -> None:
        self.intake = intake
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.intake!r})"

    def refuse_early(self, headers: Headers) -> ReceivedAnswer | None:
        """See :meth:`WebhookIntake.refuse_early` (nothing to wait for)."""
        return self.intake.refuse_early(headers)

    def handle(self, body: bytes, headers: Headers) -> ReceivedAnswer:
        """Handle one delivery on the background loop and wait for the answer.

        Returns:
            The intake's answer; 503 with ``Retry-After`` when the intake is being
            closed while the delivery was in flight (it was not acknowledged).
        """
        try:
            return self.run(self.intake.handle(body, headers))
        except concurrent.futures.CancelledError:
            return ReceivedAnswer.refusal(
                503,
                "shutting down",
                "the receiver stopped before the delivery was handled; deliver it again later",
                retry_after=str(RETRY_AFTER_SECONDS),
            )

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run a coroutine on the background loop and return its result (or raise its error).

        For the care logic's other async work from synchronous code, such as a
        reply sent from a view or ``store.close()`` at shutdown.

        Raises:
            RuntimeError: the intake was closed.
        """
        try:
            loop = self._running_loop()
        except RuntimeError:
            coroutine.close()  # never started: no "was never awaited" warning
            raise
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("BlockingIntake: closed")
            if self._loop is None or self._pid != os.getpid():
                # First use, or first use in a forked child (whose copy has no thread).
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="webhook-intake-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
            return self._loop

    def close(self) -> None:
        """Cancel what is in flight, stop the loop and its thread (idempotent)."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            if loop is None or thread is None or self._pid != os.getpid():
                return
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _cancel_the_rest() -> None:
    """Cancel every other task on this loop, wait for them, and shut its helpers down."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    loop = asyncio.get_running_loop()
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()
