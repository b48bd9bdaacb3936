"""Scan the inbox: every entry, sorted, hashed, and recorded; symlinks and special files never followed.

Every entry the walk meets becomes exactly one :class:`InboxEntry`, so every one can get a row in ``files``:
regular files are hashed; everything else is reported with a ``kind`` the manifest turns into a reject
reason, and is never opened or descended into.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InboxEntry:
    rel_path: str  # POSIX path relative to the inbox (undecodable bytes escaped as \\xNN)
    abs_path: Path
    kind: str  # "file" | "symlink" | "special" | "unreadable" | "hidden" | "bad_name" | "excluded"
    size: int
    sha256: str | None  # None when the bytes could not be read (symlink, special, unreadable)
    detail: str = ""


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def safe_name(name: str) -> str:
    """A name that can be stored and printed: undecodable bytes (surrogate escapes) become ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _decodes(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scan_inbox(inbox: Path, *, exclude: Iterable[tuple[Path, str]] = ()) -> list[InboxEntry]:
    """List every entry under ``inbox`` (recursively), sorted by relative path.

    Directories are walked without following symlinks, so a link can never lead outside the inbox; a symlink
    is reported as kind ``symlink`` (its target, when inside the inbox, is read under its own name). FIFOs,
    sockets and devices are ``special`` and never opened (opening a FIFO blocks). Dot files and dot
    directories are ``hidden`` (one entry each, not read: editors and version control leave them around, and a
    user should see that they were skipped). A name that is not valid UTF-8 is ``bad_name`` with an escaped
    ``rel_path`` (it cannot be stored as a string otherwise). A directory that cannot be listed is
    ``unreadable``. ``exclude`` holds ``(folder, why)`` pairs — the lake, the Dagster home — reported as one
    ``excluded`` entry each and never walked, so the lake never ingests itself.
    """
    inbox = Path(inbox)
    out: list[InboxEntry] = []
    excluded = {}
    for folder, why in exclude:
        try:
            excluded[Path(folder).resolve()] = why
        except OSError:
            continue
    if not inbox.exists():
        return out
    _walk(inbox, "", out, excluded)
    out.sort(key=lambda e: e.rel_path)
    return out


def _walk(folder: Path, prefix: str, out: list[InboxEntry], excluded: dict[Path, str]) -> None:
    try:
        with os.scandir(folder) as it:
            items = sorted(it, key=lambda d: d.name)
    except OSError as err:
        out.append(InboxEntry(prefix.rstrip("/") or ".", folder, "unreadable", 0, None, f"cannot list: {err}"))
        return
    for de in items:
        p = folder / de.name
        rel = prefix + safe_name(de.name)
        if not _decodes(de.name):
            out.append(InboxEntry(rel, p, "bad_name", 0, None, "file name is not valid UTF-8; rename it"))
            continue
        if de.name.startswith("."):
            out.append(InboxEntry(rel, p, "hidden", 0, None, "dot file or directory: not read"))
            continue
        try:
            st = de.stat(follow_symlinks=False)
        except OSError as err:
            out.append(InboxEntry(rel, p, "unreadable", 0, None, str(err)[:200]))
            continue
        if stat.S_ISLNK(st.st_mode):
            out.append(InboxEntry(rel, p, "symlink", st.st_size, None, "symlink: never followed"))
        elif stat.S_ISDIR(st.st_mode):
            why = excluded.get(p.resolve())
            if why is not None:
                out.append(InboxEntry(rel, p, "excluded", 0, None, why))
            else:
                _walk(p, rel + "/", out, excluded)
        elif not stat.S_ISREG(st.st_mode):
            out.append(InboxEntry(rel, p, "special", 0, None, "FIFO, socket or device: never opened"))
        else:
            try:
                digest = sha256_file(p)
            except OSError as err:
                out.append(InboxEntry(rel, p, "unreadable", st.st_size, None, str(err)[:200]))
                continue
            out.append(InboxEntry(rel, p, "file", st.st_size, digest))


def inbox_fingerprint(folder) -> str:
    """Cheap change detector over names, sizes and modification times (no file is read)."""
    import hashlib

    h = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            h.update(f"{os.path.relpath(path, folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "replace"))
    return h.hexdigest()
