"""Node settings, read from `MINGA_*` environment variables (and `.env`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a node needs to start. Built explicitly and passed to `create_app`."""

    model_config = SettingsConfigDict(env_prefix="MINGA_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./minga.db",
        description="SQLAlchemy URL: sqlite:///path (embedded default) or postgresql+psycopg://...",
    )
    node_name: str = Field(default="minga-node", description="Name this node shows to peers.")
    host: str = Field(default="127.0.0.1", description="Address `minga serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `minga serve` binds to.")
    public_url: str = Field(
        default="",
        description="URL peers reach this node at (its identity document names it); empty:"
        " http://{host}:{port}.",
    )
    token_cache_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="How long a token still stored argon2-hashed (issued before HMAC-SHA-256)"
        " is trusted before argon2 runs again; its hash is upgraded at its first use.",
    )
    page_size_max: int = Field(
        default=1000, ge=10, le=10000, description="Largest page a list returns."
    )
    bulk_max_objects: int = Field(
        default=10000, ge=1, description="Most objects in one bulk write."
    )
    secret_key: str = Field(
        default="",
        description="Key signing web session cookies; if empty, a key file beside the database.",
    )
    ingest_worker_seconds: int = Field(
        default=5,
        ge=0,
        description="How often `minga serve` runs queued ingest jobs (lost background uploads,"
        " jobs whose heartbeat stopped for 45 s); 0 turns it off (run `minga"
        " ingest-worker` instead).",
    )
    taxii_pull_check_seconds: int = Field(
        default=60,
        ge=0,
        description="How often `minga serve` looks for due TAXII pulls; 0 turns them off.",
    )
    federation_sync_seconds: float = Field(
        default=0.5,
        ge=0,
        description="How often the federation sync loop looks for versions other processes"
        " committed (a commit in this process wakes it at once); 0 turns federation sync off.",
    )
    federation_pull_seconds: int = Field(
        default=60,
        ge=1,
        description="How often the sync loop pulls from pull peers (also at start, to catch up).",
    )
    knowledge_update_hours: int = Field(
        default=24,
        ge=0,
        description="How often `minga serve` loads reference knowledge (ATT&CK, KEV, MISP) again"
        " from the URL it was last loaded from; 0 turns it off. Files are never re-read.",
    )
    correlation_limit: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="A value shared by more visible objects than this is marked common: counted,"
        " not listed (MISP's MISP.correlation_limit, default 20).",
    )
    search_index_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often `minga serve` adds newly written objects to the SQLite free-text"
        " index (searches stay exact meanwhile: they scan what is not indexed yet); 0 turns it"
        " off. PostgreSQL's index is written with the objects.",
    )
    ingest_max_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Largest upload or file ingest accepts."
    )
    log_level: str = Field(default="info", description="uvicorn log level.")
    log_format: str = Field(
        default="text",
        pattern="^(text|json)$",
        description="`text` (lines for a person) or `json` (one JSON object per line, for a log"
        " collector).",
    )
    metrics_token: str = Field(
        default="",
        description="Bearer token that opens GET /metrics (Prometheus); empty: /metrics is off.",
    )
    tls_cert_file: str = Field(
        default="", description="PEM certificate chain `minga serve` serves HTTPS with."
    )
    tls_key_file: str = Field(default="", description="PEM private key of that certificate.")
    workers: int = Field(
        default=0, ge=0, le=256, description="Processes `minga serve` runs; 0: one per core."
    )
    db_pool_size: int = Field(
        default=0,
        ge=0,
        le=200,
        description="Database connections each worker keeps (as many again in a burst); 0: 4 on"
        " SQLite, on PostgreSQL 40 shared by the workers (2 to 10 each).",
    )
    sqlite_cache_mb: int = Field(
        default=0,
        ge=0,
        le=65536,
        description="SQLite page cache of each worker in MB, shared out among its connections;"
        " 0: 1/64 of the machine's memory, 16 to 128 MB.",
    )
    password_min_length: int = Field(
        default=12, ge=8, le=128, description="Shortest password a person may choose."
    )
    signin_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account within the window before 429."
    )
    signin_max_address_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins per client address within the window before 429.",
    )
    signin_window_seconds: int = Field(
        default=900, ge=10, description="The window over which failed sign-ins are counted."
    )
    session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="How long a web session lasts after sign-in."
    )
    oidc_issuer: str = Field(
        default="", description="OpenID Connect provider (issuer URL); empty turns OIDC off."
    )
    oidc_client_id: str = Field(default="", description="This node's client id at the provider.")
    oidc_client_secret: str = Field(
        default="", description="This node's client secret at the provider (empty: public client)."
    )
    oidc_user_claim: str = Field(
        default="preferred_username",
        description="id_token claim whose value is a Minga user name (first sign-in links them).",
    )
    oidc_scopes: str = Field(default="openid profile email", description="Scopes requested.")
    oidc_redirect_url: str = Field(
        default="",
        description="Callback URL registered at the provider; empty: built from the request.",
    )
    oidc_label: str = Field(default="", description="Name of the provider on the sign-in page.")
    federation_receipts_seconds: float = Field(
        default=2,
        ge=0,
        description="How often `minga serve` sends queued recall receipts towards their origin"
        " node; 0 turns it off.",
    )
    public_site: bool = Field(
        default=True,
        description="Serve the public site (advisories, feeds, campaigns under /public) and the"
        " CSAF provider (/.well-known/csaf) without sign-in; false answers 404 there.",
    )
    advisory_prefix: str = Field(
        default="",
        max_length=30,
        pattern=r"^[A-Za-z0-9-]*$",
        description="Prefix of advisory ids (PREFIX-2026-0001, also their CSAF tracking id);"
        " empty: the node name in capitals.",
    )

    sitrep_hours: int = Field(
        default=168,
        ge=0,
        description="How often `minga serve` renders and stores the regional situation report"
        " (HTML and PDF, as the node operator sees the node); 0 turns it off.",
    )
    sitrep_languages: str = Field(
        default="es,pt,en", description="Languages of the scheduled situation report, by comma."
    )
    sitrep_period_days: int = Field(
        default=30, ge=6, le=3660, description="Days the scheduled situation report covers."
    )
    risk_review_notice_days: int = Field(
        default=14,
        ge=0,
        le=365,
        description="Days before its review date that a risk shows as due for review.",
    )
    incident_severities: str = Field(
        default="low,medium,high,very-high",
        description="The national severity scale of incidents, lowest first, comma-separated.",
    )
    incident_attachment_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest file attached to an incident."
    )
    incident_ack_hours: float = Field(
        default=4,
        gt=0,
        description="Default time an escalation hop has to acknowledge (reminder at half of it).",
    )
    incident_clocks: str = Field(
        default="",
        description="JSON file of regulatory reporting clocks per country and sector; empty: the"
        " shipped one (first notice 24 h, full report 72 h).",
    )
    score_threshold: int = Field(
        default=30,
        ge=1,
        le=100,
        description="Score under which an indicator counts as expired: sets its valid_until.",
    )
    score_default_confidence: int = Field(
        default=50,
        ge=0,
        le=100,
        description="Confidence assumed for an indicator that states none (STIX `confidence`).",
    )
    score_refresh_seconds: float = Field(
        default=3600,
        ge=0,
        description="How often `minga serve` recomputes every indicator's score as it ages;"
        " 0 turns it off (run `minga score refresh` instead).",
    )

    smtp_host: str = Field(
        default="",
        description="SMTP server e-mail goes through (notifications, digests, exercise injects);"
        " empty: no e-mail is sent.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_user: str = Field(default="", description="SMTP user name; empty: no authentication.")
    smtp_password: str = Field(default="", description="SMTP password (with MINGA_SMTP_USER).")
    smtp_from: str = Field(
        default="minga@localhost", description="Sender address of the e-mail this node sends."
    )
    event_bus: str = Field(
        default="",
        description="Empty: events are drained from the database outbox in-process (embedded"
        " default). nats://host:4222: the outbox is relayed to NATS JetStream and `minga worker`"
        " processes consume it.",
    )
    # -- notify: webhooks, e-mail, watch lists, constituency routing
    notify_seconds: float = Field(
        default=2,
        ge=0,
        description="How often `minga serve` routes new events to constituencies and watch"
        " lists, and sends due webhooks and e-mail; 0 turns it off.",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Attempts at a webhook delivery before it is dead."
    )
    webhook_retry_seconds: float = Field(
        default=30,
        ge=0,
        description="Wait before a webhook's first retry; doubled at each further attempt.",
    )
    webhook_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="How long a webhook receiver has to answer."
    )
    constituency_period_seconds: int = Field(
        default=86400,
        ge=60,
        description="A constituent is told about one value at most once per period.",
    )
    digest_seconds: int = Field(
        default=86400, ge=60, description="Time between two e-mail digests to one user."
    )
    # events: per-user streams (GET /api/stream)
    stream_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often each process's stream tailer looks for events committed"
        " elsewhere (a commit on this machine wakes it at once).",
    )
    stream_keepalive_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Seconds of silence after which a stream sends a keep-alive comment and"
        " re-checks the reader's credentials.",
    )
    stream_queue: int = Field(
        default=256,
        ge=1,
        description="How many event batches a stream reader may fall behind before it is cut"
        " (it resumes with Last-Event-ID).",
    )
    event_bus_prefix: str = Field(
        default="minga",
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="First token of this node's NATS subjects and of its JetStream stream names"
        " (several nodes, or test runs, share one NATS server apart).",
    )
    event_bus_ack_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long a `minga worker` may hold a bus message without word before NATS"
        " hands it to another worker (a running ingest job keeps telling it is alive).",
    )
    event_bus_max_deliveries: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Deliveries of one bus message before it goes to the dead letter stream.",
    )

    exercise_tick_seconds: float = Field(
        default=15,
        ge=0,
        description="How often `minga serve` delivers the due injects of running exercises and"
        " scores them; 0 turns it off (they then move when someone looks at them).",
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("MINGA_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("MINGA_PUBLIC_URL must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_url:
            scheme = "https" if self.tls_cert_file else "http"
            self.public_url = f"{scheme}://{self.host}:{self.port}"
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("set both MINGA_TLS_CERT_FILE and MINGA_TLS_KEY_FILE, or neither")
        return self

    @property
    def sitrep_language_list(self) -> list[str]:
        wanted = [x.strip() for x in self.sitrep_languages.split(",") if x.strip()]
        return [x for x in wanted if x in ("es", "pt", "en")] or ["en"]

    @property
    def tracking_prefix(self) -> str:
        """The prefix of advisory ids: `advisory_prefix`, else the node name in capitals."""
        import re

        return self.advisory_prefix or re.sub(r"[^A-Z0-9]+", "-", self.node_name.upper()).strip("-")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None
