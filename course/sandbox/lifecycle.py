"""The start-on-enter, close-on-exit protocol shared by servers, clusters and test helpers."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Managed:
    """Subclasses implement ``start() -> Self`` and an idempotent ``close()``; ``with`` does both."""

    def start(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
