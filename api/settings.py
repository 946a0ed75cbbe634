"""All settings in one object, read from TIERZERO_* environment variables, with defaults that work on a laptop."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kb.embeddings import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent


MAX_RASA_PROCESSES = 8
MIN_SECRET_CHARS = 32  # HS256 keys shorter than its 256 bits are guessable


class Settings(BaseSettings):
    """Tier Zero's configuration. Every field can be set as TIERZERO_<NAME> (e.g. TIERZERO_PORT=9000)."""

    # hide_input_in_errors: a refused value may be a secret, and start-up errors go to logs
    model_config = SettingsConfigDict(
        env_prefix="TIERZERO_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str | None = None
    data_dir: Path = ROOT / "var"
    database_url: str | None = None
    # With SQLite: "normal" loses nothing when a process crashes or is killed, but may lose the last commits to a power
    # cut; "full" waits for the disk on every commit, with every request waiting (api/db.py, bench/results/load.md).
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    # The Rasa server's URL, or several separated by commas: each conversation always goes to the same one.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_port: int = Field(default=5005, ge=1, le=65535)
    # Rasa servers `tierzero run` starts, on rasa_port, rasa_port + 1, …: with two, a burst of messages is answered
    # on both cores, the slowest replies shorter (bench/results/load.md); each holds its own copy of the model.
    rasa_processes: int = Field(default=2, ge=1, le=MAX_RASA_PROCESSES)
    # Well above the slowest replies under load (bench/results/load.md): a cut-off reply is lost.
    rasa_timeout_seconds: float = Field(default=10.0, gt=0)
    # The Rasa servers run with Tier Zero's extensions to Rasa's internals (bot/rasa_ext: the same results with less
    # work, checked against one Rasa version, which they refuse to start without); off runs stock Rasa, to compare
    # the two (bench/results/load.md) or to run another Rasa version. Passed to the servers by api/launcher.py.
    rasa_extensions: bool = True
    action_token: str = ""
    embedding_model: str = DEFAULT_MODEL
    # CPU threads one query's embedding may use: 1 leaves the other core to Rasa and to other requests.
    embedding_threads: int = Field(default=1, ge=1, le=256)
    demo_kb_dir: Path = ROOT / "kb" / "demo"
    load_demo_kb: bool = True
    max_message_chars: int = Field(default=2000, ge=1)
    # The largest request body, in bytes (api/middleware.py): past it a request gets 413 before its body is read
    # (Content-Length) or as soon as what it streams passes it. 1 MiB is far above any message, ticket or article.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # The same for the article import (many files in one request; the editor sends a whole folder) and for Rasa's
    # action calls (a long conversation's events): 32 MiB. The action webhook reads nothing before its token.
    max_import_body_bytes: int = Field(default=32 << 20, ge=1024)
    policies_file: Path = ROOT / "config" / "policies.yml"
    scheduler_interval_seconds: float = Field(default=15.0, gt=0)
    webhook_interval_seconds: float = Field(default=1.0, gt=0)  # how often due webhook deliveries are sent
    messages_per_minute_per_conversation: int = Field(default=30, ge=1)
    messages_per_minute_per_address: int = Field(default=300, ge=1)
    conversations_per_hour_per_address: int = Field(default=100, ge=1)
    log_level: str = "info"
    # A serving process moves what it loaded at start-up (models, index, libraries) out of the garbage collector's
    # reach (`gc.freeze`): a full collection then walks only what requests made, not all of that with every request
    # waiting (bench/results/load.md). `tierzero run` turns it on; off in-process (tests, tools), where frozen
    # objects would never be collected.
    freeze_heap_after_start: bool = False
    # Sites allowed to call the API from a browser (the widget); "*" lets any site embed it.
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    # Known customers (usecases/customers.py): the secret host sites sign customer tokens with (HS256), and one per
    # site, picked by the token's `iss`: "shop:SECRET,help:SECRET" or a JSON object. Each at least 32 characters.
    customer_token_secret: SecretStr | None = None
    customer_token_secrets: Annotated[dict[str, SecretStr], NoDecode] = {}
    # The demo page's signed-in example (/demo/signed-in), for a fixed demo customer on the enterprise plan: anyone
    # who opens it gets that customer's routing, so keep it off where real customers write (`make run` turns it on).
    demo_customer: bool = False

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """TIERZERO_CORS_ORIGINS="https://shop.example,https://help.example" (or a JSON list)."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("customer_token_secrets", mode="before")
    @classmethod
    def _site_secrets(cls, value: object) -> object:
        """TIERZERO_CUSTOMER_TOKEN_SECRETS="shop:SECRET1,help:SECRET2" (or a JSON object)."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("{"):
                return json.loads(value)
            pairs = [pair.strip() for pair in value.split(",") if pair.strip()]
            if any(":" not in pair for pair in pairs):
                raise ValueError("write each site as ISSUER:SECRET, separated by commas (or give a JSON object)")
            return dict(pair.split(":", 1) for pair in pairs)
        return value

    @field_validator("customer_token_secret", "customer_token_secrets")
    @classmethod
    def _long_enough(cls, value: object) -> object:
        secrets = value.values() if isinstance(value, dict) else [value] if value is not None else []
        if any(len(secret.get_secret_value()) < MIN_SECRET_CHARS for secret in secrets):
            raise ValueError(
                f"a customer token secret must be at least {MIN_SECRET_CHARS} characters: make one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @cached_property
    def base_url(self) -> str:
        """Where customers' browsers reach the API (used in article links)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tierzero.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
