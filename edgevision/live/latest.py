"""A single-slot buffer that always holds the newest value and counts what it overwrote.

The live loop's stages are joined by these slots instead of queues: a slow consumer never makes
a backlog grow, it just sees the newest frame and the producer's overwrites are counted as drops.
A lossless mode (``put_wait``) lets a file be processed frame by frame without any drop.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class SlotClosed(Exception):
    """Raised by :meth:`LatestSlot.put_wait` when the slot was closed while waiting."""


class LatestSlot(Generic[T]):
    """Holds at most one value; ``put`` replaces it, ``get`` takes it.

    Attributes:
        dropped: Values that were overwritten before anyone took them.
        delivered: Values taken by ``get``.
    """

    def __init__(self) -> None:
        self._value: T | None = None
        self._full = False
        self._closed = False
        self._cond = threading.Condition()
        self.dropped = 0
        self.delivered = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, value: T) -> bool:
        """Store ``value``, replacing any untaken one; returns True when one was dropped."""
        with self._cond:
            dropped = self._full
            if dropped:
                self.dropped += 1
            self._value, self._full = value, True
            self._cond.notify_all()
            return dropped

    def put_wait(self, value: T, *, timeout_s: float | None = None) -> bool:
        """Store ``value`` once the previous one was taken (lossless hand-over).

        Returns:
            True when stored, False when ``timeout_s`` passed first.

        Raises:
            SlotClosed: The slot was closed while waiting.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self._full and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            if self._closed:
                raise SlotClosed
            self._value, self._full = value, True
            self._cond.notify_all()
            return True

    def get(self, *, timeout_s: float | None = None) -> T | None:
        """Take the newest value, waiting up to ``timeout_s``; None when nothing arrived.

        After :meth:`close`, a value still held is returned once, then None at once.
        """
        with self._cond:
            if not self._full and not self._closed:
                self._cond.wait_for(lambda: self._full or self._closed, timeout_s)
            if not self._full:
                return None
            value, self._value, self._full = self._value, None, False
            self.delivered += 1
            self._cond.notify_all()
            return value

    def close(self) -> None:
        """Wake all waiters; later ``put_wait`` calls raise, ``get`` drains then returns None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
