"""A serving API process moves what it loaded at start-up out of the garbage collector's reach; in-process apps
(tests, tools) do not, so what they drop is still collected."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.launcher import System
from api.settings import ROOT, Settings

START = """
import gc, sys
from fastapi.testclient import TestClient
from api.main import create_app
from api.settings import Settings

settings = Settings(data_dir=sys.argv[1], rasa_url="http://127.0.0.1:9", freeze_heap_after_start=sys.argv[2])
assert gc.get_freeze_count() == 0
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").json()["status"] == "ok"
    print(gc.get_freeze_count())
"""


@pytest.mark.parametrize("freeze", [True, False])
def test_the_heap_loaded_at_start_up_is_frozen_only_when_asked(tmp_path, demo_index, freeze):
    shutil.copytree(demo_index, tmp_path / "index")
    result = subprocess.run(
        [sys.executable, "-c", START, str(tmp_path), str(freeze)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen = int(result.stdout.split()[-1])
    assert frozen > 100_000 if freeze else frozen == 0  # the model, the index, the libraries: several 100k objects


def test_the_launcher_starts_the_api_with_its_heap_frozen_unless_the_environment_or_env_file_says_otherwise(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("TIERZERO_FREEZE_HEAP_AFTER_START", raising=False)
    monkeypatch.chdir(tmp_path)  # where Settings reads .env

    def api_env(**settings) -> str:
        system = System(settings=Settings(**settings), rasa_bin="", model=Path(), log_dir=Path())
        return system._command("api")[1]["TIERZERO_FREEZE_HEAP_AFTER_START"]

    assert Settings().freeze_heap_after_start is False and api_env() == "true"
    (tmp_path / ".env").write_text("TIERZERO_FREEZE_HEAP_AFTER_START=false\n")
    assert api_env() == "false"
    (tmp_path / ".env").unlink()
    monkeypatch.setenv("TIERZERO_FREEZE_HEAP_AFTER_START", "false")
    assert api_env() == "false"
    monkeypatch.setenv("TIERZERO_FREEZE_HEAP_AFTER_START", "true")
    assert api_env() == "true"
