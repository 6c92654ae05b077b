"""File helpers shared by every layer that reads inputs or writes results.

* Atomic writes: a result file is either the old one or the whole new one, never half written: data
  goes to a temporary file ``.NAME.XXXXXXXX.tmp`` in the same folder, is flushed to disk, and replaces
  the target with one rename. The file gets the mode a plain ``open`` would give (0666 less the umask),
  not ``mkstemp``'s 0600. A target that exists and is not a regular file (a device node such as
  /dev/null, a folder, a fifo) is refused, never replaced.
* Output checks: :func:`check_output_file` and :func:`check_output_folder` refuse an empty name, a
  folder given as a file, a file given as a folder, a device node, before any work is done.
* Output-folder lock: :func:`output_lock` gives one writer at a time a folder (``.ternary-rram.lock``
  holding the writer's PID; a lock left by a dead process is taken over) and removes temporary files a
  killed run left behind.
* Bounded reads: :func:`read_bytes_bounded` and :func:`read_text_bounded` read a user's file with a size
  limit (``/dev/zero`` or a huge file does not exhaust memory) and one-line errors for a folder, an
  unreadable file or bytes that are not UTF-8.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import math
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ternary_rram.errors import InputError

#: Name of the lock file in a locked output folder.
LOCK_NAME = ".ternary-rram.lock"
#: Temporary files of :func:`atomic_write_bytes`: ``.NAME.`` + 8 random characters of mkstemp + ``.tmp``.
_TMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
#: A temporary file younger than this (s) may belong to a writer outside the lock (e.g. another
#: command writing a single file into the folder); older ones are stale: no write takes that long
#: between mkstemp and the rename.
STALE_TMP_AGE_S = 600.0


# ------------------------------------------------------------------------------------------------
# modes and output checks
# ------------------------------------------------------------------------------------------------
def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # pragma: no cover - non-Linux fallback
    os.umask(old)
    return old


def file_mode() -> int:
    """Mode of a new regular file, as ``open(path, "w")`` would create it: 0666 less the umask."""
    return 0o666 & ~current_umask()


def _describe_kind(st_mode: int) -> str:
    if stat.S_ISDIR(st_mode):
        return "a folder"
    if stat.S_ISCHR(st_mode) or stat.S_ISBLK(st_mode):
        return "a device node"
    if stat.S_ISFIFO(st_mode):
        return "a fifo"
    if stat.S_ISSOCK(st_mode):
        return "a socket"
    return "not a regular file"


def _stat_output(p: Path, option: str) -> os.stat_result | None:
    """``os.stat(p)``, None where ``p`` does not exist; a one-line :class:`InputError` where it cannot be checked."""
    try:
        return os.stat(p)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise InputError(f"{option}={str(p)!r} is not allowed: a parent of it is not a folder") from None
    except OSError as exc:
        raise InputError(f"{option}={str(p)!r} is not allowed: cannot be checked ({exc.strerror})") from None


def check_output_file(path: str | os.PathLike | None, option: str = "--json") -> Path:
    """``path`` as a Path if it may be written as a file, else a one-line :class:`InputError`.

    Refused: an empty name, an existing path that is not a regular file (folder, device node, fifo),
    a parent that exists and is not a folder. A symbolic link to a regular file is written through
    its target's folder like any path (the link itself is replaced).
    """
    if path is None or str(path).strip() == "":
        raise InputError(f"{option}='' is not allowed: give a file name")
    p = Path(path)
    st = _stat_output(p, option)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InputError(f"{option}={str(p)!r} is not allowed: it is {_describe_kind(st.st_mode)}, "
                         "give a regular file name")
    if str(path).endswith(os.sep):
        raise InputError(f"{option}={str(p)!r} is not allowed: it names a folder, give a file name")
    _check_parent_folders(p, option)
    return p


def check_output_folder(path: str | os.PathLike | None, option: str = "--out") -> Path:
    """``path`` as a Path if it may be used as an output folder, else a one-line :class:`InputError`."""
    if path is None or str(path).strip() == "":
        raise InputError(f"{option}='' is not allowed: give a folder name")
    p = Path(path)
    st = _stat_output(p, option)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        kind = "a file" if stat.S_ISREG(st.st_mode) else _describe_kind(st.st_mode)
        raise InputError(f"{option}={str(p)!r} is not allowed: it is {kind}, give a folder")
    if st is None:
        _check_parent_folders(p, option)
    return p


def _check_parent_folders(p: Path, option: str) -> None:
    # The nearest existing ancestor must be a folder we may write into.
    parent = p.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option}={str(p)!r} is not allowed: {str(parent)!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option}={str(p)!r} is not allowed: folder {str(parent)!r} is not writable")


# ------------------------------------------------------------------------------------------------
# atomic writes
# ------------------------------------------------------------------------------------------------
def temp_path(path: str | os.PathLike, suffix: str = ".tmp") -> tuple[int, str]:
    """(fd, name) of a new temporary file beside ``path`` (``.NAME.XXXXXXXX.tmp``), mode 0666 & ~umask."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    with contextlib.suppress(OSError):  # a file system without modes keeps its own
        os.fchmod(fd, file_mode())
    return fd, tmp


def _refuse_special(path: Path) -> None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{str(path)!r} is not allowed as an output file: it is {_describe_kind(st.st_mode)}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, os.replace).

    Raises InputError when ``path`` exists and is not a regular file (it is never replaced), and the
    OSError of a failed write (full disk, no permission) after removing the temporary file.
    """
    path = Path(path)
    _refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_path(path)

    def fill() -> None:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    _fill_and_replace(tmp, path, fill)
    _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, write: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Atomically create ``path`` with a writer that needs a file name (``write(tmp_name)``).

    For libraries that write by name (matplotlib ``savefig``, pyarrow, pandas): the temporary file has
    the umask mode and is removed when ``write`` fails.
    """
    path = Path(path)
    _refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_path(path, suffix=suffix)
    os.close(fd)

    def fill() -> None:
        write(tmp)
        os.chmod(tmp, file_mode())  # a writer that re-created the file gets the umask mode too
        _fsync_file(tmp)  # the writer closed it; flush its data before the rename makes it visible

    _fill_and_replace(tmp, path, fill)
    _fsync_dir(path.parent)
    return path


def _fill_and_replace(tmp: str, path: Path, fill: Callable[[], None]) -> None:
    """Run ``fill`` (writes the temporary file ``tmp``), then rename ``tmp`` over ``path``. On any
    failure ``tmp`` is removed; an OSError is raised again naming ``path`` (:func:`_named`)."""
    try:
        fill()
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _named(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _named(exc: OSError, path: Path) -> OSError:
    # A failed write (full disk) names no file; the user needs the target, not our temporary name.
    if exc.filename is None or str(exc.filename).startswith(str(path.parent / f".{path.name}.")):
        return type(exc)(exc.errno, exc.strerror or str(exc), str(path))
    return exc


def _fsync_file(name: str) -> None:
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable; not possible on every OS/file system, so best effort.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | os.PathLike, *, min_age_s: float = STALE_TMP_AGE_S,
                       recursive: bool = False) -> list[Path]:
    """Remove temporary files of :func:`atomic_write_bytes` (``.NAME.XXXXXXXX.tmp``) a killed run left.

    Only files older than ``min_age_s`` are removed (0: all; use 0 only while holding the folder's
    :func:`output_lock`). Returns the removed paths.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    removed = []
    now = time.time()
    candidates = root.rglob(".*.tmp") if recursive else root.glob(".*.tmp")
    for p in candidates:
        if not _TMP_RE.match(p.name):
            continue
        try:
            if not p.is_file() or now - p.stat().st_mtime < min_age_s:
                continue
            p.unlink()
            removed.append(p)
        except OSError:
            continue
    return removed


# ------------------------------------------------------------------------------------------------
# output-folder lock
# ------------------------------------------------------------------------------------------------
_HELD: dict[str, int] = {}  # folder (resolved) -> nesting depth, locks held by this process


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pragma: no cover
        return False
    return True


def _read_lock_pid(lock: Path) -> int | None:
    try:
        text = lock.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    first = text.split()[:1]
    try:
        return int(first[0]) if first else None
    except ValueError:
        return None


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike, option: str = "--out", *,
                clean_temps: bool = True) -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for this process: one writer per output folder.

    The lock is the file ``folder/.ternary-rram.lock`` created exclusively, holding the PID and the
    host; it is removed on exit (normal, error or Ctrl-C). A lock whose PID no longer runs (a killed
    run) is taken over. A second writer gets a one-line :class:`InputError` naming the folder and the
    PID. The same process may take the same lock again (nested use). With ``clean_temps``, temporary
    files of atomic writes left by a killed run are removed once the lock is held.

    When the lock created the folder and the command leaves it empty (e.g. bad input found after
    the lock was taken), the folder is removed again: bad input creates nothing.
    """
    p = check_output_folder(folder, option)
    created = not p.exists()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{option}={str(p)!r} is not allowed: it exists and is not a folder") from None
    key = str(p.resolve())
    lock = p / LOCK_NAME
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield p
        finally:
            _HELD[key] -= 1
        return
    _acquire(lock, p, option)
    _HELD[key] = 1
    try:
        if clean_temps:
            remove_stale_temps(p, min_age_s=0.0)
        yield p
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            if _read_lock_pid(lock) == os.getpid():
                lock.unlink()
        if created:
            with contextlib.suppress(OSError):
                p.rmdir()  # only succeeds when nothing was written


def _acquire(lock: Path, folder: Path, option: str) -> None:
    host = os.uname().nodename if hasattr(os, "uname") else ""
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
        except FileExistsError:
            pid = _read_lock_pid(lock)
            if pid is None:
                # Being written this instant by another process, or empty after a crash: give it a
                # moment, then treat an empty old lock as stale.
                time.sleep(0.05)
                pid = _read_lock_pid(lock)
                try:
                    age = time.time() - lock.stat().st_mtime
                except FileNotFoundError:
                    continue
                if pid is None and age < 5.0:
                    raise InputError(f"{option}={str(folder)!r} is not allowed: another ternary-rram run is "
                                     f"writing into it (lock {LOCK_NAME} being created)") from None
            if pid is not None and _pid_alive(pid):
                raise InputError(f"{option}={str(folder)!r} is not allowed: another ternary-rram run (PID {pid}) "
                                 f"is writing into it; wait for it or remove {str(lock)!r} if it is gone") from None
            # stale: the writer is dead; take it over (another taker may race us: retry the O_EXCL create)
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()
            continue
        except PermissionError:
            raise InputError(f"{option}={str(folder)!r} is not allowed: folder is not writable") from None
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()} {host}\n")
        return
    raise InputError(f"{option}={str(folder)!r} is not allowed: its lock {LOCK_NAME} keeps changing; "
                     "another run is starting there")


# ------------------------------------------------------------------------------------------------
# bounded reads
# ------------------------------------------------------------------------------------------------
def read_bytes_bounded(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing a folder, a special file and anything over ``max_bytes``.

    One-line :class:`InputError` for each case; OSError (no permission, ...) becomes one too.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{what}={str(p)!r} is not allowed: no such file") from None
    except OSError as exc:
        raise InputError(f"{what}={str(p)!r} is not allowed: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what}={str(p)!r} is not allowed: it is a folder, give a file")
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{what}={str(p)!r} is not allowed: cannot be read ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise InputError(f"{what}={str(p)!r} is not allowed: larger than {max_bytes} bytes")
    return data


def decode_utf8(data: bytes, where: str) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped); one-line InputError naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{where} is not allowed: not UTF-8 text (byte 0x{data[exc.start]:02x} "
                         f"at line {line})") from None


def read_text_bounded(path: str | os.PathLike, max_bytes: int, what: str = "file") -> str:
    """UTF-8 text of ``path`` with the checks of :func:`read_bytes_bounded` and :func:`decode_utf8`."""
    return decode_utf8(read_bytes_bounded(path, max_bytes, what), f"{what}={str(path)!r}")


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: what failed, on which file (e.g. ``no space left on device: 'out/x'``)."""
    reason = exc.strerror or (errno.errorcode.get(exc.errno or 0, "") if exc.errno else "") or str(exc)
    name = exc.filename
    text = reason[:1].lower() + reason[1:] if reason else type(exc).__name__
    if name is not None:
        text += f": {os.fsdecode(name)!r}"
        if exc.filename2 is not None:
            text += f" -> {os.fsdecode(exc.filename2)!r}"
    return " ".join(text.split())


#: Largest measurement CSV read, bytes: 10^6 rows of a few numbers each.
CSV_MAX_BYTES = 200_000_000


def read_csv_rows(path: str | os.PathLike, what: str = "file", max_bytes: int = CSV_MAX_BYTES) -> list[list[str]]:
    """Rows of a UTF-8 CSV file, with one-line InputErrors for a folder, an unreadable, huge or
    non-UTF-8 file and a malformed row or an over-long cell (Python's csv limit, 131072 characters)."""

    text = read_text_bounded(path, max_bytes, what)
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{what}={str(path)!r} is not allowed: not a valid CSV file ({exc})") from None


def path_arg(text: str) -> Path | str:
    """argparse ``type`` of an output path: a Path, except that an empty string stays '' so that the
    output checks refuse it (``Path('')`` would silently mean the working folder)."""
    return Path(text) if text.strip() else ""


def jsonable(obj: object) -> object:
    """``obj`` with dict keys as strings, tuples as lists, NumPy scalars as Python numbers and
    non-finite floats as None (JSON has no inf/NaN), recursively."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    item = getattr(obj, "item", None)
    if callable(item) and type(obj).__module__ == "numpy":
        return jsonable(item())
    return obj
