"""What the system writes is its owner's only: the data folder (0700), the databases, the index and the logs (0600),
whether the launcher started the process (with the umask 077) or it was started some other way."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api.auth import create_token
from api.launcher import System, free_port
from api.main import create_app
from api.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): mode(path) for path in sorted(folder.rglob("*"))}


def test_the_data_folder_the_database_and_the_index_are_the_owners_only(data_dir):
    # as an older release left them: readable by everyone
    os.chmod(data_dir, 0o755)
    for path in (data_dir / "index").rglob("*"):
        os.chmod(path, 0o644)
    old = sqlite3.connect(data_dir / "tierzero.db")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE kept (x)")
    old.commit()
    old.close()
    os.chmod(data_dir / "tierzero.db", 0o644)
    assert mode(data_dir / "index" / "meta.json") == 0o644

    settings = Settings(  # SQLite's files on disk, even on the PostgreSQL pass
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'tierzero.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_token="secret",
    )
    with TestClient(create_app(settings)) as client:
        assert mode(data_dir) == 0o700
        files = modes(data_dir)
        assert {"tierzero.db", "tierzero.db-wal", "tierzero.db-shm", "index/meta.json"} <= set(files)
        assert files == {name: 0o700 if (data_dir / name).is_dir() else 0o600 for name in files}

        with client.app.state.use_cases.ctx.sessions() as session:
            editor = {"Authorization": f"Bearer {create_token(session, 'editor', 'files')}"}
            session.commit()
        article = {"id": "pet-hotel-en", "lang": "en", "title": "Pet hotel", "body": "We look after pets.",
                   "status": "published"}  # fmt: skip
        assert client.post("/api/v1/articles", json=article, headers=editor).status_code == 201
        saved = modes(data_dir / "index")  # written again by the publication
        assert saved == {"meta.json": 0o600, "vectors.faiss": 0o600} and mode(data_dir / "index") == 0o700


def test_the_processes_the_launcher_starts_create_owner_only_files_and_logs(tmp_path, monkeypatch):
    made = tmp_path / "made-by-the-process.db"
    (tmp_path / "api.log").write_text("from an older release\n")
    os.chmod(tmp_path / "api.log", 0o644)
    settings = Settings(data_dir=tmp_path, port=free_port(), rasa_port=free_port())
    system = System(settings=settings, rasa_bin="", model=Path(), log_dir=tmp_path)
    command = [sys.executable, "-c", f"open({str(made)!r}, 'w').write('x'); print('started')"]
    monkeypatch.setattr(System, "_command", lambda self, name: (command, dict(os.environ)))

    for name in ("api", "rasa"):
        system.launch(name)
        assert system.processes[name].wait(30) == 0
        assert mode(made) == 0o600 and mode(tmp_path / f"{name}.log") == 0o600
        made.unlink()
    assert (tmp_path / "api.log").read_text() == "from an older release\nstarted\n"
