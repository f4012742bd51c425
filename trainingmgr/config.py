"""Configuration from the environment; tests pass a dict to ``create_app`` instead."""
from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from urllib.parse import urlsplit

# Below this length a SECRET_KEY is refused outside development (it signs sessions and personal links).
MIN_SECRET_KEY_LENGTH = 32
SUPPORTED_DATABASES = ("sqlite", "postgresql")


class ConfigurationError(Exception):
    """A setting the application cannot run with; its message (French) is printed alone, without a traceback."""


def is_production(env=None) -> bool:
    """APP_ENV=production, or APP_ENV unset and the application served by gunicorn (whatever started it)."""
    env = os.environ if env is None else env
    value = env.get("APP_ENV", "").strip().lower()
    if value:
        return value == "production"
    return "gunicorn" in sys.modules


def default_public_url(env) -> str:
    """The served address when PUBLIC_URL is not set: `make run` passes HOST and PORT (PORT=5101 make run)."""
    host = env.get("RUN_HOST", "").strip() or "127.0.0.1"
    port = env.get("RUN_PORT", "").strip() or "5000"
    return f"http://{host}:{port}"


def check_public_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            f"PUBLIC_URL invalide ({url!r}) : indiquez l'adresse publique complète, par exemple "
            "https://formation.example.fr (les liens des e-mails et des documents commencent par elle).")
    return url.rstrip("/")


def check_database_url(url: str) -> str:
    """Only SQLite and PostgreSQL are supported: say so instead of a missing driver's traceback."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if scheme not in SUPPORTED_DATABASES:
        shown = url.split("://", 1)[0] + "://…" if "://" in url else repr(url[:40])
        raise ConfigurationError(
            f"DATABASE_URL non pris en charge ({shown}) : utilisez postgresql://utilisateur:motdepasse@hôte/base "
            "ou sqlite:///chemin/vers/fichier.db.")
    return url


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL's scheme says."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(instance_path: str) -> str:
    """A secret kept in ``instance/secret_key`` so that a development server keeps its sessions."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as handle:
            secret = handle.read().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    os.makedirs(instance_path, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret)
    return secret


def secure_cookies(env) -> bool:
    """Session and remember-me cookies marked Secure: SESSION_COOKIE_SECURE when set (1/true/yes or 0/false/no),
    else whenever PUBLIC_URL is https (production behind its TLS proxy); `make run` serves plain
    http://127.0.0.1:5000, where a Secure cookie would never come back and nobody could log in."""
    explicit = env.get("SESSION_COOKIE_SECURE", "").strip().lower()
    if explicit in ("1", "true", "yes", "on"):
        return True
    if explicit in ("0", "false", "no", "off"):
        return False
    return env.get("PUBLIC_URL", "").strip().lower().startswith("https://")


def from_environment(instance_path: str, secret_given: bool = False) -> dict:
    env = os.environ
    production = is_production(env)
    secret = env.get("SECRET_KEY", "")
    if not secret and not secret_given and not production:
        secret = _instance_secret(instance_path)
    config = {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'trainingmgr.db')}"
        ),
        "FILES_DIR": env.get("FILES_DIR") or os.path.join(instance_path, "files"),
        # The sealing keys of the attendance register (core/sealkeys.py), outside the database; saved apart.
        "SEAL_KEY_DIR": env.get("SEAL_KEY_DIR") or os.path.join(instance_path, "seal_keys"),
        # An RFC 3161 timestamp authority for the seals (empty: none), the certificates that issue its tokens
        # (PEM) and, when it asks for them, HTTP basic credentials.
        # The organisation's certificate for the PAdES signatures of documents (signing/pades.py): a purchased
        # PKCS#12 and its passphrase, else the self-signed one that `flask signing init` makes in SIGNING_DIR.
        "SIGNING_DIR": env.get("SIGNING_DIR") or os.path.join(instance_path, "signing"),
        "SIGNING_P12_FILE": env.get("SIGNING_P12_FILE", "").strip(),
        "SIGNING_P12_PASSPHRASE": env.get("SIGNING_P12_PASSPHRASE", ""),
        "TSA_URL": env.get("TSA_URL", "").strip(),
        "TSA_CA_FILE": env.get("TSA_CA_FILE", "").strip(),
        "TSA_USERNAME": env.get("TSA_USERNAME", ""),
        "TSA_PASSWORD": env.get("TSA_PASSWORD", ""),
        # Where people reach the application: every link in an e-mail, a document or an API answer starts with
        # it, never with the Host of a request. Required in production; otherwise the served host and port.
        "PUBLIC_URL": env.get("PUBLIC_URL", "").strip(),
        "DEFAULT_PUBLIC_URL": default_public_url(env),
        # Host names accepted besides PUBLIC_URL's in production (comma-separated), e.g. an internal name.
        "EXTRA_TRUSTED_HOSTS": [h.strip() for h in env.get("TRUSTED_HOSTS", "").split(",") if h.strip()],
        # Without an SMTP server configured, e-mails are written to the log (development).
        "MAIL_BACKEND": env.get("MAIL_BACKEND") or ("smtp" if env.get("MAIL_SERVER") else "console"),
        # MAIL_BACKEND=console written out: production then starts without e-mail, loudly (mail_problems).
        "MAIL_BACKEND_EXPLICIT": bool(env.get("MAIL_BACKEND", "").strip()),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "") in ("1", "true", "yes"),
        "MAIL_USE_SSL": env.get("MAIL_USE_SSL", "") in ("1", "true", "yes"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "formation@localhost"),
        # Cookies sent over HTTPS only when the application is served over HTTPS (see secure_cookies).
        "SESSION_COOKIE_SECURE": secure_cookies(env),
        "REMEMBER_COOKIE_SECURE": secure_cookies(env),
        # Shared by every process (redis://host:6379/0) in production; memory:// counts per process.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://",
        # PDF copies of the documents through LibreOffice when it is installed ("auto"), or never ("none").
        "PDF_CONVERTER": env.get("PDF_CONVERTER", "auto"),
        # host:port of the converter shared by every process (`flask pdf serve`; make run and make serve set
        # 127.0.0.1:2003); empty: each process starts its own LibreOffice at its first PDF.
        "PDF_SERVER": env.get("PDF_SERVER", "").strip(),
    }
    for key in INTEGER_SETTINGS:
        if env.get(key, "").strip().isdigit():
            config[key] = int(env[key])
    for key in RATE_LIMIT_SETTINGS:
        if env.get(key, "").strip():
            config[key] = env[key].strip()
    return config


def finalise(config: dict) -> None:
    """Check the merged configuration and derive what follows from it; ConfigurationError when unusable."""
    production = config.get("APP_ENV") == "production"
    secret = config.get("SECRET_KEY") or ""
    if not secret:
        raise ConfigurationError(
            "SECRET_KEY est obligatoire en production : générez-en une avec "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'.")
    if production and len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY est trop courte ({len(secret)} caractères) : il en faut au moins {MIN_SECRET_KEY_LENGTH} "
            "en production (python3 -c 'import secrets; print(secrets.token_hex(32))').")
    if not config.get("PUBLIC_URL"):
        if production:
            raise ConfigurationError(
                "PUBLIC_URL est obligatoire en production : l'adresse publique de l'application "
                "(https://formation.example.fr), d'où partent les liens des e-mails et des documents.")
        config["PUBLIC_URL"] = config.get("DEFAULT_PUBLIC_URL") or "http://127.0.0.1:5000"
    config["PUBLIC_URL"] = check_public_url(config["PUBLIC_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(check_database_url(config["SQLALCHEMY_DATABASE_URI"]))
    config["RATELIMIT_STORAGE_SHARED"] = not config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    if production and not config.get("TRUSTED_HOSTS"):
        # Flask answers 400 to a request naming another Host (no page is ever built on a forged one).
        config["TRUSTED_HOSTS"] = [urlsplit(config["PUBLIC_URL"]).hostname, *config.get("EXTRA_TRUSTED_HOSTS", [])]


def mail_problems(config) -> tuple[list[str], list[str]]:
    """What stops a production server because of its e-mail settings, and what it must shout (French): without
    MAIL_SERVER no convocation, link or code would ever reach anyone, so production refuses to start unless
    MAIL_BACKEND=console says that this is wanted."""
    backend = (config.get("MAIL_BACKEND") or "console").strip().lower()
    if backend not in ("console", "smtp"):
        return [f"MAIL_BACKEND inconnu : « {backend} » (attendu : smtp, ou console pour n'envoyer aucun e-mail)."], []
    if config.get("APP_ENV") != "production" or backend != "console":
        return [], []
    if not config.get("MAIL_BACKEND_EXPLICIT"):
        return [("Aucun serveur d'e-mail : définissez MAIL_SERVER (avec MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD, "
                 "MAIL_USE_TLS, MAIL_DEFAULT_SENDER) pour que convocations, liens et codes partent, ou "
                 "MAIL_BACKEND=console pour démarrer sans envoyer aucun e-mail.")], []
    return [], [("ATTENTION : AUCUN E-MAIL NE PART (MAIL_BACKEND=console). Convocations, liens personnels, codes "
                 "de signature et factures sont seulement écrits dans la console du worker : personne ne les "
                 "reçoit. Définissez MAIL_SERVER et retirez MAIL_BACKEND=console pour envoyer.")]


# Settings that the environment may override with a whole number.
INTEGER_SETTINGS = ("CONVOCATION_DAYS_BEFORE", "MINIMUM_CHECK_DAYS", "ATTENDANCE_OPENS_BEFORE_MINUTES",
                    "ATTENDANCE_CLOSES_AFTER_MINUTES", "ATTENDANCE_QR_PERIOD_SECONDS",
                    "QUALITY_ACK_WORKING_DAYS", "QUALITY_ANSWER_DAYS", "PROXY_FIX", "SIGNATURE_CODE_MINUTES",
                    "SIGNATURE_DEADLINE_DAYS", "PLANNED_ABSENCE_HOURS_BEFORE", "MEMO_SECONDS",
                    "TASK_STALE_SECONDS", "TASK_RESULT_DAYS")
# Rate limits the environment may override ("10 per minute").
RATE_LIMIT_SETTINGS = ("LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT", "PUBLIC_FORM_RATE_LIMIT",
                       "TRAINEE_FORM_RATE_LIMIT", "QUALITY_FORM_RATE_LIMIT", "ATTENDANCE_SIGN_RATE_LIMIT",
                       "ATTENDANCE_CODE_RATE_LIMIT", "ATTENDANCE_QR_RATE_LIMIT", "SIGNATURE_SIGN_RATE_LIMIT",
                       "SIGNATURE_CODE_RATE_LIMIT", "TRAINER_SPACE_RATE_LIMIT")


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # "Rester connecté" lasts this long, and so does any login session (accounts/services.py).
    "REMEMBER_COOKIE_DURATION": dt.timedelta(days=30),
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the login session
    "WTF_I18N_ENABLED": False,  # WTForms' own French messages, through the form's Meta.locales
    "BOOTSTRAP_SERVE_LOCAL": True,
    "BOOTSTRAP_BTN_STYLE": "primary",
    "LOGIN_RATE_LIMIT": "10 per minute",
    # Failed logins naming one account, from any address (beside the per-address limit above).
    "LOGIN_ACCOUNT_RATE_LIMIT": "20 per 15 minutes",
    "PUBLIC_FORM_RATE_LIMIT": "5 per minute",
    "TRAINEE_FORM_RATE_LIMIT": "30 per minute",
    "MAIL_TIMEOUT": 30,
    # A long task (messaging/tasks.py) silent this many seconds is taken as interrupted: queued again once, then failed.
    "TASK_STALE_SECONDS": 120,
    # The file a finished task produced (a pack, an export) is deleted this many days after it finished (files/sweep.py).
    "TASK_RESULT_DAYS": 7,
    # Production behind reverse proxies: how many of them (nginx alone: 1) set X-Forwarded-For/-Proto/-Host/-Port/
    # -Prefix, which werkzeug's ProxyFix then trusts (0: none, the headers are ignored). Env PROXY_FIX.
    "PROXY_FIX": 0,
    # Convocations leave on confirmation, or this many days before the first slot if that is later.
    "CONVOCATION_DAYS_BEFORE": 7,
    # Sessions still under their minimum this many days before they start are flagged.
    "MINIMUM_CHECK_DAYS": 10,
    # How long a trainee's personal link stays valid.
    "TRAINEE_LINK_MAX_AGE_DAYS": 365,
    # The personal links of the trainer space and of the company space (core/personal_links.py).
    "TRAINER_LINK_MAX_AGE_DAYS": 365,
    # The trainer space's forms (marks, countersignature, acquis), per personal link.
    "TRAINER_SPACE_RATE_LIMIT": "60 per minute",
    "COMPANY_LINK_MAX_AGE_DAYS": 365,
    # Surveys: when the checklist expects the cold evaluation (per course otherwise; keep it equal to the default
    # cold rule's J+60 on *Automatisations*), reminders J+3 and J+7 after a send (which default rules are made).
    "SURVEY_COLD_DAYS": 60,
    "SURVEY_REMINDER_DAYS": (3, 7),
    "SURVEY_LINK_MAX_AGE_DAYS": 180,
    # A submitted survey raises an alert when a 1–5 answer is at most this, or the average of them under that.
    "SURVEY_ALERT_QUESTION_MAX": 2,
    "SURVEY_ALERT_OVERALL_MIN": 3,
    # Improvement actions (Qualiopi 32): the due date proposed for a new action, this many days ahead.
    "QUALITY_ACTION_DUE_DAYS": 30,
    # Complaints and mediation requests (Qualiopi 31): acknowledged within this many working days (weekends and
    # French public holidays excluded), answered within this many calendar days, both from the day received;
    # the requester's follow link stays valid this many days; the public form's rate limit (per IP).
    "QUALITY_ACK_WORKING_DAYS": 2,
    "QUALITY_ANSWER_DAYS": 15,
    "QUALITY_LINK_MAX_AGE_DAYS": 365,
    "QUALITY_FORM_RATE_LIMIT": "5 per minute",
    # Per-session checklist (quality/checklist/, docs/checklist.md): conventions due this many days before the first day,
    # certificates and the invoice this many days after the last one (convocations: CONVOCATION_DAYS_BEFORE,
    # cold survey: the course's delay or SURVEY_COLD_DAYS). The dashboard lists the overdue items of the sessions
    # having a slot from PAST days ago (at least the longest cold delay + 30) to AHEAD days ahead.
    "CHECKLIST_CONVENTION_DAYS_BEFORE": 15,
    "CHECKLIST_CERTIFICATES_DAYS_AFTER": 7,
    "CHECKLIST_INVOICE_DAYS_AFTER": 7,
    "CHECKLIST_DASHBOARD_PAST_DAYS": 90,
    "CHECKLIST_DASHBOARD_AHEAD_DAYS": 30,
    # The dashboard's overdue checklist items and overdue invoices are kept this many seconds per process, and
    # forgotten at once on any write this process commits (core/memo.py); 0 reads them afresh on every visit.
    "MEMO_SECONDS": 60,
    # Personal data (RGPD): retention periods in months per kind of data, overriding privacy/retention.py POLICY
    # (trainee 60, prospect 12, attendance 60, survey_text 36, quality_request 60, outbox 12), e.g. {"outbox": 24}.
    "RETENTION_MONTHS": {},
    # The public course sheet shows its indicators once this many survey responses exist (Qualiopi 2).
    "PUBLIC_INDICATORS_MIN_RESPONSES": 5,
    # Attendance: trainees sign a slot from this many minutes before its start until this many after its end.
    "ATTENDANCE_OPENS_BEFORE_MINUTES": 15,
    "ATTENDANCE_CLOSES_AFTER_MINUTES": 60,
    # The room's QR code changes every period; the previous period's code is still accepted.
    "ATTENDANCE_QR_PERIOD_SECONDS": 30,
    "ATTENDANCE_LINK_MAX_AGE_DAYS": 7,
    "ATTENDANCE_CODE_MINUTES": 10,
    "ATTENDANCE_CODE_ATTEMPTS": 5,
    # A trainee declares a planned absence from their personal page until this many hours before the half-day.
    "PLANNED_ABSENCE_HOURS_BEFORE": 24,
    # Per personal link or per trainee (not per IP: a whole class signs from one Wi-Fi).
    "ATTENDANCE_SIGN_RATE_LIMIT": "10 per minute",
    "ATTENDANCE_CODE_RATE_LIMIT": "3 per minute",
    "ATTENDANCE_QR_RATE_LIMIT": "120 per minute",
    # Electronic signature of documents (signing/): personal links live at most this many days (the request's
    # deadline ends them sooner); codes as for attendance, and at most SIGNATURE_CODES_MAX codes per link before
    # the signatory is locked; the default reminder rules (automations) this many days after sending; the deadline
    # proposed and the longest.
    "SIGNATURE_LINK_MAX_AGE_DAYS": 100,
    "SIGNATURE_CODE_MINUTES": 10,
    "SIGNATURE_CODE_ATTEMPTS": 5,
    "SIGNATURE_CODES_MAX": 5,
    "SIGNATURE_REMINDER_DAYS": (3, 7),
    "SIGNATURE_DEADLINE_DAYS": 15,
    "SIGNATURE_MAX_DEADLINE_DAYS": 90,
    "SIGNATURE_SIGN_RATE_LIMIT": "10 per minute",
    "SIGNATURE_CODE_RATE_LIMIT": "3 per minute",
    "RATELIMIT_HEADERS_ENABLED": True,
    # A moving window: "10 per minute" means any 60 seconds, not a clock minute (a fixed window
    # would let 20 attempts through around a minute boundary).
    "RATELIMIT_STRATEGY": "moving-window",
    # Invoices (billing/invoices.py): due this many days after the issue date; the payment terms printed (empty:
    # the organisation's, else "Paiement à N jours…"); the late-payment penalties and the fixed 40 € recovery
    # indemnity (article L441-10 and D441-5 of the Code de commerce; the indemnity is left out for individuals), the
    # early-payment discount conditions (article L441-9).
    "BILLING_PAYMENT_DAYS": 30,
    "BILLING_PAYMENT_TERMS": "",
    "BILLING_LATE_PENALTIES": (
        "En cas de retard de paiement, des pénalités sont exigibles dès le lendemain de la date d'échéance, au taux "
        "d'intérêt appliqué par la Banque centrale européenne à son opération de refinancement la plus récente "
        "majoré de 10 points (article L441-10 du Code de commerce)."),
    "BILLING_EARLY_PAYMENT_DISCOUNT": "Pas d'escompte pour paiement anticipé.",
    # An abandonment is invoiced pro rata of the hours attended (the convention's clause); the organisation may
    # charge a dédit on the hours not attended, this many % of their price, on a separate line of the company's
    # invoice (never the OPCO's nor an individual's): 0, none.
    "BILLING_ABANDONMENT_DEDIT_PERCENT": 0,
    "BILLING_RECOVERY_INDEMNITY": (
        "Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : 40 € (articles L441-10 "
        "et D441-5 du Code de commerce)."),
    # Accounting export (billing/payments.py journal): general accounts and journal codes. Customers get an auxiliary
    # account under "customer": 411OPCOEP for an OPCO, 411C00012 for company 12, 411P00007 for trainee 7.
    "BILLING_ACCOUNTS": {"customer": "411", "revenue": "706", "vat": "44571", "bank": "512",
                         "sales_journal": "VT", "bank_journal": "BQ"},
    "API_TITLE": "trainingmgr API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Catalogue et sessions de l'organisme de formation. Les montants sont des "
                                "chaînes (\"600.00\"), les dates au format ISO 8601."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    },
}

# Uploads (files/safety.py) and the rendering of Word templates (documents/rendering/limits.py): what a file or a template may
# cost the server (README "Limites des envois de fichiers"). The environment may override each with a whole number.
UPLOAD_AND_TEMPLATE_LIMITS = {
    # A zip (docx, odt): entries, bytes once decompressed in all and per part, compression ratio of a part of more
    # than 1 MiB; images (a logo, the pictures of a document): pixels.
    "UPLOAD_MAX_ENTRIES": 1000,
    "UPLOAD_MAX_UNCOMPRESSED": 50 * 1024 * 1024,
    "UPLOAD_MAX_PART": 20 * 1024 * 1024,
    "UPLOAD_MAX_RATIO": 100,
    "UPLOAD_MAX_IMAGE_PIXELS": 50_000_000,
    # One render of a template (a document, or an uploaded template's validation): seconds; characters or items of
    # one string or list the template builds, and of all of them; numbers range() gives in all (nested loops
    # count); characters of one rendered part (the body, a header…).
    "TEMPLATE_RENDER_SECONDS": 10,
    "TEMPLATE_MAX_SIZE": 1_000_000,
    "TEMPLATE_MAX_BUILT": 20_000_000,
    "TEMPLATE_MAX_RANGE": 100_000,
    "TEMPLATE_MAX_OUTPUT": 20_000_000,
}
DEFAULTS.update(UPLOAD_AND_TEMPLATE_LIMITS)
INTEGER_SETTINGS += tuple(UPLOAD_AND_TEMPLATE_LIMITS)
