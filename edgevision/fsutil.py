"""Writing files and folders so that a reader never sees them half-written.

A crash, a full disk or Ctrl-C during a write leaves the previous file or folder as it was: new
content goes to a temporary sibling on the same file system and is renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from edgevision.errors import ConfigError, EdgevisionError


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any threads start.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _unwritable(path: Path, err: OSError) -> ConfigError:
    reason = err.strerror or str(err)
    return ConfigError(f"cannot write {path}: {reason}; choose a folder you can write to")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ConfigError` unless a file can be created beside ``path`` (its folder is
    created if missing), so that a long run is not lost to a bad output path at its end."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise _unwritable(path, err) from err


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling, fsync'd, then renamed.

    Raises:
        ConfigError: The folder cannot be created or written to.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _unwritable(path, err) from err
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 - umask).
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Text form of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_dir(target: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``target``; on success it replaces ``target``.

    If the block raises, the temporary folder is removed and ``target`` is left untouched.

    Args:
        target: The folder to create or replace.
        force: Replace an existing ``target``; without it an existing non-empty one raises.

    Raises:
        EdgevisionError: ``target`` exists, is not empty, and ``force`` is false.
    """
    target = Path(target)
    if target.exists() and not force and (not target.is_dir() or any(target.iterdir())):
        raise EdgevisionError(
            f"{target} already exists; choose another output folder or pass --force to replace it"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
    except OSError as err:
        raise _unwritable(target, err) from err
    try:
        yield staging
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, target: Path) -> None:
    # Move the old folder aside first so that at every instant one complete folder exists.
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
