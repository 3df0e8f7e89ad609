"""I/O: work handed to a thread of its own and done in the order given.

Used where writing must not hold up what produces the data (a checked batch going to
disk, a file's text being hashed and written) while order still matters. The line is
bounded, so the producer never runs more than ``ahead`` items ahead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class InOrder(Generic[Item]):
    """``handle`` called on each item put, one at a time, in order, on its own thread.

    The first error is kept (later items are skipped) and raised to the producer: by the
    next ``put``, or by ``close``, which waits for the line to empty.
    """

    def __init__(self, handle: Callable[[Item], None], ahead: int) -> None:
        self._handle = handle
        self._line: queue.Queue[tuple[Item] | None] = queue.Queue(maxsize=ahead)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (entry := self._line.get()) is not None:
            if self._error is None:
                try:
                    self._handle(entry[0])
                except BaseException as error:  # noqa: BLE001 - raised in the producer's thread
                    self._error = error

    def put(self, item: Item) -> None:
        if self._error is not None:
            raise self._error
        self._line.put((item,))

    def close(self) -> None:
        if self._thread.is_alive():
            self._line.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error
