"""The one place that writes files: whole or not at all.

Every writer goes through :func:`atomic_write`, which writes a temporary file in the target's
folder and renames it over the target only when writing succeeded, so a crash or an error
never leaves a half-written output (and never touches an input file).

A command's ``--out`` goes through :func:`command_output`: it refuses to write over one of the command's input
files (the same file by resolved path or inode, so a symlink or hard link counts), and over an existing file that
the package did not write unless ``force`` is given. The package knows its own files from the hidden record
``.combotherapy-outputs.sha256`` that :func:`command_output` keeps beside them (file name and sha256 of what it
wrote; a file edited since no longer matches and counts as the user's) and from a ``MANIFEST.sha256`` that
``combotherapy reproduce`` wrote in the folder or a parent folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import DataError

__all__ = ["atomic_write", "write_text", "write_bytes", "write_with", "OutputError", "check_output",
           "command_output", "record_output", "written_by_package", "check_output_folder", "OUTPUTS_RECORD",
           "MANIFEST"]

#: the hidden record of the files a command wrote in a folder ("sha256  name" lines)
OUTPUTS_RECORD = ".combotherapy-outputs.sha256"
#: the manifest ``combotherapy reproduce`` writes in its output folder
MANIFEST = "MANIFEST.sha256"


class OutputError(DataError):
    """An output path that must not be written: an input file, a folder, or a file the package did not write."""


def _umask_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp makes private 0600 files)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def _replacing(tmp: str, path: Path) -> Iterator[None]:
    """When the block succeeds, give ``tmp`` ordinary permissions and rename it to ``path``; when it fails
    (or is interrupted), delete ``tmp``: the one commit step of every file the package writes."""
    try:
        yield
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success rename it to ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with _replacing(tmp, path):
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> Path:
    """Atomically write a file produced by a third-party writer that wants a path (e.g. savefig)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    with _replacing(tmp, path):
        writer(tmp)
    return path


# --------------------------------------------------------------------------------------------------
# Guarding a command's outputs
# --------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_hashes(path: Path) -> dict[str, str]:
    """``name -> sha256`` from a ``sha256sum``-style file; an unreadable or malformed file records nothing."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out = {}
    for line in text.splitlines():
        h, _, name = line.partition("  ")
        if len(h) == 64 and name:
            out[name] = h
    return out


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links and bind mounts: the same inode on the same device
    except OSError:
        return False


def written_by_package(path: str | os.PathLike) -> bool:
    """Whether the existing file ``path`` holds exactly what combotherapy wrote there.

    True when the folder's ``.combotherapy-outputs.sha256`` or a ``MANIFEST.sha256`` of ``reproduce`` in the folder
    or one of its parents lists the file with its current sha256.
    """
    path = Path(path).absolute()
    if not path.is_file():
        return False
    digest = _sha256(path)
    if _read_hashes(path.parent / OUTPUTS_RECORD).get(path.name) == digest:
        return True
    for folder in path.parents:
        manifest = folder / MANIFEST
        if manifest.is_file() and _read_hashes(manifest).get(path.relative_to(folder).as_posix()) == digest:
            return True
    return False


def check_output(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
                 force: bool = False) -> Path:
    """Check that a command may write ``path``; return it.

    Parameters
    ----------
    path : path-like
        The output file.
    inputs : iterable of path-like
        The command's input files (``None`` entries are ignored). Writing over one is refused, ``force`` or not.
    force : bool
        Allow replacing an existing file that the package did not write (:func:`written_by_package`).

    Raises
    ------
    OutputError
        ``path`` is an input file (by resolved path or inode), a folder, or an existing file that the package did
        not write and ``force`` is false.

    Example
    -------
    >>> from pathlib import Path
    >>> _ = Path("data.csv").write_text("subject,arm\\n")
    >>> check_output("data.csv", inputs=["data.csv"])
    Traceback (most recent call last):
    ...
    combotherapy.files.OutputError: refusing to write data.csv: it is an input of this command (data.csv); ...
    """
    path = Path(path)
    for source in inputs:
        if source is not None and Path(source).exists() and _same_file(path, Path(source)):
            raise OutputError(f"refusing to write {path}: it is an input of this command ({source}); input files "
                              "are never modified. Choose another output file.")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give the path of a file")
    if path.exists() and not force and not written_by_package(path):
        raise OutputError(f"refusing to replace {path}: the file exists and combotherapy did not write it (or it "
                          "was changed since). Pass --force to replace it, or choose another output file.")
    return path


def record_output(path: str | os.PathLike) -> None:
    """Note in the folder's ``.combotherapy-outputs.sha256`` that the package wrote ``path`` as it is now."""
    path = Path(path)
    record = path.parent / OUTPUTS_RECORD
    hashes = _read_hashes(record)
    hashes[path.name] = _sha256(path)
    write_text(record, "".join(f"{h}  {name}\n" for name, h in sorted(hashes.items())))


@contextmanager
def command_output(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = (),
                   force: bool = False) -> Iterator[Path]:
    """The one way a command writes its ``--out``: check (:func:`check_output`), write, record.

    The check runs before the body (so nothing is computed for an output that would be refused); after the body
    wrote the file (atomically, through this module) it is recorded as the package's own.

    Example
    -------
    >>> with command_output("table.md") as out:
    ...     _ = write_text(out, "| a |\\n")
    >>> written_by_package("table.md")
    True
    """
    path = check_output(path, inputs=inputs, force=force)
    yield path
    if path.is_file():
        record_output(path)


def check_output_folder(folder: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                        force: bool = False) -> Path:
    """Check that ``reproduce`` may write into ``folder``; return it.

    An absent or empty folder, or one holding the ``MANIFEST.sha256`` of an earlier run (its own results folder),
    may be written; another non-empty folder only with ``force``. A folder that holds one of ``inputs`` (the
    notebooks or their data) is refused, ``force`` or not.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    target = folder.resolve()
    for source in inputs:
        src = Path(source).resolve()
        if src == target or target in src.parents:
            raise OutputError(f"refusing to write into {folder}: it holds an input ({source}); choose a folder "
                              "of its own for the results")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).is_file() and not force:
        raise OutputError(f"refusing to write into {folder}: the folder is not empty and holds no {MANIFEST} of an "
                          "earlier `combotherapy reproduce`. Pass --force to write into it anyway, or choose "
                          "another folder.")
    return folder
