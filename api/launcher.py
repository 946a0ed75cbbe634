"""Starting the whole system: the Rasa server and the API (which hosts the action webhook), on loopback.

Used by `tierzero run` and by the end-to-end tests, so both start exactly the same processes.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.rasa_model import ensure_model, rasa_environment
from api.settings import ROOT, Settings


class LaunchError(RuntimeError):
    """A process did not come up; the message says which and where its log is."""


def find_rasa() -> str:
    rasa = os.environ.get("TIERZERO_RASA_BIN")
    if rasa and Path(rasa).exists():
        return rasa
    raise LaunchError(
        "the Rasa server is not installed: run `make run` (it creates the Rasa environment), "
        "or set TIERZERO_RASA_BIN to a `rasa` executable"
    )


@dataclass
class System:
    """The running processes and how to reach them."""

    api_url: str
    rasa_url: str
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def stop(self, timeout: float = 15) -> None:
        """Stop every process: SIGTERM, then SIGKILL after `timeout` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait(url: str, name: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LaunchError(f"{name} exited with code {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise LaunchError(f"{name} did not answer at {url} within {timeout:.0f} s; see {log}")


def start(settings: Settings, log_dir: Path | None = None, timeout: float = 180) -> System:
    """Train the Rasa model if its inputs changed, start Rasa and the API, and wait until both answer."""
    rasa_bin = find_rasa()
    model = ensure_model(rasa_bin)
    log_dir = log_dir or settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    token = settings.action_token or secrets.token_urlsafe(24)
    api_url = f"http://{settings.host}:{settings.port}"
    rasa_url = f"http://127.0.0.1:{settings.rasa_port}"
    env = {
        **os.environ,
        "TIERZERO_ACTION_TOKEN": token,
        "TIERZERO_RASA_URL": rasa_url,
        "TIERZERO_HOST": settings.host,
        "TIERZERO_PORT": str(settings.port),
        "TIERZERO_DATA_DIR": str(settings.data_dir),
    }
    if settings.database_url:
        env["TIERZERO_DATABASE_URL"] = settings.database_url
    system = System(api_url=api_url, rasa_url=rasa_url, log_dir=log_dir)
    try:
        api_log = log_dir / "api.log"
        system.processes["api"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:create_app",
                "--factory",
                "--host",
                settings.host,
                "--port",
                str(settings.port),
                "--log-level",
                settings.log_level,
            ],
            cwd=ROOT,
            env=env,
            stdout=api_log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        rasa_log = log_dir / "rasa.log"
        rasa_env = {
            **rasa_environment(),
            "TIERZERO_ACTION_URL": f"http://127.0.0.1:{settings.port}/webhook",
            "TIERZERO_ACTION_TOKEN": token,
            "TIERZERO_RASA_TRACKER_DB": str(settings.data_dir / "rasa-tracker.db"),
        }
        system.processes["rasa"] = subprocess.Popen(
            [
                rasa_bin,
                "run",
                "--model",
                str(model),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(settings.rasa_port),
            ],
            cwd=ROOT,
            env=rasa_env,
            stdout=rasa_log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait(f"{api_url}/healthz", "the API", system.processes["api"], api_log, timeout)
        _wait(f"{rasa_url}/", "the Rasa server", system.processes["rasa"], rasa_log, timeout)
    except BaseException:
        system.stop()
        raise
    return system
