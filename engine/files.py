"""Files the engine writes, written so that nothing the user has is lost by accident.

A file written whole (``write_atomic``) goes to a temporary file beside the target, then is
renamed into place, so a crash never leaves half a file. What is already at the target
decides how: a regular file is replaced (keeping its permissions), a symbolic link is written
through (the file it points to is replaced, the link stays), anything else (a folder, a FIFO,
a device, a socket) is refused, since a rename would silently destroy it.

A streamed file (the trace, ``open_stream``) is opened without truncating, locked so that two
runs can never write it at once, and only then emptied.

Every failure to write (a full disk, a read-only file system, a permission) becomes a
``FileWriteError`` naming the file, instead of a traceback.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

from engine.errors import TracegradError
from engine.i18n import _

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are not protected from each other
    fcntl = None


class FileWriteError(TracegradError):
    """A file the engine cannot write (or must not replace)."""


_KINDS = {
    stat.S_ISDIR: "a folder",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def describe_kind(mode: int) -> str | None:
    """'a folder', 'a FIFO (named pipe)', ... for what is not a regular file; None if it is."""
    for test, word in _KINDS.items():
        if test(mode):
            return word
    return None


def os_error(error: OSError, path: str | Path, doing: str = "write") -> FileWriteError:
    """A FileWriteError that says what went wrong with ``path`` and what to try."""
    hints = {
        errno.ENOSPC: "free some space, or write somewhere else",
        errno.EDQUOT: "free some space, or write somewhere else",
        errno.EROFS: "the file system is read-only: choose a folder you can write to",
        errno.EACCES: "check the permissions, or choose a folder you can write to",
        errno.EPERM: "check the permissions, or choose a folder you can write to",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "give the path of a file, not of a folder",
        errno.ELOOP: "the path has a symbolic link that points back at itself",
        errno.ENAMETOOLONG: "use a shorter name",
    }
    reason = error.strerror or str(error)
    return FileWriteError(
        _("cannot {doing} {path}: {reason}").format(doing=doing, path=path, reason=reason),
        hint=hints.get(error.errno),
    )


def target(path: str | Path) -> Path:
    """The file a write to ``path`` lands in: a symbolic link is followed (written through);
    a FileWriteError when it is there and is not a regular file."""
    path = Path(path)
    try:
        if path.is_symlink():
            path = path.resolve(strict=False)
        info = os.stat(path)
    except FileNotFoundError:
        return path
    except OSError as error:
        raise os_error(error, path) from None
    kind = describe_kind(info.st_mode)
    if kind is not None:
        raise FileWriteError(
            _("{path} is {kind}, not a regular file: it was left alone").format(
                path=path, kind=kind
            ),
            hint=_("give the path of a regular file (or of one that does not exist yet)"),
        )
    return path


def make_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FileWriteError(
            _("{folder} is a file, not a folder").format(folder=folder),
            hint=_("give the path of a folder"),
        ) from None
    except OSError as error:
        raise os_error(error, folder, "create the folder") from None
    return folder


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` whole; returns the path written (a link's target)."""
    path = target(path)
    make_folder(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise os_error(error, path) from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise os_error(error, path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def open_locked(path: str | Path, what: str = "file"):
    """``path`` opened for writing text (created if missing, not emptied) and locked
    against every other writer; a FileWriteError when another process holds it (``what``
    names it in the message)."""
    path = target(path)
    make_folder(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
    except OSError as error:
        raise os_error(error, path) from None
    try:
        lock(descriptor, path, what)
    except BaseException:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "w", encoding="utf-8")


def open_stream(path: str | Path, what: str = "file"):
    """``path`` for writing text from the start: the stream ``claim`` set aside for it, or
    the file opened, locked and emptied."""
    stream = _claimed.pop(Path(path).absolute(), None)
    if stream is not None:
        return stream
    stream = open_locked(path, what)
    try:
        stream.truncate(0)
    except OSError as error:
        stream.close()
        raise os_error(error, path) from None
    return stream


#: Streams opened (and locked) ahead of their writer, by absolute path.
_claimed: dict[Path, object] = {}


def claim(path: str | Path, stream) -> None:
    """Keep an open, locked ``stream`` of ``path`` for the next ``open_stream(path)``."""
    previous = _claimed.pop(Path(path).absolute(), None)
    if previous is not None:
        previous.close()
    _claimed[Path(path).absolute()] = stream


def lock(descriptor: int, path: Path, what: str) -> None:
    """An exclusive advisory lock on an open file, refused at once if someone holds it."""
    if fcntl is None:
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FileWriteError(
            _("{path} is in use: another run is writing this {what}").format(path=path, what=what),
            hint=_("wait for that run to end, or give this run another folder (--run-dir)"),
        ) from None


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """``params.npz``: one array per parameter key ("hidden.W")."""
    for key in arrays:
        if "\0" in key or "/" in key:  # the archive would cut or nest the name
            raise ValueError(
                _("parameter key {key!r} cannot be stored in params.npz").format(key=key)
            )
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_atomic(path, buffer.getvalue())


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a ``params.npz`` (never pickled objects); a clear error when the file
    is damaged or not an archive of arrays."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ValueError(_("it holds one array, not named parameters"))
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        if "pickle" in str(error):
            reason = "it is not an archive of arrays"
        raise TracegradError(
            _("cannot read {path}: {reason}").format(path=path, reason=reason),
            hint=_("the file is damaged or was not written by Tracegrad; run the scenario again"),
        ) from None
