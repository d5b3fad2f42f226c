"""The one way orgsync reads a desired-state file: bytes, read once, bounded, decoded once.

Plan, apply, a saved plan's digest and every other command see the same text for the same file:
the bytes are decoded as UTF-8 with one leading byte order mark dropped, and CRLF and lone CR
line ends become LF (YAML treats all three as one line break, so nothing in the document changes
meaning). A file checked out with ``core.autocrlf`` or saved by a Windows editor therefore plans
and applies exactly like its LF twin, and a saved plan made from it stays applicable.

Reading is bounded, because ``-f`` can name anything: a regular file larger than ``MAX_BYTES`` is
refused before it is read; standard input (``-f -``), ``/dev/stdin``, a pipe, a FIFO or a device
is read once, up to ``MAX_BYTES``, and must finish within ``READ_TIMEOUT_S`` seconds (a FIFO with
no writer, or a terminal nobody types into, ends in one clear line instead of a hang; ``/dev/zero``
ends at the size limit instead of exhausting memory). Standard input can be read only once, so the
commands that need the file twice keep the ``Source`` instead of reading again.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import select
import stat
import sys
import time
from dataclasses import dataclass

from reconciler.errors import ConfigError, Diagnostic, OrgsyncError

STDIN = "-"
STDIN_NAME = "<stdin>"
MAX_BYTES = 16 * 1024 * 1024  # a 10,000-account file is about 2 MB
READ_TIMEOUT_S = 30.0
TIMEOUT_ENV = "ORGSYNC_READ_TIMEOUT_S"  # tests (and slow secret decryptors) may change the bound
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Source:
    """A desired-state file as read: its name for messages, its canonical text and that text's
    digest (what saved plans record and compare)."""

    name: str
    text: str
    sha256: str


def canonical_text(text: str) -> str:
    """``text`` without a leading byte order mark, with CRLF and CR line ends as LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def text_sha256(text: str) -> str:
    """The digest of canonical ``text`` (hex), as ``Source.sha256``."""
    return hashlib.sha256(canonical_text(text).encode("utf-8", "surrogatepass")).hexdigest()


def display_name(path: str | os.PathLike[str]) -> str:
    name = os.fspath(path)
    return STDIN_NAME if name == STDIN else name


class ReadProblem(OrgsyncError):
    """A file could not be read within the bounds; ``reason`` says why, for one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def read_source(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                timeout_s: float | None = None) -> Source:
    """Read and decode the file at ``path`` (``-``: standard input); raises ``ConfigError`` with
    one positioned diagnostic for anything that is not a readable UTF-8 file within the bounds."""
    name = display_name(path)
    try:
        raw = read_bytes(os.fspath(path), max_bytes=max_bytes, timeout_s=timeout_s)
    except ReadProblem as problem:
        raise _error(name, problem.reason) from problem
    return source_from_bytes(raw, name=name)


def read_bytes(path: str, *, max_bytes: int = MAX_BYTES, timeout_s: float | None = None
               ) -> bytes:
    """The bytes of ``path`` (``-``: standard input), read once within the size and time bounds;
    raises ``ReadProblem``."""
    return _read_bytes(path, max_bytes=max_bytes, timeout_s=_timeout(timeout_s))


def source_from_bytes(raw: bytes, *, name: str) -> Source:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not raw.startswith(
            codecs.BOM_UTF32_LE):
        raise _error(name, "the file is UTF-16 text (it starts with a UTF-16 byte order mark); "
                           "save it as UTF-8")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _error(name, "the file is UTF-32 text (it starts with a UTF-32 byte order mark); "
                           "save it as UTF-8")
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise ConfigError([Diagnostic(name, line, column, "",
                                      "the file is not UTF-8 text")]) from error
    text = canonical_text(decoded)
    return Source(name=name, text=text, sha256=text_sha256(text))


def _timeout(timeout_s: float | None) -> float:
    if timeout_s is not None:
        return timeout_s
    try:
        configured = float(os.environ.get(TIMEOUT_ENV) or READ_TIMEOUT_S)
    except ValueError:
        configured = READ_TIMEOUT_S
    return configured if configured > 0 else READ_TIMEOUT_S


def _error(name: str, message: str) -> ConfigError:
    return ConfigError([Diagnostic(name, 1, 1, "", message)])


def _too_large(max_bytes: int) -> ReadProblem:
    mib = max_bytes / (1024 * 1024)
    return ReadProblem(f"the file is larger than {mib:g} MiB ({max_bytes:,} bytes), the limit "
                        "for a desired-state file")


def _read_bytes(path: str, *, max_bytes: int, timeout_s: float) -> bytes:
    if path == STDIN:
        if sys.stdin is None:
            raise ReadProblem("cannot read standard input: there is none")
        try:
            fd = sys.stdin.fileno()
        except (OSError, ValueError):
            raise ReadProblem("cannot read standard input: it is not a file") from None
        return _read_fd(fd, max_bytes=max_bytes, timeout_s=timeout_s)
    try:
        # O_NONBLOCK: opening a FIFO that has no writer yet must not block (the read below is
        # bounded in time instead); it changes nothing for a regular file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ReadProblem(f"cannot read the file: {reason}") from error
    try:
        return _read_fd(fd, max_bytes=max_bytes, timeout_s=timeout_s)
    finally:
        os.close(fd)


def _read_fd(fd: int, *, max_bytes: int, timeout_s: float) -> bytes:
    try:
        info = os.fstat(fd)
    except OSError as error:
        raise ReadProblem(f"cannot read the file: {error.strerror or error}") from error
    if stat.S_ISDIR(info.st_mode):
        raise ReadProblem("cannot read the file: it is a directory")
    regular = stat.S_ISREG(info.st_mode)
    if regular and info.st_size > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout_s
    poller = None if regular or not hasattr(select, "poll") else select.poll()
    if poller is not None:
        poller.register(fd, select.POLLIN | select.POLLPRI)
    while True:
        if poller is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, int(remaining * 1000))):
                if time.monotonic() < deadline:
                    continue
                raise ReadProblem(f"no end of the data within {timeout_s:g} s (a pipe, FIFO "
                                   "or terminal that nobody finishes writing to?); nothing was "
                                   "read")
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            continue
        except OSError as error:
            raise ReadProblem(f"cannot read the file: {error.strerror or error}") from error
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
