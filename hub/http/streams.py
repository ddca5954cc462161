"""Streaming Arrow-written formats (IPC, CSV, Parquet) as an HTTP body, chunk by chunk."""

from __future__ import annotations


class Chunks:
    """A write-only file that hands over what was written since the last ``take``: Arrow's
    writers write into it, and the response sends each piece as it comes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data
