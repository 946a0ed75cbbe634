"""The trained Rasa model, cached by a hash of everything that goes into it, so it is trained once per change."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from api.settings import ROOT

MODEL_INPUTS = ("config.yml", "bot/domain.yml", "bot/nlu.py", "nlu_data", "requirements/rasa.txt")


def cache_dir() -> Path:
    base = (
        os.environ.get("TIERZERO_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tierzero"
    )
    return Path(base)


def inputs_hash(root: Path = ROOT) -> str:
    """SHA-256 over the pipeline, domain, training data and Rasa version (file names and contents)."""
    digest = hashlib.sha256()
    for name in MODEL_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def rasa_environment() -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def ensure_model(rasa_bin: str, root: Path = ROOT) -> Path:
    """The cached model for the current inputs, trained now if there is none."""
    models = cache_dir() / "models"
    models.mkdir(parents=True, exist_ok=True)
    model = models / f"tierzero-{inputs_hash(root)}.tar.gz"
    with (models / f"{model.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one training per model, however many test runs ask at once
        if not model.exists():
            _train(rasa_bin, root, models, model)
    return model


def _train(rasa_bin: str, root: Path, models: Path, model: Path) -> None:
    print(f">> training the Rasa model (inputs changed; about 2 minutes) -> {model}", flush=True)
    with tempfile.TemporaryDirectory(dir=models) as out:
        subprocess.run(
            [
                rasa_bin,
                "train",
                "--config",
                "config.yml",
                "--domain",
                "bot/domain.yml",
                "--data",
                "nlu_data",
                "--out",
                out,
                "--fixed-model-name",
                "model",
                "--quiet",
            ],
            cwd=root,
            env=rasa_environment(),
            check=True,
        )
        shutil.move(str(Path(out) / "model.tar.gz"), model)
