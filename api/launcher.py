"""Starting the whole system: the Rasa server and the API (which hosts the action webhook), on loopback.

Used by `tierzero run` and by the end-to-end and fault tests, so they all start exactly the same processes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from api.files import PRIVATE_UMASK, open_log, private_dir
from api.rasa_model import ensure_model, rasa_environment
from api.settings import ROOT, Settings


class LaunchError(RuntimeError):
    """A process did not come up; the message says which and where its log is."""


def _customer_token_environment(settings: Settings) -> dict[str, str]:
    """The known-customer settings given in code (not only in the environment) for the API process, which reads
    its settings from the environment."""
    env = {}
    if settings.customer_token_secret is not None:
        env["TIERZERO_CUSTOMER_TOKEN_SECRET"] = settings.customer_token_secret.get_secret_value()
    if settings.customer_token_secrets:
        sites = {site: secret.get_secret_value() for site, secret in settings.customer_token_secrets.items()}
        env["TIERZERO_CUSTOMER_TOKEN_SECRETS"] = json.dumps(sites)
    if "demo_customer" in settings.model_fields_set:
        env["TIERZERO_DEMO_CUSTOMER"] = str(settings.demo_customer).lower()
    return env


def find_rasa() -> str:
    rasa = os.environ.get("TIERZERO_RASA_BIN")
    if rasa and Path(rasa).exists():
        return rasa
    raise LaunchError(
        "the Rasa server is not installed: run `make run` (it creates the Rasa environment), "
        "or set TIERZERO_RASA_BIN to the `rasa` executable of a Rasa 3.6 environment (its `python` runs the server)"
    )


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `port` now (nothing else listens there; a port in TIME_WAIT is free, as it
    is to the servers, which reuse addresses)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(count: int = 1) -> int:
    """A free loopback port, with the `count - 1` ports after it free too (the Rasa servers take consecutive ports
    from `TIERZERO_RASA_PORT`). For tests and benchmarks: another process may still take one before it is used."""
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + count - 1 <= 65535 and all(port_is_free(p) for p in range(port, port + count)):
            return port
    raise LaunchError(f"found no {count} free consecutive ports on loopback")


# The two servers share the machine's cores: numerical libraries (OpenMP in numpy and faiss, TensorFlow's pools in
# Rasa) run one thread each instead of one per core, so they do not spin waiting for a core the other server holds
# (less CPU a turn for both, bench/results/load.md). Set in the environment to override.
SERVING_THREADS = {
    "OMP_NUM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
}


@dataclass
class System:
    """The running processes, how to reach them, and how to (re)start each one."""

    settings: Settings
    rasa_bin: str
    model: Path
    log_dir: Path
    action_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def rasa_names(self) -> list[str]:
        """The Rasa servers' process names: "rasa", then "rasa-2", "rasa-3" … (`Settings.rasa_processes`)."""
        return ["rasa", *(f"rasa-{n}" for n in range(2, self.settings.rasa_processes + 1))]

    def _rasa_port(self, name: str) -> int:
        return self.settings.rasa_port + self.rasa_names.index(name)

    @property
    def rasa_url(self) -> str:
        """The first Rasa server."""
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self._rasa_port(name)}" for name in self.rasa_names]

    def _command(self, name: str) -> tuple[list[str], dict[str, str]]:
        settings = self.settings
        if name == "api":
            # on unless the environment or .env says otherwise (in-process apps leave it off: tests, tools)
            said = "freeze_heap_after_start" in settings.model_fields_set
            freeze = settings.freeze_heap_after_start if said else True
            env = {
                **SERVING_THREADS,
                **os.environ,
                "TIERZERO_FREEZE_HEAP_AFTER_START": str(freeze).lower(),
                "TIERZERO_ACTION_TOKEN": self.action_token,
                "TIERZERO_RASA_URL": ",".join(self.rasa_urls),
                "TIERZERO_HOST": settings.host,
                "TIERZERO_PORT": str(settings.port),
                "TIERZERO_DATA_DIR": str(settings.data_dir),
            }
            if settings.database_url:
                env["TIERZERO_DATABASE_URL"] = settings.database_url
            env.update(_customer_token_environment(settings))
            command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host", settings.host,
                       "--port", str(settings.port), "--log-level", settings.log_level]  # fmt: skip
            return command, env
        env = {
            **SERVING_THREADS,
            **rasa_environment(),
            "TIERZERO_ACTION_URL": f"http://127.0.0.1:{settings.port}/webhook",
            "TIERZERO_ACTION_TOKEN": self.action_token,
            "TIERZERO_RASA_TRACKER_DB": str(settings.data_dir / "rasa-tracker.db"),
            "TIERZERO_RASA_EXTENSIONS": "on" if settings.rasa_extensions else "off",
        }
        # bot.server is `rasa run` with Tier Zero's extensions to Rasa (bot/rasa_ext), or stock Rasa when they are off.
        rasa_python = str(Path(self.rasa_bin).with_name("python"))
        command = [rasa_python, "-m", "bot.server", "run", "--model", str(self.model),
                   "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml",
                   "--interface", "127.0.0.1", "--port", str(self._rasa_port(name))]  # fmt: skip
        return command, env

    def start_process(self, *names: str, timeout: float = 180) -> None:
        """Start "api" or any of `rasa_names` (several start side by side), and wait until each answers."""
        for name in names:
            self._check_port(name)
        for name in names:
            self.launch(name)
        for name in names:
            url = f"{self.api_url}/healthz" if name == "api" else f"http://127.0.0.1:{self._rasa_port(name)}/"
            what = "the API" if name == "api" else f"the Rasa server {name}"
            _wait(url, what, self.processes[name], self.log_dir / f"{name}.log", timeout)

    def launch(self, name: str) -> None:
        """Start one process without waiting for it to answer (its log: `log_dir`/<name>.log, appended to, owner-only).

        The process runs with the umask `PRIVATE_UMASK`: what it creates (databases, Rasa's tracker store, the index)
        is its owner's only (api/files.py)."""
        self._check_port(name)
        command, env = self._command(name)
        with open_log(self.log_dir / f"{name}.log") as log:  # the process writes to its own copy
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, umask=PRIVATE_UMASK
            )

    def _check_port(self, name: str) -> None:
        if name == "api":
            if not port_is_free(self.settings.port, self.settings.host):
                raise LaunchError(
                    f"port {self.settings.port} is in use by another program: set TIERZERO_PORT (or --port) to a free "
                    "port"
                )
        elif not port_is_free(port := self._rasa_port(name)):
            raise LaunchError(
                f"port {port}, for the Rasa server {name}, is in use by another program: the Rasa servers take "
                f"TIERZERO_RASA_PORT ({self.settings.rasa_port}) and the {self.settings.rasa_processes - 1} port(s) "
                "after it; set TIERZERO_RASA_PORT (or --rasa-port) so that they are free, or run fewer servers "
                "(TIERZERO_RASA_PROCESSES)"
            )

    def kill(self, *names: str) -> None:
        """SIGKILL processes, as a crash would."""
        for name in names:
            process = self.processes[name]
            process.send_signal(signal.SIGKILL)
            process.wait()

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


@dataclass
class Supervisor:
    """Keeps a running system's processes up (`tierzero run`): one that exits is started again, after a pause that
    doubles with each exit in the last `window` seconds (1, 2, 4 … s), while the others go on (the API answers from
    the knowledge base while Rasa is away). A process that exits `max_restarts` times within `window` seconds is not
    started again: `check` raises, naming it and its log, as something a restart does not mend (a bad setting, a port
    taken, a full disk) is behind it."""

    system: System
    max_restarts: int = 5
    window: float = 600.0
    clock: Callable[[], float] = time.monotonic
    exits: dict[str, list[float]] = field(default_factory=dict)  # when each process was seen to have exited
    due: dict[str, float] = field(default_factory=dict)  # processes waiting to be started again, and when

    def check(self) -> list[str]:
        """Look at every process once: note those that exited, start again those whose pause is over. Returns what
        happened, one line each, for the operator."""
        now, said = self.clock(), []
        for name, process in self.system.processes.items():
            if name in self.due or process.poll() is None:
                continue
            exits = [t for t in self.exits.get(name, []) if now - t < self.window] + [now]
            self.exits[name] = exits
            log = self.system.log_dir / f"{name}.log"
            if len(exits) > self.max_restarts:
                raise LaunchError(
                    f"{name} exited {len(exits)} times in {self.window / 60:.0f} minutes (last code "
                    f"{process.returncode}); not starting it again: see {log}"
                )
            pause = 2.0 ** (len(exits) - 1)
            self.due[name] = now + pause
            said.append(f"{name} exited (code {process.returncode}); starting it again in {pause:.0f} s; see {log}")
        for name, when in list(self.due.items()):
            if now >= when:
                del self.due[name]
                self.system.launch(name)
                said.append(f"{name} started again (pid {self.system.processes[name].pid})")
        return said


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
    """Train the Rasa model if its inputs changed, start the API and Rasa, and wait until both answer."""
    rasa_bin = find_rasa()
    model = ensure_model(rasa_bin)
    private_dir(settings.data_dir)  # Rasa creates its tracker store there
    log_dir = private_dir(log_dir or settings.data_dir / "logs")
    system = System(settings=settings, rasa_bin=rasa_bin, model=model, log_dir=log_dir)
    if settings.action_token:
        system.action_token = settings.action_token
    try:
        system.start_process("api", timeout=timeout)
        system.start_process(*system.rasa_names, timeout=timeout)
    except BaseException:
        system.stop()
        raise
    return system
