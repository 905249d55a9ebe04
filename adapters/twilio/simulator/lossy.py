"""``LossyTransport``: an httpx transport that can let a request take effect and lose its answer."""

from __future__ import annotations

import httpx

__all__ = ["LossyTransport"]


class LossyTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; after :meth:`lose_next_post`, the next POST reaches the server,
    is handled, and then the client sees ``httpx.ReadTimeout`` instead of the answer;
    after :meth:`drop_next_post`, the next POST times out without reaching it.

    Attributes:
        lost: requests whose answer the client never saw.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self._lose = 0
        self._drop = 0
        self.lost = 0

    def lose_next_post(self, count: int = 1) -> None:
        self._lose += count

    def drop_next_post(self, count: int = 1) -> None:
        """The next POST never reaches the server; the client sees ``httpx.ReadTimeout``."""
        self._drop += count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self._drop:
            self._drop -= 1
            self.lost += 1
            raise httpx.ReadTimeout(
                "the request timed out before the server acted", request=request
            )
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self._lose:
            self._lose -= 1
            self.lost += 1
            await response.aclose()
            raise httpx.ReadTimeout("the answer was lost after the server acted", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
