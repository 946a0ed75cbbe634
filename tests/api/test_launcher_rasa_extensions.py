"""The launcher passes TIERZERO_RASA_EXTENSIONS to every Rasa server it starts: on unless the setting says off
(bot/server.py then starts stock Rasa)."""

from pathlib import Path

import pytest

from api.launcher import System
from api.settings import Settings


@pytest.mark.parametrize(
    ("environment", "passed"), [(None, "on"), ("off", "off"), ("false", "off"), ("on", "on"), ("true", "on")]
)
def test_every_rasa_server_gets_the_setting(tmp_path, monkeypatch, environment, passed):
    if environment is None:
        monkeypatch.delenv("TIERZERO_RASA_EXTENSIONS", raising=False)
    else:
        monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", environment)
    settings = Settings(data_dir=tmp_path, rasa_processes=2)
    assert settings.rasa_extensions is (passed == "on")
    system = System(settings=settings, rasa_bin="/nonexistent/rasa", model=Path("model.tar.gz"), log_dir=tmp_path)
    for name in system.rasa_names:
        command, env = system._command(name)
        assert command[1:4] == ["-m", "bot.server", "run"] and env["TIERZERO_RASA_EXTENSIONS"] == passed


def test_the_setting_given_in_code_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TIERZERO_RASA_EXTENSIONS", "on")
    system = System(
        settings=Settings(data_dir=tmp_path, rasa_extensions=False), rasa_bin="/x/rasa", model=Path(), log_dir=tmp_path
    )
    assert system._command("rasa")[1]["TIERZERO_RASA_EXTENSIONS"] == "off"
