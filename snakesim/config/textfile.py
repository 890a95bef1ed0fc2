"""Reading the text files a scenario names, bounded: size limit, UTF-8, located errors.

Every file a scenario names (scenario, sweep, topology, trace) is read whole through
`read_bounded`, which refuses a file over ``SNAKESIM_MAX_FILE_MB`` before reading it;
`decode_utf8` locates the first byte that is not UTF-8 text.
"""

from __future__ import annotations

from pathlib import Path

from snakesim.config.limits import Limits, current_limits, variable_of


class FileTooLarge(ValueError):
    """A file over the ``max_file_bytes`` limit; the message names size, limit, variable."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the file is {_megabytes(size)}, over the limit of "
                         f"{_megabytes(limit)} (set {variable_of('max_file_bytes')} to "
                         "raise it)")
        self.size, self.limit = size, limit


def _megabytes(count: int) -> str:
    return f"{count / 2**20:.3g} MB"


def read_bounded(path: Path, limits: Limits | None = None) -> bytes:
    """The bytes of ``path``, refusing a file larger than the file-size limit.

    The size is checked before reading, and the read itself stops one byte past the
    limit (a file that grows meanwhile, or one whose size the file system does not
    report, is caught too).

    Raises
    ------
    FileTooLarge
        If the file is larger than ``limits.max_file_bytes``.
    OSError
        If the file cannot be read.
    """
    limit = (limits or current_limits()).max_file_bytes
    size = path.stat().st_size
    if size > limit:
        raise FileTooLarge(size, limit)
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(len(data), limit)
    return data


class NotUtf8(ValueError):
    """Bytes that are not UTF-8 text, located at the first bad byte (1-based)."""

    def __init__(self, line: int, column: int, byte: int) -> None:
        super().__init__(f"not UTF-8 text (byte 0x{byte:02x})")
        self.line, self.column = line, column


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text.

    Raises
    ------
    NotUtf8
        At the first byte that is not UTF-8, with its line and column.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = line_col(data[:err.start].decode("utf-8", errors="replace"))
        raise NotUtf8(line, column, data[err.start]) from None


def line_col(before: str) -> tuple[int, int]:
    """1-based line and column of the character that follows ``before``."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
