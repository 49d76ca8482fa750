"""Thread hand-off between pipeline stages, with an end-of-stream reason.

``LatestSlot``: one slot, ``put`` overwrites (live sources: latency never grows; overwritten items
are counted as dropped). ``BoundedQueue``: FIFO with back-pressure (files: in order, nothing dropped).
Both are closed by the producer with a reason (and the exception, if it failed); ``get`` then
raises ``EndOfStream`` once the remaining items are consumed.
"""
from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class EndOfStream(Exception):
    """The producer closed the hand-off. ``reason`` says why; ``error`` is set when it failed."""

    def __init__(self, reason: str, error: BaseException | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error = error


class _Handoff(Generic[T]):
    def __init__(self, capacity: int):
        self._items: collections.deque[T] = collections.deque()
        self._capacity = capacity
        self._cond = threading.Condition()
        self._closed: EndOfStream | None = None
        self.dropped = 0

    def close(self, reason: str = "end of stream", error: BaseException | None = None) -> None:
        with self._cond:
            if self._closed is None:
                self._closed = EndOfStream(reason, error)
            self._cond.notify_all()

    @property
    def closed(self) -> EndOfStream | None:
        return self._closed

    def get(self, timeout: float | None = None) -> T:
        """Next item; ``TimeoutError`` if none within ``timeout``; ``EndOfStream`` after close."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed is not None, timeout):
                raise TimeoutError("no item within the timeout")
            if self._items:
                item = self._items.popleft()
                self._cond.notify_all()
                return item
            raise self._closed

    def get_nowait_many(self, limit: int) -> list[T]:
        """Up to ``limit`` items that are already waiting (never blocks)."""
        with self._cond:
            items = [self._items.popleft() for _ in range(min(limit, len(self._items)))]
            if items:
                self._cond.notify_all()
            return items

    def drain(self) -> None:
        with self._cond:
            self._items.clear()
            self._cond.notify_all()


class LatestSlot(_Handoff[T]):
    def __init__(self):
        super().__init__(1)

    def put(self, item: T, timeout: float | None = None) -> bool:
        with self._cond:
            if self._closed is not None:
                return False
            if self._items:
                self._items.clear()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify_all()
            return True


class BoundedQueue(_Handoff[T]):
    def __init__(self, capacity: int = 8):
        super().__init__(capacity)

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Block while full. False if closed meanwhile (the consumer has stopped)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) < self._capacity or self._closed is not None, timeout):
                raise TimeoutError("queue full")
            if self._closed is not None:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True
