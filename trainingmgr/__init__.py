"""trainingmgr: the management system of a small French training organisation."""
from __future__ import annotations

import logging
import os

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import DEFAULTS, finalise, from_environment
from .extensions import bootstrap, csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
        instance_path=os.path.join(root, "instance"),
    )
    app.config.update(DEFAULTS)
    app.config.update(from_environment(app.instance_path, secret_given=bool(config and config.get("SECRET_KEY"))))
    if config:
        app.config.update(config)
    finalise(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=logging.INFO)

    from .core.legacy_urls import register_legacy_urls
    from .core.request_guards import IdConverter, reject_nul_characters

    app.url_map.converters["int"] = IdConverter
    register_legacy_urls(app)
    app.before_request(reject_nul_characters)
    _init_extensions(app)
    _init_operations(app)
    _register_blueprints(app)
    _register_cli(app)

    from .accounts.permissions import principal_context
    from .core.jinja import init_jinja
    from .core.error_handlers import register_error_handlers
    from .core.security_headers import register_favicon, register_security_headers

    init_jinja(app)
    app.context_processor(principal_context)  # user_signed_in, user_is_staff, user_is_admin on every page
    register_error_handlers(app)
    register_security_headers(app)
    register_favicon(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - exercised by every test
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every table in the metadata
    from .accounts.services import login_session_for

    db.init_app(app)
    from .audit.tracking import install as install_audit

    install_audit()  # the audit log's flush listener (audit/tracking.py)
    from .files.staging import install as install_file_staging

    install_file_staging()  # stored files take their final name when their row commits (files/staging.py)
    from .core.memo import install as install_memo

    install_memo()  # a few expensive reads kept a minute, forgotten on any committed write (core/memo.py)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def _load_user(login_id: str):
        # Checked on every request: a logged-out, expired-by-password-change or deactivated login session is gone.
        row = login_session_for(login_id)
        return row.user if row is not None else None

    @app.before_request
    def _reset_request_cache():
        g.pop("organisation", None)


def _init_operations(app: Flask) -> None:
    """Behind PROXY_FIX reverse proxies (nginx…), trust their X-Forwarded-For/-Proto/-Port/-Prefix headers, never
    X-Forwarded-Host (no link is built on the request's host: core.links.external_url); one log line per request."""
    from .ops.readiness import check_command
    from .ops.request_log import init_request_log

    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=hops, x_prefix=hops)
    init_request_log(app)
    app.cli.add_command(check_command)


def _register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .api import init_api
    from .audit.views import bp as audit_bp
    from .attendance.public import bp as signing_bp
    from .attendance.views import bp as attendance_bp
    from .billing.bpf.views import bp as bpf_bp
    from .billing.payments.views import bp as billing_payments_bp
    from .billing.schedule.views import bp as billing_schedule_bp
    from .billing.invoices.views import bp as billing_bp
    from .catalogue.views import bp as courses_bp
    from .companies.views import bp as companies_bp
    from .documents.views import bp as documents_bp
    from .documents.views import verify_bp
    from .funding import views as funding_views  # noqa: F401 - its routes join the documents blueprint
    from .enrolments.public import bp as public_enrol_bp
    from .enrolments.views import bp as enrolments_bp
    from .evaluations.acquis.views import bp as acquis_bp
    from .evaluations.needs.views import bp as needs_bp
    from .evaluations.results.views import bp as results_bp
    from .evaluations.questionnaires.views import editor_bp
    from .evaluations.surveys.views import alerts_bp
    from .evaluations.surveys.views import bp as surveys_bp
    from .files.views import bp as files_bp
    from .messaging.task_views import bp as tasks_bp
    from .messaging.views import bp as messaging_bp
    from .organisation.views import bp as organisation_bp
    from .portals.catalogue import bp as public_bp
    from .portals.company.views import bp as company_space_bp
    from .portals.trainer import history as trainer_history  # noqa: F401 - answers resources/providers.py
    from .portals.trainer.agenda_views import bp as trainer_agenda_bp
    from .portals.trainer.views import bp as trainer_space_bp
    from .privacy.views import bp as privacy_bp
    from .quality.actions.views import bp as improvement_actions_bp
    from .quality.board.views import bp as qualiopi_bp
    from .quality.checklist.views import bp as session_checklist_bp
    from .quality.complaints.public import bp as complaint_public_bp
    from .quality.complaints.views import bp as quality_requests_bp
    from .resources.views import bp as resources_bp
    from .sessions.views import bp as sessions_bp
    from .signing.public import bp as esign_bp
    from .signing.views import bp as signatures_bp
    from .subcontracting.views import bp as subcontracting_bp
    from .trainees.portal import bp as trainee_portal_bp
    from .trainees.views import bp as trainees_bp

    for bp in (accounts_bp, public_bp, courses_bp, companies_bp, files_bp, organisation_bp, resources_bp,
               sessions_bp, trainee_portal_bp, trainees_bp, enrolments_bp, public_enrol_bp,
               messaging_bp, attendance_bp, signing_bp, documents_bp, verify_bp, surveys_bp, acquis_bp, alerts_bp,
               results_bp, editor_bp, improvement_actions_bp, session_checklist_bp,
               quality_requests_bp, complaint_public_bp, qualiopi_bp, privacy_bp,
               billing_payments_bp, bpf_bp, billing_bp, audit_bp, signatures_bp, esign_bp, needs_bp, trainer_agenda_bp):
        app.register_blueprint(bp)
    app.register_blueprint(company_space_bp)  # the client-company space (portals/company/views.py)
    app.register_blueprint(trainer_space_bp)  # the trainer space (portals/trainer/views.py)
    app.register_blueprint(subcontracting_bp)  # a trainer's file, contracts and invoices (subcontracting/views.py)
    app.register_blueprint(billing_schedule_bp)  # contrats de formation's payment schedules (billing/schedule_views.py)
    app.register_blueprint(tasks_bp)  # long tasks' progress pages and files (messaging/task_views.py)
    from .quotes import views as quotes_views

    app.register_blueprint(quotes_views.bp)  # the quotes' back office (quotes/views.py)
    app.register_blueprint(quotes_views.public_bp)  # the quote request and the contact's page (quotes/views.py)
    from .automations.views import bp as automations_bp

    app.register_blueprint(automations_bp)  # the rules, the mail templates, the dry run (automations/views.py)
    from .quality.registers.views import bp as quality_registers_bp

    app.register_blueprint(quality_registers_bp)  # watch log, needs analyses, disability (quality/registers/views.py)
    from .quality.pack.views import bp as audit_pack_bp

    app.register_blueprint(audit_pack_bp)  # the « Dossier d'audit » page (quality/pack/views.py)
    from .attendance.reports.views import bp as attendance_reports_bp

    app.register_blueprint(attendance_reports_bp)  # meeting tools' attendance reports (attendance/reports/views.py)
    init_api(app)


def _register_cli(app: Flask) -> None:
    from .accounts.cli import token_cli, user_cli
    from .attendance.cli import attendance_cli
    from .automations.cli import automations_cli
    from .demo.cli import demo_cli
    from .documents.conversion.cli import pdf_cli
    from .documents.packs.cli import documents_cli
    from .files.cli import files_cli
    from .messaging.cli import mail_cli, tick, worker
    from .messaging.export_cli import exports_cli
    from .ops.cli import backup_cli
    from .privacy.cli import gdpr_cli
    from .quality.cli import quality_cli
    from .sessions.cli import sessions_cli
    from .signing.cli import signing_cli

    for group in (user_cli, token_cli, demo_cli, sessions_cli, mail_cli, tick, worker, attendance_cli, gdpr_cli,
                  backup_cli, signing_cli, pdf_cli, files_cli, documents_cli, exports_cli, automations_cli,
                  quality_cli):
        app.cli.add_command(group)
