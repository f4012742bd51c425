"""The trainees' signing pages (no account): one mobile-first page reached three ways.

/emargement/<token>                          personal link (e-mailed at the slot's opening, on the personal page)
/emargement/<token>/code, …/verifier         a virtual half-day: the one-time code e-mailed, then typed, before
                                             each of its two signatures (the start, the second part)
/emargement/<token>/temps                    an asynchronous half-day: the time spent, declared
/emargement/<token>/quiz                     …and its quiz, answered
/emargement/qr/<slot>/<code>                 the room's rotating QR code: choose your name…
/emargement/qr/<slot>/code                   …type the one-time code e-mailed to you…
/emargement/qr/<slot>/signer                 …and sign (or straight here if this phone opened your link before)

The kiosk (the trainer's device) is in views.py, behind the trainer's login. Refused attempts are logged
(services.refused); POSTs are rate-limited per link or per trainee, not per IP (a class shares one Wi-Fi).
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from ..core.errors import DomainError, PermissionDenied
from ..core.forms import choices
from ..core.responses import fail
from ..core.tokens import log_safe_key
from ..core.view_actions import form_page, run_form
from ..enrolments.models import Enrolment, EnrolmentStatus
from ..evaluations.questionnaires.forms import answers_form
from ..evaluations.surveys.services import hot_invitation_on_site, survey_url
from ..extensions import db, limiter
from ..messaging.services import send_now
from ..sessions.models import SlotModality
from . import access, mails, services
from .forms import ActionForm, CodeForm, DeclarationForm, IdentifyForm, SignatureForm
from .models import WindowState

bp = Blueprint("signing", __name__, url_prefix="/emargement")

DEVICE_COOKIE = "tm_signer"
QR_SCAN_SECONDS = 15 * 60  # how long after scanning the code one may pick a name and type the code


def _client() -> dict:
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


def _sign_limit() -> str:
    return current_app.config["ATTENDANCE_SIGN_RATE_LIMIT"]


def _code_limit() -> str:
    return current_app.config["ATTENDANCE_CODE_RATE_LIMIT"]


def _qr_limit() -> str:
    return current_app.config["ATTENDANCE_QR_RATE_LIMIT"]


def _per_link() -> str:
    return log_safe_key("sign", request.view_args.get("token", ""))


def _per_signer() -> str:
    signer = session.get("att_signer") or {}
    return f"signer:{signer.get('e')}:{request.view_args.get('slot_id')}"


def _per_chosen_trainee() -> str:
    return f"code:{request.form.get('enrolment_id', '')}:{request.view_args.get('slot_id')}"


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="trainingmgr.attendance-device")


def _remember_device(response, trainee_id: int):
    """This phone opened the trainee's own link: the room's QR code will recognise them without a code."""
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps({"t": trainee_id}),
                        max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _device_trainee() -> int | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        payload = _device_serializer().loads(raw)
    except BadSignature:
        services.refused("cookie d'appareil falsifié", ip=request.remote_addr)
        return None
    trainee_id = payload.get("t") if isinstance(payload, dict) else None
    return trainee_id if isinstance(trainee_id, int) else None


def window_flags(slot) -> dict:
    """Where now stands against ``slot``'s signing window, as the pages test it (a template never compares the
    state itself)."""
    state = services.window_state(slot)
    return {"window_before": state == WindowState.BEFORE.value, "window_open": state == WindowState.OPEN.value,
            "window_closed": state == WindowState.CLOSED.value}


def _sign_page(form, slot, enrolment, *, method: str, action: str, status: int | None = None,
               last: bool | None = None, **extra):
    signature = services.signature_of(slot, enrolment)
    locked = services.countersignature(slot) is not None
    survey = _survey_after_last_signature(slot, enrolment, last) if signature is not None else None
    page, code = form_page("attendance/sign.html", form, slot=slot, session=slot.session, enrolment=enrolment,
                           trainee=enrolment.trainee, signature=signature, locked=locked, **window_flags(slot),
                           window=services.window(slot), method=method, action=action, survey=survey, **extra)
    return page, status or code


def _is_last_slot(slot) -> bool:
    return services.is_last_slot(slot)


def _survey_after_last_signature(slot, enrolment, last: bool | None = None):
    """(url, answered) of the hot survey offered once the trainee has signed the session's last half-day."""
    if last is None:
        last = _is_last_slot(slot)
    invitation = hot_invitation_on_site(slot.session, enrolment, create=False) if last else None
    if invitation is None:
        return None
    return {"url": survey_url(invitation), "answered": invitation.responded_at is not None}


def _do_sign(form, slot, enrolment, method: str, actor=None, last: bool | None = None, second: bool = False):
    """Run the signature (``second``: the second part of a virtual half-day); (True, record) once committed, or
    (False, None) with the problem on the form. ``last``: whether the slot is the session's last, when the caller
    knows it. After the commit, the loaded rows are expired: the caller builds its answer from values read before
    (no reload)."""
    if not form.validate_on_submit():
        return False, None
    sign = services.sign_check if second else services.sign
    try:
        record = sign(slot, enrolment, method=method, actor=actor, **form.signature_data(), **_client())
    except DomainError as exc:
        db.session.rollback()
        form.apply_errors(exc)
        return False, None
    if not second and (_is_last_slot(slot) if last is None else last):  # the end of the session: the hot survey

        hot_invitation_on_site(slot.session, enrolment)
    db.session.commit()
    return True, record


# --------------------------------------------------------------------------- personal link


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(_sign_limit, key_func=_per_link, methods=["POST"])
def by_link(token: str):
    enrolment_id, slot_id = access.read_signing_token(token)
    enrolment, slot, last = services.signing_pair(enrolment_id, slot_id, lock=request.method == "POST")
    if enrolment is None:
        fail(404, "Inscription introuvable.")
    trainee_id = enrolment.trainee_id
    if slot.modality == SlotModality.ASYNC.value:
        if request.method == "POST":
            fail(409, "Cette demi-journée est une activité à distance : déclarez le temps que vous y avez passé.")
        return _remember_device(make_response(*_activity_page(token, slot, enrolment)), trainee_id)
    form = SignatureForm()
    if request.method == "POST":
        second = False
        if slot.modality == SlotModality.VIRTUAL.value:  # each signature of a virtual half-day needs its code
            second = services.signature_of(slot, enrolment) is not None
            if not _code_verified(slot.id, enrolment.id, "chk" if second else "sig"):
                services.refused("signature à distance sans code", enrolment=enrolment.id, slot=slot.id,
                                 ip=request.remote_addr)
                fail(403, "Saisissez d'abord le code reçu par e-mail.")
        ok, _ = _do_sign(form, slot, enrolment, "link", last=last, second=second)
        if ok:  # the page then says "Vous avez signé ce créneau le …"
            session.pop(LINK_CODE_KEY, None)
            return _remember_device(redirect(url_for("signing.by_link", token=token)), trainee_id)
    elif enrolment.session_id != slot.session_id:  # a forged pair cannot get here (signed token); belt and braces
        raise PermissionDenied("Ce lien ne permet pas de signer ce créneau.")
    page, status = _link_page(token, form, slot, enrolment, last)
    return _remember_device(make_response(page, status), trainee_id)


def _link_page(token: str, form, slot, enrolment, last=None, code_form=None, status=None):
    """The signing page of a personal link; for a virtual half-day, with the one-time code's step and the second
    signature."""
    extra = _virtual_context(token, slot, enrolment, code_form) if slot.modality == SlotModality.VIRTUAL.value else {}
    return _sign_page(form, slot, enrolment, method="link", action=url_for("signing.by_link", token=token),
                      last=last, status=status, **extra)


# --------------------------------------------------------------------------- a virtual half-day: the one-time code

LINK_CODE_KEY = "att_link_code"


def _code_verified(slot_id: int, enrolment_id: int, part: str) -> bool:
    """Whether this browser typed, less than QR_SCAN_SECONDS ago, the code for that signature of the slot."""
    marker = session.get(LINK_CODE_KEY) or {}
    return (marker.get("s") == slot_id and marker.get("e") == enrolment_id and marker.get("p") == part
            and bool(marker.get("ok")) and time.time() - marker.get("ok", 0) < QR_SCAN_SECONDS)


def _code_sent(slot_id: int, enrolment_id: int, part: str | None) -> bool:
    marker = session.get(LINK_CODE_KEY) or {}
    return (marker.get("s") == slot_id and marker.get("e") == enrolment_id and marker.get("p") == part
            and time.time() - marker.get("sent", 0) < QR_SCAN_SECONDS)


def _virtual_context(token: str, slot, enrolment, code_form=None) -> dict:
    """What the page of a virtual half-day adds: its second signature, and which step of the code is due."""
    signature = services.signature_of(slot, enrolment)
    check = services.check_of(slot, enrolment) if signature is not None else None
    second_open = services.second_part_open(slot)
    part = "sig" if signature is None else ("chk" if check is None and second_open else None)
    return {"virtual": True, "check": check, "second_opens": services.second_part_opens(slot),
            "second_open": second_open, "part": part,
            "code_ok": part is not None and _code_verified(slot.id, enrolment.id, part),
            "code_sent": _code_sent(slot.id, enrolment.id, part),
            "code_form": code_form or CodeForm(formdata=None), "send_form": ActionForm(formdata=None),
            "send_action": url_for("signing.link_send_code", token=token),
            "code_action": url_for("signing.link_check_code", token=token)}


def _link_pair(token: str):
    enrolment_id, slot_id = access.read_signing_token(token)
    enrolment, slot, last = services.signing_pair(enrolment_id, slot_id)
    if enrolment is None:
        fail(404, "Inscription introuvable.")
    if enrolment.session_id != slot.session_id:
        raise PermissionDenied("Ce lien ne permet pas de signer ce créneau.")
    return enrolment, slot, last


@bp.route("/<token>/code", methods=["POST"])
@limiter.limit(_code_limit, key_func=_per_link)
def link_send_code(token: str):
    """E-mail the one-time code of the signature due now on a virtual half-day."""
    enrolment, slot, _ = _link_pair(token)
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page.")
    if slot.modality != SlotModality.VIRTUAL.value:
        fail(409, "Ce créneau se signe sans code : ouvrez de nouveau votre lien.")
    part = services.signing_part(slot, enrolment)
    code = access.issue_code(slot, enrolment, ip=request.remote_addr or "")
    message = mails.one_time_code(slot, enrolment, code)
    db.session.commit()
    send_now(message.id)
    session[LINK_CODE_KEY] = {"s": slot.id, "e": enrolment.id, "p": part, "sent": time.time()}
    return redirect(url_for("signing.by_link", token=token))


def _code_accepted(form: CodeForm, slot, enrolment) -> bool:
    """Whether the one-time code typed in ``form`` is the trainee's for ``slot`` (the caller then commits its use);
    a wrong one is rolled back and shown on the form."""
    if not form.validate_on_submit():
        return False
    try:
        access.check_code(slot, enrolment, form.code.data or "", ip=request.remote_addr or "")
    except DomainError as exc:
        db.session.rollback()
        form.apply_errors(exc)
        return False
    return True


@bp.route("/<token>/verifier", methods=["POST"])
@limiter.limit(_sign_limit, key_func=_per_link)
def link_check_code(token: str):
    """Check the one-time code typed in: the signature it was asked for may then be made from this browser."""
    enrolment, slot, last = _link_pair(token)
    marker = session.get(LINK_CODE_KEY) or {}
    if slot.modality != SlotModality.VIRTUAL.value or not _code_sent(slot.id, enrolment.id, marker.get("p")):
        fail(409, "Aucun code en cours pour vous : demandez-en un nouveau.")
    form = CodeForm()
    if _code_accepted(form, slot, enrolment):
        db.session.commit()
        session[LINK_CODE_KEY] = {**marker, "ok": time.time()}
        return redirect(url_for("signing.by_link", token=token))
    status = getattr(form, "error_status", 422) if form.errors or getattr(form, "form_errors", None) else 400
    page, _ = _link_page(token, SignatureForm(formdata=None), slot, enrolment, last, code_form=form)
    return page, status


# --------------------------------------------------------------------------- an asynchronous half-day


def _activity_page(token: str, slot, enrolment, form=None):
    """The page of an asynchronous half-day: what to do, its quiz, the time spent to declare (or declared)."""
    form = form or DeclarationForm(formdata=None)
    state = services.declaration_state(slot)
    quiz = None
    if slot.quiz_id:
        response = services.quiz_response(slot, enrolment)
        quiz = {"title": slot.quiz.title, "done": response is not None and response.submitted,
                "url": services.quiz_invitation_url(slot, enrolment) or url_for("signing.quiz", token=token)}
    return form_page("attendance/activity.html", form, slot=slot, session=slot.session, enrolment=enrolment,
                     trainee=enrolment.trainee, declaration=services.declaration_of(slot, enrolment), quiz=quiz,
                     window=services.declaration_window(slot), declaration_before=state == WindowState.BEFORE.value,
                     declaration_open=state == WindowState.OPEN.value,
                     declaration_closed=state == WindowState.CLOSED.value,
                     most=services.duration_fr(2 * int(slot.hours * 60)),
                     action=url_for("signing.declare", token=token), duration_fr=services.duration_fr)


@bp.route("/<token>/temps", methods=["POST"])
@limiter.limit(_sign_limit, key_func=_per_link)
def declare(token: str):
    enrolment, slot, _ = _link_pair(token)
    form = DeclarationForm()
    ok, _ = run_form(form, lambda: services.declare_time(
        slot, enrolment, services.parse_duration(form.hours.data, form.minutes.data), **_client()))
    if ok:
        return redirect(url_for("signing.by_link", token=token))
    return _activity_page(token, slot, enrolment, form)


@bp.route("/<token>/quiz", methods=["GET", "POST"])
@limiter.limit(_sign_limit, key_func=_per_link, methods=["POST"])
def quiz(token: str):
    """The quiz of an asynchronous half-day, answered as the positioning questionnaire is: save, then send."""
    enrolment, slot, _ = _link_pair(token)
    if slot.modality != SlotModality.ASYNC.value or slot.quiz is None:
        fail(404, "Cette demi-journée n'a pas de quiz.")
    questionnaire = slot.quiz
    response = services.quiz_response(slot, enrolment)
    form = answers_form(questionnaire, response if request.method == "GET" else None)
    submit = request.form.get("action") == "submit"
    ok, _ = run_form(form, lambda: services.answer_quiz(slot, enrolment, form.answers(), submit=submit))
    if ok:
        return redirect(url_for("signing.quiz", token=token))
    return form_page("attendance/quiz.html", form, slot=slot, session=slot.session, questionnaire=questionnaire,
                     response=response, answered=response is not None and response.submitted, token=token,
                     open=services.declaration_state(slot) == WindowState.OPEN.value)


# --------------------------------------------------------------------------- the room's QR code


def _scanned(slot_id: int) -> bool:
    scan = session.get("att_qr") or {}
    return scan.get("s") == slot_id and time.time() - scan.get("at", 0) < QR_SCAN_SECONDS


def _choices(slot):
    column = services.session_grid(slot.session).column(slot.id)
    return choices(((e.id, f"{e.trainee.first_name} {e.trainee.last_name[:1]}.")
                    for e, cell in column if e.status == EnrolmentStatus.CONFIRMED.value),
                   blank="— choisissez votre nom —")


@bp.route("/qr/<int:slot_id>/<code>")
@limiter.limit(_qr_limit)
def qr_scan(slot_id: int, code: str):
    slot = services.session_services.get_slot(slot_id)
    access.check_qr_code(slot, code, ip=request.remote_addr or "")
    services.check_window(slot)
    trainee_id = _device_trainee()
    if trainee_id is not None:
        enrolment = db.session.scalar(db.select(Enrolment).where(
            Enrolment.session_id == slot.session_id, Enrolment.trainee_id == trainee_id,
            Enrolment.is_expected))
        if enrolment is not None:
            session["att_signer"] = {"s": slot.id, "e": enrolment.id, "at": time.time()}
            return redirect(url_for("signing.qr_signer", slot_id=slot.id))
    session["att_qr"] = {"s": slot.id, "at": time.time()}
    form = IdentifyForm()
    form.enrolment_id.choices = _choices(slot)
    return render_template("attendance/identify.html", form=form, slot=slot, session=slot.session)


@bp.route("/qr/<int:slot_id>/identifier", methods=["POST"])
@limiter.limit(_qr_limit)
@limiter.limit(_code_limit, key_func=_per_chosen_trainee)
def qr_identify(slot_id: int):
    slot = services.session_services.get_slot(slot_id)
    if not _scanned(slot.id):
        services.refused("choix du nom sans QR code scanné", slot=slot.id, ip=request.remote_addr)
        fail(403, "Scannez d'abord le QR code affiché dans la salle.")
    form = IdentifyForm()
    form.enrolment_id.choices = _choices(slot)
    if not form.validate_on_submit() or form.enrolment_id.data not in {c.value for c in form.enrolment_id.choices if c.value}:
        form.enrolment_id.errors = ["Choisissez votre nom dans la liste."]
        return render_template("attendance/identify.html", form=form, slot=slot, session=slot.session), 422
    enrolment = db.session.get(Enrolment, int(form.enrolment_id.data))
    code = access.issue_code(slot, enrolment, ip=request.remote_addr or "")
    message = mails.one_time_code(slot, enrolment, code)
    db.session.commit()
    send_now(message.id)
    session["att_qr"] = {"s": slot.id, "at": session["att_qr"]["at"], "e": enrolment.id}
    return redirect(url_for("signing.qr_code", slot_id=slot.id))


@bp.route("/qr/<int:slot_id>/code", methods=["GET", "POST"])
@limiter.limit(_qr_limit)
def qr_code(slot_id: int):
    slot = services.session_services.get_slot(slot_id)
    scan = session.get("att_qr") or {}
    if not _scanned(slot.id) or not scan.get("e"):
        fail(403, "Scannez d'abord le QR code affiché dans la salle.")
    enrolment = db.session.get(Enrolment, scan["e"])
    form = CodeForm()
    if _code_accepted(form, slot, enrolment):
        enrolment_id, trainee_id = enrolment.id, enrolment.trainee_id
        db.session.commit()
        session.pop("att_qr", None)
        session["att_signer"] = {"s": slot_id, "e": enrolment_id, "at": time.time()}
        return _remember_device(redirect(url_for("signing.qr_signer", slot_id=slot_id)), trainee_id)
    return form_page("attendance/code.html", form, slot=slot, session=slot.session, enrolment=enrolment)


@bp.route("/qr/<int:slot_id>/signer", methods=["GET", "POST"])
@limiter.limit(_sign_limit, key_func=_per_signer, methods=["POST"])
def qr_signer(slot_id: int):
    signer = session.get("att_signer") or {}
    if signer.get("s") != slot_id or time.time() - signer.get("at", 0) > QR_SCAN_SECONDS:
        services.session_services.get_slot(slot_id)  # an unknown slot: 404
        services.refused("signature par QR code sans identification", slot=slot_id, ip=request.remote_addr)
        fail(403, "Scannez d'abord le QR code affiché dans la salle.")
    enrolment, slot, last = services.signing_pair(signer["e"], slot_id, lock=request.method == "POST")
    if enrolment is None:
        fail(403, "Scannez d'abord le QR code affiché dans la salle.")
    form = SignatureForm()
    if request.method == "POST":
        ok, _ = _do_sign(form, slot, enrolment, "qr", last=last)
        if ok:
            return redirect(url_for("signing.qr_signer", slot_id=slot_id))
    page, status = _sign_page(form, slot, enrolment, method="qr", action=url_for("signing.qr_signer", slot_id=slot_id),
                              last=last)
    return page, status


@bp.route("/qr/<int:slot_id>/pas-moi", methods=["POST"])
def qr_not_me(slot_id: int):
    """A phone lent by another trainee: forget who it belongs to, then scan the room's code again."""
    form = SignatureForm()
    if not form.validate_on_submit():
        fail(400, "Le formulaire a expiré : scannez de nouveau le QR code.")
    session.pop("att_signer", None)
    session.pop("att_qr", None)
    response = make_response(render_template("attendance/not_me.html"))
    response.delete_cookie(DEVICE_COOKIE)
    return response
