"""Owner-only files: the data folder, the SQLite databases, the search index and the logs hold what customers wrote
and what staff signed in with (hashed), so no other account on the machine may read them.

The processes `tierzero run` starts get the umask `PRIVATE_UMASK` (api/launcher.py), so what they create is the
owner's only; the app also makes what it creates and opens owner-only itself, for a process started another way
(uvicorn by hand, a container), and tightens files an older release left readable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:  # another account's file (a shared mount): say so, and go on
        logger.warning("could not make %s owner-only (mode %o): it is not this account's", path, mode)


def private_dir(path: Path) -> Path:
    """Create the folder (and its parents) if missing; make it owner-only (0700)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create the file empty if missing, owner-only (0600) from its first byte; make an existing one owner-only."""
    path = Path(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE))
    _chmod(path, PRIVATE_FILE)
    return path


def open_log(path: Path):
    """A log file opened for appending, owner-only (0600)."""
    return private_file(path).open("ab")


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database, or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename: left as it is
        return None
    return Path(parsed.database)


def private_sqlite(url: str) -> None:
    """Make a SQLite database owner-only before SQLite opens it: SQLite gives its -wal and -shm files the database
    file's mode, so they are owner-only too; those an older release left readable are tightened."""
    path = sqlite_path(url)
    if path is None:
        return
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        _chmod(path.with_name(path.name + suffix), PRIVATE_FILE)


def private_tree(folder: Path) -> None:
    """Make a folder the app wrote (the index) owner-only, with every file in it."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    _chmod(folder, PRIVATE_DIR)
    for path in folder.rglob("*"):
        _chmod(path, PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)
