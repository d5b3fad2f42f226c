"""The one way orgsync writes an output file (``plan --out``, ``export --out``).

A regular file is replaced atomically (a temporary file in the same directory, flushed to disk,
then renamed over it, keeping the old file's mode), so a reader or a crash never sees half a
file. What is not a regular file is never replaced by one: a symbolic link is followed and its
target written (the link stays a link), and a device or FIFO (``/dev/stdout``, ``/dev/null``, a
named pipe a script reads) is written into, as a shell redirection would. Two refusals come before
any work is done, so that a mistyped option costs nothing: the output may not be one of the
command's input files (``plan -f accounts.yaml --out accounts.yaml`` would replace the
desired-state file with plan JSON), and a command that says so (``export``) replaces an existing
non-empty file only with ``--force``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import OrgsyncError, Refusal


class OutputError(OrgsyncError):
    """The output file could not be written (nothing, or nothing but a temporary file, was)."""


def _target(path: str) -> str:
    """Where writing ``path`` lands: a symbolic link's final target."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _same_file(a: str, b: str) -> bool:
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def check_output(path: str, *, inputs: Sequence[tuple[str, str]] = (),
                 force: bool = True, option: str = "--out") -> None:
    """Refuse (``Refusal``) to write ``path`` when it is one of ``inputs`` ((path, what) pairs,
    e.g. ("accounts.yaml", "the desired-state file (-f)")), or, without ``force``, when it is an
    existing non-empty regular file. Call it before doing the work whose result goes there."""
    target = _target(path)
    for name, what in inputs:
        if name and name != "-" and _same_file(target, name):
            raise Refusal(f"{option} {path} is {what}: refusing to replace it; choose another "
                          "file name; nothing was written")
    if force:
        return
    try:
        info = os.stat(target)
    except OSError:
        return
    if stat.S_ISREG(info.st_mode) and info.st_size > 0:
        raise Refusal(f"{option} {path} already exists: pass --force to replace it (its content, "
                      "comments included, would be lost); nothing was written")


def write_output(path: str, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path``: atomically for a regular file (keeping its mode, or
    ``mode`` when given; a new file gets 0666 less the umask), straight into a device or FIFO."""
    target = _target(path)
    data = text.encode("utf-8")
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from error
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{path}: cannot write: it is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_into(path, target, data)
        return
    _replace_atomically(path, target, data,
                        mode if mode is not None
                        else stat.S_IMODE(info.st_mode) if info is not None else _default_mode())


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_into(path: str, target: str, data: bytes) -> None:
    """A device, FIFO or socket: write into it, never replace it. A FIFO nobody reads is an error
    (O_NONBLOCK), not a hang."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        reason = ("no process is reading it" if error.errno == getattr(os, "ENXIO", 6)
                  else error.strerror or str(error))
        raise OutputError(f"{path}: cannot write: {reason}") from error
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from error
    finally:
        os.close(fd)


def _replace_atomically(path: str, target: str, data: bytes, mode: int) -> None:
    try:
        replace_file(target, data, mode=mode)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from error


def replace_file(target: str | os.PathLike[str], data: bytes, *, mode: int) -> None:
    """Make the regular file ``target`` hold ``data`` with ``mode``, atomically: a temporary
    file in the same directory, flushed to disk, renamed over it. Raises OSError; the
    temporary file never stays behind (not even on Ctrl-C). Every file orgsync writes goes
    through here (outputs, the AWS config block, audit records, the sandbox's info file)."""
    directory = os.path.dirname(target) or "."
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                     suffix=".orgsync-tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
