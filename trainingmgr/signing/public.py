"""The signatory's pages (no account), mobile-first, reached by the personal link only.

/signature/<token>                  the document's pages, the code request, the signature and the refusal
/signature/<token>/page-<n>.png     a page of the document as last signed, drawn for the phone
/signature/<token>/document.pdf     the same file, to read in a PDF reader
/signature/<token>/code  (POST)     e-mail a one-time code
/signature/<token>/signer (POST)    sign: code, drawing or typed name, consent
/signature/<token>/refuser (POST)   refuse, with a reason

A bad link answers 403 (tampered, foreign) or 410 (expired, replaced, spent) with a French page, and records
nothing. POSTs are rate-limited per link.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for

from ..core.errors import DomainError, NotFoundError
from ..core.tokens import log_safe_key
from ..core.responses import attachment, fail
from ..extensions import db, limiter
from ..messaging.services import send_now
from . import access, mails, services
from .forms import ActionForm, RefuseForm, SignForm
from .models import Signatory

bp = Blueprint("esign", __name__, url_prefix="/signature")

PAGE_WIDTH = 900
_PAGES: OrderedDict[str, list[bytes]] = OrderedDict()  # SHA-256 of a revision → its pages as PNG
_PAGES_LOCK = threading.Lock()
PAGES_CACHED = 8


def _per_link() -> str:
    return log_safe_key("esign", request.view_args.get("token", ""))


def _sign_limit() -> str:
    return current_app.config["SIGNATURE_SIGN_RATE_LIMIT"]


def _code_limit() -> str:
    return current_app.config["SIGNATURE_CODE_RATE_LIMIT"]


def _client() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


def _signatory(token: str) -> Signatory:
    signatory = access.read_link(token)
    if services.expire_if_due(signatory.request):
        db.session.commit()
    access.check_open(signatory)
    return signatory


def _page(signatory: Signatory, token: str, sign_form=None, refuse_form=None, status: int = 200):
    signature_request = signatory.request
    return render_template(
        "signing/page.html", signatory=signatory, request=signature_request, document=signature_request.document,
        token=token, pages=len(_pages(signature_request)), form=sign_form or SignForm(),
        refuse_form=refuse_form or RefuseForm(),
        code_sent=bool(signatory.code_hash)), status


def _pages(signature_request) -> list[bytes]:
    from . import pades  # pyHanko loads at the first signature, not at start-up

    revision = signature_request.revisions[-1]
    with _PAGES_LOCK:
        if revision.sha256 in _PAGES:
            _PAGES.move_to_end(revision.sha256)
            return _PAGES[revision.sha256]
    try:
        pages = pades.render_pages(services.latest_pdf(signature_request), width=PAGE_WIDTH)
    except pades.SigningError as exc:
        fail(409, exc.message)
    with _PAGES_LOCK:
        _PAGES[revision.sha256] = pages
        while len(_PAGES) > PAGES_CACHED:
            _PAGES.popitem(last=False)
    return pages


@bp.route("/<token>")
def page(token: str):
    signatory = _signatory(token)
    return _page(signatory, token)


@bp.route("/<token>/page-<int:number>.png")
def page_image(token: str, number: int):
    signatory = _signatory(token)
    pages = _pages(signatory.request)
    if not 1 <= number <= len(pages):
        raise NotFoundError("Cette page n'existe pas.")
    response = make_response(pages[number - 1])
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<token>/document.pdf")
def document(token: str):
    signatory = _signatory(token)
    return attachment(services.latest_pdf(signatory.request), f"{signatory.request.document.number}.pdf",
                      "application/pdf")


@bp.route("/<token>/code", methods=["POST"])
@limiter.limit(_code_limit, key_func=_per_link)
def code(token: str):
    signatory = _signatory(token)
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    one_time = access.issue_code(signatory)
    message = mails.one_time_code(signatory, one_time)
    db.session.commit()
    send_now(message.id)
    flash(f"Un code à 6 chiffres vient d'être envoyé à {signatory.email}. Il est valable "
          f"{current_app.config['SIGNATURE_CODE_MINUTES']} minutes.", "success")
    return redirect(url_for("esign.page", token=token) + "#signer")


@bp.route("/<token>/signer", methods=["POST"])
@limiter.limit(_sign_limit, key_func=_per_link)
def sign(token: str):
    signatory = _signatory(token)
    form = SignForm()
    if not form.validate_on_submit():
        return _page(signatory, token, sign_form=form, status=400 if form.csrf_token.errors else 422)
    given = services.SignatureInput(code=form.code.data or "", drawing=form.signature.data or "",
                                    typed_name=form.typed_name.data or "", consent=bool(form.consent.data),
                                    **_client())
    try:
        services.sign(signatory, given)
    except DomainError as exc:
        db.session.rollback()
        if exc.status_code in (403, 410) or not exc.fields:
            raise
        form.apply_errors(exc)
        return _page(db.session.get(Signatory, signatory.id), token, sign_form=form, status=exc.status_code)
    db.session.commit()
    return render_template("signing/done.html", signatory=signatory, document=signatory.request.document,
                           request=signatory.request)


@bp.route("/<token>/refuser", methods=["POST"])
@limiter.limit(_sign_limit, key_func=_per_link)
def refuse(token: str):
    signatory = _signatory(token)
    form = RefuseForm()
    if not form.validate_on_submit():
        return _page(signatory, token, refuse_form=form, status=400 if form.csrf_token.errors else 422)
    try:
        services.refuse(signatory, form.reason.data or "", **_client())
    except DomainError as exc:
        db.session.rollback()
        if not exc.fields:
            raise
        form.apply_errors(exc)
        return _page(db.session.get(Signatory, signatory.id), token, refuse_form=form, status=exc.status_code)
    db.session.commit()
    return render_template("signing/done.html", signatory=signatory, document=signatory.request.document,
                           request=signatory.request, refused=True)
