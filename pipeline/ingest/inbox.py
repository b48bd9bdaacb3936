"""Scan the inbox: every entry, sorted, hashed; symlinks and special files reported, never followed."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InboxEntry:
    rel_path: str  # POSIX path relative to the inbox
    abs_path: Path
    kind: str  # "file" | "symlink" | "special" | "unreadable"
    size: int
    sha256: str | None  # None when the bytes could not be read (symlink, special, unreadable)


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def scan_inbox(inbox: Path) -> list[InboxEntry]:
    """List every entry under ``inbox`` (recursively), sorted by relative path.

    Directories are walked without following symlinks, so a link can never lead outside the inbox; a symlink
    is reported as kind ``symlink`` (the parser rejects it: its target, when inside the inbox, is read under
    its own name). FIFOs, sockets and devices are ``special`` and never opened (opening a FIFO blocks).
    Hidden files (dot files) are skipped: editors and sync tools leave them around.
    """
    inbox = Path(inbox)
    out: list[InboxEntry] = []
    for root, dirs, files in os.walk(inbox, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        root_p = Path(root)
        # os.walk lists symlinked directories in dirs; report them as symlinks instead of skipping silently
        names = list(files) + [d for d in dirs if (root_p / d).is_symlink()]
        for name in names:
            if name.startswith("."):
                continue
            p = root_p / name
            rel = p.relative_to(inbox).as_posix()
            try:
                st = p.lstat()
            except OSError:
                out.append(InboxEntry(rel, p, "unreadable", 0, None))
                continue
            if stat.S_ISLNK(st.st_mode):
                out.append(InboxEntry(rel, p, "symlink", st.st_size, None))
            elif not stat.S_ISREG(st.st_mode):
                out.append(InboxEntry(rel, p, "special", 0, None))
            else:
                try:
                    digest = sha256_file(p)
                except OSError:
                    out.append(InboxEntry(rel, p, "unreadable", st.st_size, None))
                    continue
                out.append(InboxEntry(rel, p, "file", st.st_size, digest))
        dirs[:] = [d for d in dirs if not (root_p / d).is_symlink()]
    out.sort(key=lambda e: e.rel_path)
    return out
