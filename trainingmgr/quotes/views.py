"""The quotes' pages.

Back office (staff):
/quotes/                          the list, by status and search
/quotes/new, /quotes/<id>/edit    a draft
/quotes/<id>                      lines, trainees, dates, files, the buttons of its status, what the acceptance made
/quotes/<id>/send|reopen          one-button steps; /accept (the signed file), /refuse (a reason): form pages
/quotes/<id>/file.<pdf|docx>      the document sent; /quotes/<id>/signed: the signed copy received
/quotes/pipeline                  stages, expiring this week, conversion; pipeline.<csv|xlsx>: its export (a task)

Public (no account):
/catalogue/<slug>/devis           a company contact asks for a quote (seats in a listed session, or an intra session)
/devis/<token>                    the contact's page: read, download, accept online (« Bon pour accord ») or refuse
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..catalogue import services as catalogue
from ..core.formatting import count_fr
from ..core.paging import Page, page_arg
from ..core.responses import attachment, fail
from ..core.timeutil import paris_today
from ..core.tokens import log_safe_key
from ..core.view_actions import form_page, run_action, run_form
from ..extensions import db, limiter
from ..messaging import exports
from ..sessions.models import ENROLLABLE
from ..sessions.services import upcoming_public_sessions
from ..sessions.services.queries import public_sessions
from . import acceptance, pipeline, services
from .document import read_quote_file
from .forms import (
    AcceptForm,
    OnlineAcceptForm,
    OnlineRefuseForm,
    PublicQuoteForm,
    QuoteForm,
    RefuseForm,
    extras_text,
    trainees_text,
)
from .links import quote_url
from .models import QUOTE_STATUSES, LineKind, Quote

bp = Blueprint("quotes", __name__, url_prefix="/quotes")
public_bp = Blueprint("quote_public", __name__)

MIME = {"pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


# --------------------------------------------------------------------------- back office


@bp.route("/")
@staff_required
def index():
    status = request.args.get("status", "").strip()
    if status and status not in QUOTE_STATUSES:
        fail(400, "Statut de devis inconnu : choisissez-en un dans la liste.")
    search = request.args.get("q", "").strip()[:100]
    page = page_arg()
    rows, total = services.list_quotes(status=status or None, search=search, page=page, per_page=50)
    args = {k: v for k, v in (("status", status), ("q", search)) if v}
    return render_template("quotes/index.html", listing=Page(list(rows), total, page, 50), status=status,
                           search=search, statuses=QUOTE_STATUSES, args=args)


def _quote_form(quote: Quote | None = None) -> QuoteForm:
    form = QuoteForm() if request.method == "POST" else QuoteForm(data=_form_data(quote) if quote else None)
    courses = catalogue.list_courses()
    sessions = public_sessions(statuses=ENROLLABLE, date_from=paris_today())
    if quote is not None and quote.session is not None and quote.session not in sessions:
        sessions = [quote.session, *sessions]
    form.set_choices([c for c in courses if not c.is_archived or (quote and c.id == quote.course_id)], sessions)
    return form


def _form_data(quote: Quote) -> dict:
    seats_line = next((line for line in quote.lines if line.kind == LineKind.SEATS.value), None)
    intra_line = next((line for line in quote.lines if line.kind == LineKind.INTRA.value), None)
    return {
        "kind": quote.kind, "course_id": str(quote.course_id), "session_id": str(quote.session_id or ""),
        "company_name": quote.company.name, "company_siret": quote.company.siret or "",
        "contact_name": quote.contact_name, "contact_email": quote.contact_email,
        "contact_phone": quote.contact_phone, "seats": quote.seats, "headcount": quote.headcount,
        "seat_price": seats_line.unit_price if seats_line else None,
        "intra_price": intra_line.unit_price if intra_line else None,
        "trainees": trainees_text(quote.trainees), "extras": extras_text(quote.lines),
        "wished_period": quote.wished_period, "wished_place": quote.wished_place,
        "valid_until": quote.valid_until.strftime("%d/%m/%Y") if quote.valid_until else "",
        "conditions": quote.conditions, "notes": quote.notes, "request_message": quote.request_message,
    }


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    services.ensure_can_manage_quotes(current_user)
    form = _quote_form()
    if not form.is_submitted() and request.args.get("course_id", "").isdigit():
        form.course_id.data = request.args["course_id"]
    ok, quote = run_form(form, lambda: services.create_quote(form.data_for_service(), current_user))
    if ok:
        flash(f"Devis {quote.number} enregistré en brouillon.", "success")
        return redirect(url_for("quotes.show", quote_id=quote.id))
    return form_page("quotes/form.html", form, quote=None)


@bp.route("/<int:quote_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    if not quote.is_draft:
        flash("Ce devis n'est plus un brouillon : « Modifier » le remet en brouillon avant de le changer."
              if quote.is_sent else "Ce devis est clos : il ne peut plus être modifié.", "warning")
        return redirect(url_for("quotes.show", quote_id=quote.id))
    form = _quote_form(quote)
    ok, _ = run_form(form, lambda: services.update_quote(quote, form.data_for_service(), current_user))
    if ok:
        flash(f"Devis {quote.number} enregistré.", "success")
        return redirect(url_for("quotes.show", quote_id=quote.id))
    return form_page("quotes/form.html", form, quote=quote)


@bp.route("/<int:quote_id>")
@staff_required
def show(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    return render_template("quotes/show.html", quote=quote, token_url=_contact_url(quote))


def _contact_url(quote: Quote) -> str | None:
    """The contact's personal page, shown to the advisor once the quote is sent (the link e-mailed)."""
    if not quote.is_sent or not quote.link_nonce:
        return None
    return quote_url(quote)


@bp.route("/<int:quote_id>/send", methods=["POST"])
@staff_required
def send(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    return run_action(lambda: services.send_quote(quote, current_user),
                      lambda: f"Devis {quote.number} envoyé à {quote.contact_email}.",
                      url_for("quotes.show", quote_id=quote.id))


@bp.route("/<int:quote_id>/reopen", methods=["POST"])
@staff_required
def reopen(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    return run_action(lambda: services.reopen_quote(quote, current_user),
                      f"Devis {quote.number} remis en brouillon : le renvoyer en fera une nouvelle version.",
                      url_for("quotes.edit", quote_id=quote.id))


@bp.route("/<int:quote_id>/accept", methods=["GET", "POST"])
@staff_required
def accept(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    form = AcceptForm()
    ok, result = run_form(form, lambda: acceptance.accept_quote(
        quote, current_user, signed_file=form.signed_file.data or None,
        accepted_by_name=form.accepted_by_name.data or "", mode="recorded"))
    if ok:
        flash(_accepted_message(result), "success")
        if result.waitlisted:
            flash(f"Session complète entre-temps : {count_fr(len(result.waitlisted), 'stagiaire')} en liste d'attente "
                  "(le contact est prévenu).", "warning")
        for note in result.notes:
            flash(note, "info")
        return redirect(url_for("quotes.show", quote_id=quote.id))
    return form_page("quotes/accept.html", form, quote=quote)


def _accepted_message(result) -> str:
    quote = result.quote
    if result.enrolments or result.waitlisted:
        return (f"Devis {quote.number} accepté : {count_fr(len(result.enrolments), 'inscription confirmée', 'inscriptions confirmées')} "
                "au prix du devis.")
    if result.session is not None:
        return f"Devis {quote.number} accepté : la session intra est créée en brouillon."
    return f"Devis {quote.number} accepté."


@bp.route("/<int:quote_id>/refuse", methods=["GET", "POST"])
@staff_required
def refuse(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    form = RefuseForm()
    ok, _ = run_form(form, lambda: services.refuse_quote(quote, form.reason.data or "", current_user))
    if ok:
        flash(f"Devis {quote.number} refusé.", "success")
        return redirect(url_for("quotes.show", quote_id=quote.id))
    return form_page("quotes/refuse.html", form, quote=quote)


@bp.route("/<int:quote_id>/file.<any(pdf, docx):kind>")
@staff_required
def file(quote_id: int, kind: str):
    quote = services.get_quote(quote_id, current_user)
    return attachment(read_quote_file(quote, kind)[0], f"{quote.number}.{kind}", MIME[kind])


@bp.route("/<int:quote_id>/signed")
@staff_required
def signed(quote_id: int):
    quote = services.get_quote(quote_id, current_user)
    data, stored = read_quote_file(quote, "signed")
    return attachment(data, stored.original_name, stored.content_type)


@bp.route("/pipeline")
@staff_required
def pipeline_page():
    services.ensure_can_manage_quotes(current_user)
    return render_template("quotes/pipeline.html", pipeline=pipeline.pipeline(paris_today()))


@bp.route("/pipeline.<any(csv, xlsx):fmt>", methods=["POST"])
@staff_required
def pipeline_export(fmt: str):
    """Every quote, made by an export task (quotes/pipeline.py)."""
    services.ensure_can_manage_quotes(current_user)
    return exports.export_response("quotes_pipeline", {"fmt": fmt}, current_user, url_for("quotes.pipeline_page"))


# --------------------------------------------------------------------------- public: the request


def _public_limit() -> str:
    return current_app.config["PUBLIC_FORM_RATE_LIMIT"]


@public_bp.route("/catalogue/<slug>/devis", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"])
def request_form(slug: str):
    course = catalogue.get_published_course(slug)
    sessions = [s for s in upcoming_public_sessions(course) if s.takes_enrolments]
    if not services.can_be_requested(course, sessions):
        fail(404, "Aucune session de cette formation n'est ouverte aux inscriptions : écrivez-nous pour connaître "
                  "les prochaines dates.")
    form = PublicQuoteForm()
    form.set_sessions(sessions)
    intra = services.offers_intra(course)
    if not intra:  # a course sold in inter-company sessions only: seats in one of them
        form.kind.choices = [c for c in form.kind.choices if c.value != "intra"]
    if not form.is_submitted():
        if not sessions:
            form.kind.data = "intra"
        elif request.args.get("session", "").isdigit():
            form.session_id.data = request.args["session"]
    if form.is_submitted() and form.website.data:
        # A robot filled the hidden field: answer as if all went well, keep nothing.
        return render_template("quotes/public_thanks.html", course=course)
    ok, _ = run_form(form, lambda: services.request_quote(course, form.data_for_service()))
    if ok:
        return render_template("quotes/public_thanks.html", course=course)
    return form_page("quotes/public_request.html", form, course=course, sessions=sessions, intra=intra)


# --------------------------------------------------------------------------- public: the contact's page


def _per_link() -> str:
    return log_safe_key("quote", request.view_args.get("token", ""))


def _contact_page(quote: Quote, token: str, accept_form=None, refuse_form=None, status: int = 200):
    return render_template("quotes/contact.html", quote=quote, token=token,
                           accept_form=accept_form or OnlineAcceptForm(formdata=None),
                           refuse_form=refuse_form or OnlineRefuseForm(formdata=None, prefix="refuse")), status


@public_bp.route("/devis/<token>")
def page(token: str):
    quote = services.quote_from_token(token)
    return _contact_page(quote, token)


@public_bp.route("/devis/<token>/devis.<any(pdf, docx):kind>")
def document(token: str, kind: str):
    quote = services.quote_from_token(token)
    return attachment(read_quote_file(quote, kind)[0], f"{quote.number}.{kind}", MIME[kind])


@public_bp.route("/devis/<token>/accepter", methods=["POST"])
@limiter.limit(_public_limit, key_func=_per_link)
def accept_online(token: str):
    quote = services.quote_from_token(token)
    services.check_step(quote, "accept")  # answered already: a 409 page, whatever the form holds
    form = OnlineAcceptForm()
    ok, _ = run_form(form, lambda: acceptance.accept_online(
        quote, form.name.data or "", ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")))
    if ok:
        flash("Merci : votre accord est enregistré. Votre conseiller formation revient vers vous pour la suite.",
              "success")
        return redirect(url_for("quote_public.page", token=token))
    return _refused_page(quote, token, form, accept=True)


@public_bp.route("/devis/<token>/refuser", methods=["POST"])
@limiter.limit(_public_limit, key_func=_per_link)
def refuse_online(token: str):
    quote = services.quote_from_token(token)
    services.check_step(quote, "refuse")  # answered already: a 409 page, whatever the form holds
    form = OnlineRefuseForm(prefix="refuse")
    ok, _ = run_form(form, lambda: services.refuse_quote(quote, form.reason.data or "", None, online=True))
    if ok:
        flash("Votre réponse est enregistrée : merci de nous avoir répondu.", "success")
        return redirect(url_for("quote_public.page", token=token))
    return _refused_page(quote, token, form, accept=False)


def _refused_page(quote: Quote, token: str, form, *, accept: bool):
    """The contact's page again with the refused form's messages: 422, or 409 when the quote's state forbids it."""
    status = getattr(form, "error_status", 422)
    db.session.expire_all()  # what the rolled back attempt left on the quote
    quote = services.quote_from_token(token)
    if accept:
        return _contact_page(quote, token, accept_form=form, status=status)
    return _contact_page(quote, token, refuse_form=form, status=status)

