"""Settings read from environment variables (see README.md, "Configuration")."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite://var/rassembleur.sqlite3"
INSECURE_SECRETS = {"", "change-me", "changeme", "secret", "dev"}


class ConfigurationError(RuntimeError):
    """The settings do not allow the service to start safely."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _int(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    return int(value)


def _float(value: str | None, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    return float(value)


# The longest retention period an event or RETENTION_MONTHS may set (20 years).
MAX_RETENTION_MONTHS = 240


def _months(value: str | None) -> int:
    try:
        return _int(value, 24)
    except ValueError:
        raise ConfigurationError(
            f"RETENTION_MONTHS doit être un nombre entier de mois (reçu : {value!r})."
        ) from None


# The region's time zone: events are entered and shown in it unless they say otherwise.
DEFAULT_TIME_ZONE = "America/Toronto"
_local_tz: ZoneInfo = ZoneInfo(os.environ.get("TIME_ZONE") or DEFAULT_TIME_ZONE)


def local_tz() -> ZoneInfo:
    """The configured time zone (`TIME_ZONE`, set from the settings at start-up)."""
    return _local_tz


def use_time_zone(name: str) -> None:
    global _local_tz
    _local_tz = ZoneInfo(name)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    mail_from: str = "Rassembleur <no-reply@rassembleur.local>"
    # Sender identification required in every message (CASL / Loi 25).
    mail_sender_address: str = "Instance régionale de concertation, Québec"
    # The mailto of List-Unsubscribe ("" = unsubscribe@<MAIL_FROM's domain>).
    unsubscribe_address: str = ""
    redis_url: str = ""
    rate_limit_enabled: bool = True
    time_zone: str = DEFAULT_TIME_ZONE
    default_language: str = "fr"
    var_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    # Mail worker
    run_worker_in_server: bool = True
    mail_batch_size: int = 50
    mail_max_attempts: int = 8
    mail_rate_per_second: float = 0.0  # 0 = unlimited
    mail_pool_size: int = 2
    mail_poll_interval: float = 1.0
    mail_lease_seconds: float = 20.0  # a claim lapses this long after the last heartbeat
    # HTTP
    max_body_bytes: int = 2 * 1024 * 1024
    # Failed logins: per (account, address) pair and per address (LOGIN_RATE_LIMIT), and a
    # higher ceiling per account across every address (LOGIN_ACCOUNT_RATE_LIMIT).
    login_rate_limit: str = "5/minute"
    login_account_rate_limit: str = "50/15 minutes"
    # Public registration channels: seats (party sizes) one client address may request per
    # event per hour (0: no limit), and how long a "confirmer par courriel" hold lasts.
    public_seats_per_address_hour: int = 20
    email_hold_minutes: int = 30
    # Retention (Law 25): personal data of registrations to an event that ended this many
    # months ago is anonymized (an event may set its own period), and so are people with no
    # activity for as long and no consent on record.
    retention_months: int = 24

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return urlparse(self.base_url).scheme == "https"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        if self.env not in {"development", "production", "test"}:
            raise ConfigurationError(
                f"ENV doit valoir development, production ou test (reçu : {self.env!r})."
            )
        if self.is_production:
            if self.secret_key in INSECURE_SECRETS or len(self.secret_key) < 32:
                raise ConfigurationError(
                    "En production, SECRET_KEY doit être une valeur secrète d'au moins "
                    "32 caractères (par exemple : python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')."
                )
            host = urlparse(self.base_url).hostname or ""
            if not self.base_url or host in {"127.0.0.1", "localhost", ""}:
                raise ConfigurationError(
                    "En production, BASE_URL doit être l'adresse publique du service "
                    "(par exemple https://evenements.exemple.qc.ca)."
                )
        if self.public_seats_per_address_hour < 0:
            raise ConfigurationError("PUBLIC_SEATS_PER_ADDRESS_HOUR doit être 0 ou plus.")
        if self.email_hold_minutes < 1:
            raise ConfigurationError("EMAIL_HOLD_MINUTES doit être au moins 1.")
        if self.default_language not in {"fr", "en"}:
            raise ConfigurationError("DEFAULT_LANGUAGE doit valoir fr ou en.")
        if not 1 <= self.retention_months <= MAX_RETENTION_MONTHS:
            raise ConfigurationError(
                f"RETENTION_MONTHS doit être un nombre de mois entre 1 et {MAX_RETENTION_MONTHS} "
                f"(reçu : {self.retention_months})."
            )


def _dev_secret(var_dir: Path) -> str:
    """Outside production, a random secret kept in var/ so sessions survive restarts."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    var_dir = Path(env.get("VAR_DIR") or PROJECT_ROOT / "var")
    mode = env.get("ENV", "development").strip() or "development"
    secret = env.get("SECRET_KEY", "")
    if not secret and mode != "production":
        secret = _dev_secret(var_dir)
    settings = Settings(
        env=mode,
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        secret_key=secret,
        base_url=(env.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        smtp_url=env.get("SMTP_URL", ""),
        mail_from=env.get("MAIL_FROM") or Settings.mail_from,
        mail_sender_address=env.get("MAIL_SENDER_ADDRESS") or Settings.mail_sender_address,
        unsubscribe_address=env.get("UNSUBSCRIBE_ADDRESS", "").strip(),
        redis_url=env.get("REDIS_URL", ""),
        rate_limit_enabled=_bool(env.get("RATE_LIMIT_ENABLED"), True),
        time_zone=env.get("TIME_ZONE") or DEFAULT_TIME_ZONE,
        default_language=env.get("DEFAULT_LANGUAGE") or "fr",
        var_dir=var_dir,
        run_worker_in_server=_bool(env.get("RUN_WORKER_IN_SERVER"), True),
        mail_batch_size=_int(env.get("MAIL_BATCH_SIZE"), 50),
        mail_max_attempts=_int(env.get("MAIL_MAX_ATTEMPTS"), 8),
        mail_rate_per_second=_float(env.get("MAIL_RATE_PER_SECOND"), 0.0),
        mail_pool_size=_int(env.get("MAIL_POOL_SIZE"), 2),
        mail_poll_interval=_float(env.get("MAIL_POLL_INTERVAL"), 1.0),
        mail_lease_seconds=_float(env.get("MAIL_LEASE_SECONDS"), 20.0),
        max_body_bytes=_int(env.get("MAX_BODY_BYTES"), 2 * 1024 * 1024),
        login_rate_limit=env.get("LOGIN_RATE_LIMIT") or "5/minute",
        login_account_rate_limit=env.get("LOGIN_ACCOUNT_RATE_LIMIT") or "50/15 minutes",
        public_seats_per_address_hour=_int(env.get("PUBLIC_SEATS_PER_ADDRESS_HOUR"), 20),
        email_hold_minutes=_int(env.get("EMAIL_HOLD_MINUTES"), 30),
        retention_months=_months(env.get("RETENTION_MONTHS")),
    )
    settings.validate()
    return settings
