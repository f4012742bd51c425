"""The permission matrix: every route of ``app.url_map`` requested as each kind of visitor, against the table of
expected outcomes below. A route missing from the table fails the test, so that no route is ever added unguarded.

Visitors: anonymous; a trainee holding their personal links (no account: they are anonymous everywhere else);
the trainer of the sample session (Pierre, who teaches the demo sessions); another trainer (Paula, who does not);
an advisor; an admin. API routes: no token, a trainer's token, an advisor's token, an admin's token.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.extensions import db

# --------------------------------------------------------------------------- the table

PUBLIC = "public"  # anyone, no login (the view may still refuse a bad QR code or code: never a login redirect)
TOKEN = "token"  # anyone holding the signed link in the URL; a forged link is refused (4xx), no login
LOGIN = "login"  # any account (advisor, trainer, admin): anonymous → /login
OWN = "trainer-own"  # advisor/admin, or the trainer teaching the object's session; another trainer → 403
TEACHER = "teacher"  # only the trainer teaching the session (countersigning, marking): everyone else → 403
QR = "qr-code"  # signing by the room's QR code, no login: refused (4xx) without a valid scanned code
STAFF = "staff"  # advisor/admin only: anonymous → /login, trainers → 403
ADMIN = "admin"  # admin only: anonymous → /login, trainers and advisors → 403
API_PUBLIC = "api-public"  # the JSON API without a token
API_STAFF = "api-advisor"  # bearer token of an advisor/admin: 401 without, 403 with a trainer's
SELF = "own-account"  # any account, on itself only (changes its password, logs itself out everywhere): anonymous →
# /login; not sent by the matrix's accounts, whose sessions it would end (tests/accounts/test_login_sessions.py)
SIGN_LINK = "signing-link"  # a signatory's personal link, no login: a forged link answers 403 to everyone, logged in
# or not (never a login redirect, never a 500)
TRAINER_LINK = "trainer-link"  # the trainer space's personal link (portals/trainer/space.py), no login: a forged link
# answers 403 to everyone, logged in or not, as SIGN_LINK

RULES: dict[str, str | dict[str, str]] = {
    # public pages and assets
    "/static/<path:filename>": PUBLIC,
    "/bootstrap/static/<path:filename>": PUBLIC,
    "/favicon.ico": PUBLIC,
    "/login": PUBLIC,
    "/logout": PUBLIC,
    "/password/forgot": PUBLIC,
    "/password/reset/<token>": TOKEN,
    "/catalogue/": PUBLIC,
    "/catalogue/<slug>": PUBLIC,
    "/catalogue/<slug>/versions/<int:number>": PUBLIC,
    "/catalogue/<slug>/sessions/<int:session_id>.ics": PUBLIC,
    "/catalogue/<slug>/sessions/<int:session_id>/inscription": PUBLIC,
    "/files/logo": PUBLIC,
    "/verify": PUBLIC,
    "/verify/<code>": PUBLIC,
    "/verify/<code>/scellement.json": PUBLIC,
    "/reclamation": PUBLIC,
    "/reclamation/espace/<token>": TOKEN,
    "/reclamation/suivi/<token>": TOKEN,
    "/s/<token>": TOKEN,
    "/t/<token>": TOKEN,
    "/t/<token>/positionnement": TOKEN,
    "/t/<token>/absences": TOKEN,
    "/t/<token>/documents/<int:document_id>.<kind>": TOKEN,
    # the client-company space: a company contact's personal link is the key (another company's ids: 403)
    "/entreprise/<token>": TOKEN,
    "/entreprise/<token>/factures": TOKEN,
    "/entreprise/<token>/sessions/<int:session_id>": TOKEN,
    "/entreprise/<token>/inscriptions/<int:enrolment_id>": TOKEN,
    "/entreprise/<token>/documents/<int:document_id>.<any(docx, pdf):kind>": TOKEN,
    "/entreprise/<token>/documents/<int:document_id>/signe.pdf": TOKEN,
    "/entreprise/<token>/factures/<int:invoice_id>.<any(pdf, xml, docx):kind>": TOKEN,
    "/emargement/<token>": TOKEN,
    # electronic signature of documents: the signatory's personal link is the key
    "/signature/<token>": SIGN_LINK,
    "/signature/<token>/code": SIGN_LINK,
    "/signature/<token>/document.pdf": SIGN_LINK,
    "/signature/<token>/page-<int:number>.png": SIGN_LINK,
    "/signature/<token>/refuse": SIGN_LINK,
    "/signature/<token>/sign": SIGN_LINK,
    # the trainer space: the trainer's personal link is the key
    "/formateur/<token>/agenda.ics": TRAINER_LINK,
    "/formateur/<token>/indisponibilites": TRAINER_LINK,
    "/formateur/<token>/indisponibilites/<int:period_id>/supprimer": TRAINER_LINK,
    "/formateur/<token>": TRAINER_LINK,
    "/formateur/<token>/creneaux/<int:slot_id>": TRAINER_LINK,
    "/formateur/<token>/creneaux/<int:slot_id>/releves/<int:enrolment_id>": TRAINER_LINK,
    "/formateur/<token>/creneaux/<int:slot_id>/signature": TRAINER_LINK,
    "/formateur/<token>/signatures/<int:record_id>.png": TRAINER_LINK,
    "/formateur/<token>/sessions/<int:session_id>/positionnement": TRAINER_LINK,
    "/formateur/<token>/sessions/<int:session_id>/acquis": TRAINER_LINK,
    "/formateur/<token>/resultats": TRAINER_LINK,
    # signing by the room's QR code: the code (or the identified trainee's cookie) is the key
    "/emargement/qr/<int:slot_id>/<code>": QR,
    "/emargement/qr/<int:slot_id>/code": QR,
    "/emargement/qr/<int:slot_id>/identify": QR,
    "/emargement/qr/<int:slot_id>/not-me": PUBLIC,  # forgets who was identified on this phone
    "/emargement/qr/<int:slot_id>/signer": QR,
    # any account
    "/": LOGIN,
    "/calendar": LOGIN,
    "/sessions/": LOGIN,
    "/account": {"GET": LOGIN, "POST": SELF},
    "/account/logout-everywhere": SELF,
    # the trainer of the session, or staff
    "/sessions/<int:session_id>": OWN,
    "/sessions/<int:session_id>/acquis": OWN,
    "/evaluations/sessions/<int:session_id>/needs": OWN,
    "/attendance/records/<int:record_id>.png": OWN,
    "/attendance/sessions/<int:session_id>/verify": OWN,
    "/attendance/slots/<int:slot_id>": OWN,
    "/attendance/slots/<int:slot_id>/countersign": TEACHER,
    "/attendance/slots/<int:slot_id>/kiosk": OWN,
    "/attendance/slots/<int:slot_id>/kiosk/<int:enrolment_id>": OWN,
    "/attendance/slots/<int:slot_id>/kiosk/unlock": OWN,
    "/attendance/slots/<int:slot_id>/marks/<int:enrolment_id>": TEACHER,
    "/attendance/slots/<int:slot_id>/qr": OWN,
    "/attendance/slots/<int:slot_id>/qr.svg": OWN,
    # advisors (and admins)
    "/admin/audit/": STAFF,
    "/admin/outbox/": STAFF,
    "/admin/outbox/<int:message_id>": STAFF,
    "/admin/outbox/<int:message_id>/attachments/<int:attachment_id>": STAFF,
    "/admin/outbox/<int:message_id>/retry": STAFF,
    "/admin/outbox/jobs": STAFF,
    "/admin/outbox/jobs/<int:job_id>/retry": STAFF,
    # long tasks (messaging/task_views.py): any staff member follows any task of the back office
    "/tasks/": STAFF,
    "/tasks/<int:task_id>": STAFF,
    "/tasks/<int:task_id>.json": STAFF,
    "/tasks/<int:task_id>/download": STAFF,
    "/tasks/<int:task_id>/retry": STAFF,
    "/admin/templates/<doc_type>/variables": STAFF,
    "/attendance/missing": STAFF,
    "/attendance/slots/<int:slot_id>/corrections/<int:enrolment_id>": STAFF,
    "/attendance/slots/<int:slot_id>/justifications/<int:enrolment_id>": STAFF,
    "/attendance/slots/<int:slot_id>/remind": STAFF,
    "/attendance/slots/<int:slot_id>/remind-trainer": STAFF,
    "/bpf/": STAFF,
    "/bpf/<int:year>": STAFF,
    "/bpf/<int:year>.xlsx": STAFF,
    "/bpf/<int:year>/edit": STAFF,
    "/companies/": STAFF,
    "/companies/<int:company_id>": STAFF,
    "/companies/<int:company_id>/contacts": STAFF,
    "/companies/<int:company_id>/contacts/<int:contact_id>/delete": STAFF,
    "/companies/<int:company_id>/contacts/<int:contact_id>/space/<any(send, renew, revoke):action>": STAFF,
    "/companies/new": STAFF,
    "/companies/search.json": STAFF,
    "/courses/": STAFF,
    "/courses/<int:course_id>": STAFF,
    "/courses/<int:course_id>/cold-survey": STAFF,
    "/courses/<int:course_id>/edit": STAFF,
    "/courses/<int:course_id>/status": STAFF,
    "/courses/<int:course_id>/versions/<int:number>": STAFF,
    "/courses/new": STAFF,
    "/documents/<int:document_id>.<kind>": STAFF,
    "/documents/<int:document_id>/send": STAFF,
    "/documents/<int:document_id>/signature": STAFF,
    "/enrolments/<int:enrolment_id>": STAFF,
    "/enrolments/<int:enrolment_id>/accept": STAFF,
    "/enrolments/<int:enrolment_id>/cancel": STAFF,
    "/enrolments/<int:enrolment_id>/contract": STAFF,
    "/enrolments/<int:enrolment_id>/decision": STAFF,
    "/enrolments/<int:enrolment_id>/funding-pack": STAFF,
    "/enrolments/<int:enrolment_id>/fund-pack": STAFF,
    "/enrolments/<int:enrolment_id>/funding/<int:line_id>": STAFF,
    "/enrolments/<int:enrolment_id>/funding/<int:line_id>/delete": STAFF,
    "/enrolments/<int:enrolment_id>/funding/new": STAFF,
    "/enrolments/<int:enrolment_id>/outcome": STAFF,
    "/enrolments/<int:enrolment_id>/schedule": STAFF,
    "/enrolments/<int:enrolment_id>/schedule/<int:call_id>/send": STAFF,
    "/enrolments/requests": STAFF,
    "/enrolments/prerequisites": STAFF,
    "/evaluations/": STAFF,
    "/evaluations/alerts/": STAFF,
    "/evaluations/alerts/<int:alert_id>": STAFF,
    "/evaluations/courses/<int:course_id>": STAFF,
    "/evaluations/courses/<int:course_id>/export.<any(csv, xlsx):fmt>": STAFF,
    "/evaluations/export.<any(csv, xlsx):fmt>": STAFF,
    "/evaluations/questionnaires/": STAFF,
    "/evaluations/questionnaires/<int:questionnaire_id>/edit": STAFF,
    "/evaluations/sessions/<int:session_id>": STAFF,
    "/evaluations/sessions/<int:session_id>/export.<any(csv, xlsx):fmt>": STAFF,
    "/evaluations/sessions/<int:session_id>/needs/send": STAFF,
    "/facturation/": STAFF,
    "/facturation/<int:invoice_id>": STAFF,
    "/facturation/<int:invoice_id>/<any(docx, pdf, xml):kind>": STAFF,
    "/facturation/<int:invoice_id>/apercu.docx": STAFF,
    "/facturation/<int:invoice_id>/avoir": STAFF,
    "/facturation/<int:invoice_id>/emettre": STAFF,
    "/facturation/<int:invoice_id>/lignes/<int:line_id>": STAFF,
    "/facturation/<int:invoice_id>/lignes/<int:line_id>/supprimer": STAFF,
    "/facturation/<int:invoice_id>/lignes/nouvelle": STAFF,
    "/facturation/<int:invoice_id>/modifier": STAFF,
    "/facturation/<int:invoice_id>/paiements": STAFF,
    "/facturation/<int:invoice_id>/paiements/<int:payment_id>/annuler": STAFF,
    "/facturation/<int:invoice_id>/relance": STAFF,
    "/facturation/<int:invoice_id>/supprimer": STAFF,
    "/facturation/impayes": STAFF,
    "/facturation/journal": STAFF,
    "/facturation/journal.csv": STAFF,
    "/files/<int:file_id>": STAFF,
    "/funding": STAFF,
    "/locations/": STAFF,
    "/locations/<int:location_id>": STAFF,
    "/locations/new": STAFF,
    "/privacy/retention": STAFF,
    "/qualite/actions/": STAFF,
    "/qualite/actions/<int:action_id>": STAFF,
    "/qualite/actions/<int:action_id>/edit": STAFF,
    "/qualite/actions/export.<any(csv, xlsx):fmt>": STAFF,
    "/qualite/actions/new": STAFF,
    "/qualite/demandes/": STAFF,
    "/qualite/demandes/<int:request_id>": STAFF,
    "/qualite/demandes/<int:request_id>/note": STAFF,
    "/qualite/demandes/<int:request_id>/transition": STAFF,
    "/qualite/demandes/export.csv": STAFF,
    "/qualite/demandes/new": STAFF,
    "/qualite/qualiopi": STAFF,
    "/sessions/<int:session_id>/checklist": STAFF,
    "/sessions/<int:session_id>/convocations/send": STAFF,
    "/sessions/<int:session_id>/checklist/<item>/tick": STAFF,
    "/sessions/<int:session_id>/checklist/<item>/untick": STAFF,
    "/sessions/<int:session_id>/documents": STAFF,
    "/sessions/<int:session_id>/documents/generate": STAFF,
    "/sessions/<int:session_id>/documents/pack": STAFF,
    "/sessions/<int:session_id>/duplicate": STAFF,
    "/sessions/<int:session_id>/edit": STAFF,
    "/sessions/<int:session_id>/enrolments/new": STAFF,
    "/sessions/<int:session_id>/facturation": STAFF,
    "/sessions/<int:session_id>/facturation/nouvelle": STAFF,
    "/sessions/<int:session_id>/facturation/proposer": STAFF,
    "/sessions/<int:session_id>/rebase": STAFF,
    "/sessions/<int:session_id>/slots/<int:slot_id>": STAFF,
    "/sessions/<int:session_id>/slots/<int:slot_id>/delete": STAFF,
    "/sessions/<int:session_id>/slots/new": STAFF,
    "/sessions/<int:session_id>/status": STAFF,
    "/sessions/new": STAFF,
    "/signatures/<int:request_id>": STAFF,
    "/signatures/<int:request_id>/cancel": STAFF,
    "/signatures/<int:request_id>/revisions/<int:number>.pdf": STAFF,
    "/signatures/<int:request_id>/signatories/<int:signatory_id>/resend": STAFF,
    "/trainees/": STAFF,
    "/trainees/<int:trainee_id>": STAFF,
    "/trainees/<int:trainee_id>/data": STAFF,
    "/trainees/<int:trainee_id>/data.json": STAFF,
    "/trainees/<int:trainee_id>/merge": STAFF,
    "/trainees/new": STAFF,
    "/trainees/search.json": STAFF,
    "/trainers/": STAFF,
    "/trainers/<int:trainer_id>": STAFF,
    "/trainers/<int:trainer_id>/unavailabilities": STAFF,
    "/trainers/<int:trainer_id>/unavailabilities/<int:period_id>/delete": STAFF,
    "/trainers/<int:trainer_id>/space-link/<any(send, renew, revoke):action>": STAFF,
    "/trainers/<int:trainer_id>/file": STAFF,
    "/trainers/<int:trainer_id>/file/development": STAFF,
    "/trainers/<int:trainer_id>/file/development/<int:development_id>/delete": STAFF,
    "/trainers/<int:trainer_id>/file/documents": STAFF,
    "/trainers/<int:trainer_id>/file/documents/<int:trainer_document_id>/delete": STAFF,
    "/trainers/<int:trainer_id>/sessions/<int:session_id>/invoices": STAFF,
    "/trainers/new": STAFF,
    # admins only
    "/admin/organisation/": ADMIN,
    "/admin/templates": ADMIN,
    "/admin/templates/<doc_type>": ADMIN,
    "/admin/templates/<doc_type>/default.docx": ADMIN,
    "/admin/templates/<doc_type>/preview": ADMIN,
    "/admin/templates/<doc_type>/restore/<int:version>": ADMIN,
    "/admin/users": ADMIN,
    "/admin/users/<int:user_id>": ADMIN,
    "/admin/users/new": ADMIN,
    # the JSON API
    "/api/v1/openapi.json": API_PUBLIC,
    "/api/v1/courses": API_PUBLIC,
    "/api/v1/courses/<slug>": API_PUBLIC,
    "/api/v1/sessions": {"GET": API_PUBLIC, "POST": API_STAFF},
    "/api/v1/sessions/<int:session_id>": {"GET": API_PUBLIC, "PATCH": API_STAFF},
    "/api/v1/sessions/<int:session_id>/slots": API_STAFF,
    "/api/v1/slots/<int:slot_id>": API_STAFF,
    "/api/v1/sessions/<int:session_id>/attendance": API_STAFF,
    "/api/v1/sessions/<int:session_id>/documents": API_STAFF,
    "/api/v1/sessions/<int:session_id>/enrolments": API_STAFF,
    "/api/v1/sessions/<int:session_id>/evaluations": API_STAFF,
    "/api/v1/enrolments/<int:enrolment_id>/cancel": API_STAFF,
    "/api/v1/bpf/<int:year>": API_STAFF,
    "/api/v1/companies": API_STAFF,
    "/api/v1/documents/<int:document_id>": API_STAFF,
    "/api/v1/documents/<int:document_id>/files/<kind>": API_STAFF,
    "/api/v1/invoices": API_STAFF,
    "/api/v1/invoices/<int:invoice_id>": API_STAFF,
    "/api/v1/invoices/<int:invoice_id>/files/<kind>": API_STAFF,
    "/api/v1/locations": API_STAFF,
    "/api/v1/trainees": API_STAFF,
    "/api/v1/trainers": API_STAFF,
}

# The roles the views declare (``roles_required``) for each category: the table and the code agree.
DECLARED = {PUBLIC: None, TOKEN: None, QR: None, SIGN_LINK: None, API_PUBLIC: None, LOGIN: {"advisor", "trainer"},
            SELF: {"advisor", "trainer"}, TRAINER_LINK: None,
            OWN: {"advisor", "trainer"}, TEACHER: {"advisor", "trainer"}, STAFF: {"advisor"}, ADMIN: {"admin"}, API_STAFF: {"advisor"}}

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def _category(rule, method: str) -> str | None:
    entry = RULES.get(rule.rule)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry


def _methods(rule) -> list[str]:
    return [m for m in METHODS if m in rule.methods]


# --------------------------------------------------------------------------- the table is complete and true


def test_every_route_has_a_permission_rule(app):
    missing = [f"{m} {rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
               for m in _methods(rule) if _category(rule, m) is None]
    assert not missing, "nouvelle route sans règle de permission : " + ", ".join(sorted(missing))
    served = {rule.rule for rule in app.url_map.iter_rules()}
    stale = sorted(set(RULES) - served)
    assert not stale, f"règle de permission d'une route disparue : {', '.join(stale)}"


def test_views_declare_the_roles_of_their_category(app):
    wrong = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, "required_roles", None)
        declared = {getattr(r, "value", r) for r in declared} if declared is not None else None
        for method in _methods(rule):
            expected = DECLARED[_category(rule, method)]
            # one view serving a public GET and a guarded POST (the API's /sessions) checks inside
            if isinstance(RULES[rule.rule], dict) and declared is None:
                continue
            if declared != expected:
                wrong.append(f"{method} {rule.rule}: déclaré {declared}, attendu {expected}")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- the fixture world

OTHER_TRAINER = ("formateur2@formaction.example", "autre-formateur-2026")


class World:
    pass


@pytest.fixture
def matrix(app, fake_pdf):  # noqa: F811 - the fixture imported above
    """The demo (past session delivered with its register, invoices, complaint, outbox…), Paula a second
    trainer who teaches none of it, a convention sent for signature to its company, the visitors' clients, API
    tokens and the sample values of every URL argument."""
    from trainingmgr.accounts.services import create_api_token, create_password_reset, create_user
    from trainingmgr.attendance.access import signing_token
    from trainingmgr.attendance.models import AttendanceRecord
    from trainingmgr.billing.models import Invoice, InvoiceLine, Payment, PaymentCall
    from trainingmgr.catalogue.models import Course
    from trainingmgr.companies.models import Company, CompanyContact
    from trainingmgr.core.tokens import make_token
    from trainingmgr.demo.services import load_demo
    from trainingmgr.demo.spaces import INDEPENDENT_TRAINER
    from trainingmgr.documents.models import GeneratedDocument
    from trainingmgr.enrolments.models import Enrolment, FundingLine
    from trainingmgr.enrolments.services import trainee_token
    from trainingmgr.evaluations.surveys import services as surveys
    from trainingmgr.evaluations.models import Questionnaire, SurveyAlert, SurveyInvitation
    from trainingmgr.files.models import StoredFile
    from trainingmgr.messaging.models import Job, OutboxAttachment, OutboxMessage, Task
    from trainingmgr.quality.checklist import services as checklist
    from trainingmgr.quality.models import ImprovementAction, QualityRequest
    from trainingmgr.quality.complaints.services import follow_token
    from trainingmgr.resources import links as trainer_links
    from trainingmgr.resources.models import Location, Trainer, TrainerUnavailability
    from trainingmgr.resources.services import save_trainer
    from trainingmgr.sessions.models import Slot, TrainingSession
    from trainingmgr.signing.access import signing_token as signing_link

    load_demo()
    paula = create_user(OTHER_TRAINER[0], OTHER_TRAINER[1], "trainer", "Paula Formatrice")
    db.session.flush()
    save_trainer(None, {"first_name": "Paula", "last_name": "Formatrice", "email": OTHER_TRAINER[0],
                        "user_id": paula.id})
    reset = create_password_reset("admin@formaction.example")
    db.session.commit()

    def first(model, *where):
        found = db.session.scalar(select(model).where(*where).order_by(model.id).limit(1))
        return found

    def ident(model, *where) -> int:
        found = first(model, *where)
        return found.id if found is not None else 1

    session = first(TrainingSession, TrainingSession.status == "completed")
    slot = first(Slot, Slot.session_id == session.id)
    record = first(AttendanceRecord, AttendanceRecord.slot_id == slot.id)
    enrolment = db.session.get(Enrolment, record.enrolment_id)
    invoice = first(Invoice)
    company = first(Company, Company.contacts.any())
    funding = first(FundingLine)
    request = first(QualityRequest)
    invitation = first(SurveyInvitation)
    signature_request, quote = _signature_documents(company)
    signatory = signature_request.signatories[0]
    space_samples, space_tokens = _company_space(company)
    claire = first(Trainer, Trainer.email == INDEPENDENT_TRAINER["email"])  # the demo's independent trainer
    # the trainer space's pages on the sample session: its trainer Pierre's link (a link works for any trainer)
    pierre = first(Trainer, Trainer.email == "formateur@formaction.example")
    claire_away = first(TrainerUnavailability, TrainerUnavailability.trainer_id == claire.id)

    w = World()
    w.values = {
        "session_id": session.id, "slot_id": slot.id, "record_id": record.id, "enrolment_id": enrolment.id,
        "course_id": session.course_id, "slug": db.session.get(Course, session.course_id).slug, "number": 1,
        "version": 1, "invoice_id": invoice.id, "payment_id": ident(Payment, Payment.invoice_id == invoice.id),
        "company_id": company.id, "contact_id": ident(CompanyContact, CompanyContact.company_id == company.id),
        "document_id": ident(GeneratedDocument), "message_id": ident(OutboxMessage),
        "attachment_id": ident(OutboxAttachment), "job_id": ident(Job), "alert_id": ident(SurveyAlert),
        "questionnaire_id": ident(Questionnaire), "file_id": ident(StoredFile), "location_id": ident(Location),
        "trainer_id": ident(Trainer), "trainee_id": enrolment.trainee_id, "action_id": ident(ImprovementAction),
        "request_id": request.id, "user_id": paula.id, "year": dt.date.today().year, "item": checklist.ITEMS[0].key,
        "doc_type": "convocation", "kind": "docx", "fmt": "csv", "code": "ABCDEF",
        "call_id": ident(PaymentCall), "task_id": ident(Task),
    }
    # arguments whose sample depends on the route
    w.by_endpoint = {
        "static": {"filename": "app.css"},
        "bootstrap.static": {"filename": "css/bootstrap.min.css"},
        "enrolments.funding": {"line_id": funding.id if funding else 1,
                               "enrolment_id": funding.enrolment_id if funding else enrolment.id},
        "enrolments.funding_delete": {"line_id": funding.id if funding else 1,
                                      "enrolment_id": funding.enrolment_id if funding else enrolment.id},
        "billing.edit_line": {"line_id": ident(InvoiceLine, InvoiceLine.invoice_id == invoice.id)},
        "billing.delete_line": {"line_id": ident(InvoiceLine, InvoiceLine.invoice_id == invoice.id)},
        "api-docs.openapi_json": {},
        "signatures.new": {"document_id": quote.id},
        "signatures.show": {"request_id": signature_request.id},
        "signatures.revision": {"request_id": signature_request.id, "number": 0},
        "signatures.cancel": {"request_id": signature_request.id},
        "signatures.resend": {"request_id": signature_request.id, "signatory_id": signatory.id},
        "trainer_agenda.unavailabilities": {"trainer_id": claire.id},
        "trainer_agenda.delete_unavailability": {"trainer_id": claire.id, "period_id": claire_away.id},
        "trainer_agenda.space_delete_unavailability": {"period_id": claire_away.id},
        "resources.space_link": {"action": "send"},
        "companies.contact_space": {"action": "send"},
        # a trainer's file (subcontracting/views.py): no document nor log entry 1 in the demo (404 for staff)
        "subcontracting.remove_document": {"trainer_document_id": 1},
        "subcontracting.remove_development": {"development_id": 1},
        **space_samples,
    }
    trainee_link = trainee_token(enrolment)
    w.tokens = {
        "accounts.reset_password": reset,
        "complaint_public.form": trainee_link,
        "complaint_public.follow": follow_token(request),
        "surveys.answer": (make_token(surveys.TOKEN_PURPOSE, {"i": invitation.id}) if invitation
                           else make_token(surveys.TOKEN_PURPOSE, {"i": 1})),
        "trainee.home": trainee_link,
        "trainee.positioning": trainee_link,
        "trainee.absence": trainee_link,
        "trainee.document": trainee_link,
        "signing.by_link": signing_token(enrolment, slot),
        **{f"esign.{name}": signing_link(signatory) for name in ("page", "page_image", "document", "code", "sign",
                                                                 "refuse")},
        **{f"trainer_agenda.{name}": trainer_links.token(claire) for name in (
            "feed", "space_unavailabilities", "space_delete_unavailability")},
        **{f"trainer_space.{name}": trainer_links.token(pierre) for name in (
            "home", "slot", "mark", "countersign", "signature_image", "positioning", "acquis_grid", "results")},
        **space_tokens,
    }

    def client(email=None, password=None):
        c = app.test_client()
        if email:
            response = c.post("/login", data={"email": email, "password": password})
            assert response.status_code == 302
        return c

    w.anonymous = client()
    w.trainee = client()
    assert w.trainee.get(f"/t/{trainee_link}").status_code == 200
    w.trainer = client("formateur@formaction.example", "formateur-demo-2026")
    w.other_trainer = client(*OTHER_TRAINER)
    w.advisor = client("conseil@formaction.example", "conseil-demo-2026")
    w.admin = client("admin@formaction.example", "admin-demo-2026")
    w.api_tokens = {role: create_api_token(email, name=f"matrix {role}")[1] for role, email in (
        ("trainer", "formateur@formaction.example"), ("advisor", "conseil@formaction.example"),
        ("admin", "admin@formaction.example"))}
    db.session.commit()
    return w


def _signature_documents(company):
    """The company's convention, issued again with a PDF and sent for signature to its signatory and the
    organisation's; and its quote, issued with a PDF, to send."""
    from trainingmgr.accounts.models import User
    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.documents import services as documents
    from trainingmgr.documents.models import GeneratedDocument
    from trainingmgr.signing import services as signing

    advisor = db.session.scalar(select(User).where(User.email == "conseil@formaction.example"))
    convention = db.session.scalar(select(GeneratedDocument).where(
        GeneratedDocument.doc_type == "convention", GeneratedDocument.company_id == company.id).limit(1))
    convention = documents.generate("convention", convention.session, advisor, company=company,
                                    reason="Envoi pour signature électronique")
    contact = min(company.contacts, key=lambda c: (c.role != "signatory", c.id))
    made = signing.send_for_signature(convention, [f"company:{contact.id}", "organisation"],
                                      paris_today() + dt.timedelta(days=15), advisor)
    quote = documents.generate("quote", convention.session, advisor, company=company)
    db.session.commit()
    return made, quote


def _company_space(company) -> tuple[dict, dict]:
    """The company space's sample values, each the company's own (its session, employee, document in force, issued
    invoice), and its first contact's link, by endpoint."""
    from trainingmgr.companies import links
    from trainingmgr.portals.company import space

    samples = {"session_id": space.company_sessions(company)[0].id,
               "enrolment_id": space.company_enrolments(company)[0].id,
               "document_id": space.company_documents(company)[0].id,
               "invoice_id": space.company_invoices(company)[0].invoice.id}
    token = links.link_token(min(company.contacts, key=lambda c: c.id))
    db.session.commit()
    endpoints = ("home", "invoices", "session", "enrolment", "document", "signed_document", "invoice_file")
    return ({f"company_space.{name}": samples for name in endpoints},
            {f"company_space.{name}": token for name in endpoints})


def _url(app, w: World, rule, token: str | None = None) -> str:
    values = {}
    for arg in rule.arguments:
        if arg == "token":
            values[arg] = token if token is not None else w.tokens[rule.endpoint]
        elif arg in w.by_endpoint.get(rule.endpoint, {}):
            values[arg] = w.by_endpoint[rule.endpoint][arg]
        else:
            values[arg] = w.values[arg]
    # the rule itself, not url_for's first match for the endpoint (complaint_public.form has two)
    return rule.build(values, append_unknown=False)[1]


def _request(client, method: str, url: str, headers: dict | None = None):
    if url.startswith("/api/"):
        body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
        return client.open(url, method=method, headers=headers or {}, **body)
    if method == "POST":
        return client.post(url, data={})
    return client.open(url, method=method)


def _to_login(response) -> bool:
    return response.status_code == 302 and urlsplit_path(response.headers.get("Location", "")) == "/login"


def urlsplit_path(location: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(location).path


def _fine(response) -> bool:
    """Let through: any answer but a refusal of the visitor (401/403), a login redirect or a crash."""
    return response.status_code < 500 and response.status_code not in (401, 403) and not _to_login(response)


def test_permission_matrix(app, matrix):
    w = matrix
    failures: list[str] = []
    seen: list[str] = []

    def check(who: str, method: str, url: str, response, ok: bool, expected: str):
        seen.append(f"{who:14} {method:6} {url} → {response.status_code}")
        if not ok:
            failures.append(f"{who} {method} {url}: {response.status_code} "
                            f"({response.headers.get('Location', '')}), attendu {expected}")

    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    plan = [(rule, method, _category(rule, method)) for rule in rules for method in _methods(rule)]
    # first the visitors who must be refused, the trainers, then the advisor, then the admin: the staff's
    # POSTs (deleting a line, cancelling) run last so that they do not remove what the others request
    for rule, method, category in plan:
        url = _url(app, w, rule)
        if category == QR:
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, 400 <= response.status_code < 500 and not _to_login(response),
                      "un refus 4xx sans QR code valide")
        elif category in (PUBLIC, TOKEN):
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                if category == TOKEN and who == "anonyme":
                    forged = _url(app, w, rule, token="lien-contrefait")
                    response = _request(client, method, forged)
                    check(who, method, forged, response, 400 <= response.status_code < 500
                          and not _to_login(response), "un refus 4xx du lien contrefait")
                    continue
                response = _request(client, method, url)
                ok = _fine(response) or (rule.endpoint == "accounts.logout" and _to_login(response))
                check(who, method, url, response, ok, "un accès sans connexion")
        elif category in (SIGN_LINK, TRAINER_LINK):
            visitors = (("anonyme", w.anonymous), ("stagiaire", w.trainee), ("formateur", w.trainer),
                        ("autre formateur", w.other_trainer), ("conseiller", w.advisor), ("admin", w.admin))
            for n, (who, client) in enumerate(visitors):  # one forged link each: POSTs are rate-limited per link
                forged = _url(app, w, rule, token=f"lien-contrefait-{n}")
                response = _request(client, method, forged)
                check(who, method, forged, response, response.status_code == 403, "403 (lien contrefait)")
            response = _request(w.anonymous, method, url)
            holder = "signataire" if category == SIGN_LINK else "formateur (lien)"
            check(holder, method, url, response, _fine(response), "l'accès par son lien personnel")
        elif category == SELF:
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, _to_login(response), "une redirection vers /login")
        elif category in (LOGIN, OWN, TEACHER, STAFF, ADMIN):
            for who, client in (("anonyme", w.anonymous), ("stagiaire", w.trainee)):
                response = _request(client, method, url)
                check(who, method, url, response, _to_login(response), "une redirection vers /login")
            own = _request(w.trainer, method, url)
            other = _request(w.other_trainer, method, url)
            if category == LOGIN:
                check("formateur", method, url, own, own.status_code == 200, "200")
                check("autre formateur", method, url, other, other.status_code == 200, "200")
            elif category in (OWN, TEACHER):
                check("formateur", method, url, own, _fine(own), "l'accès à sa session")
                check("autre formateur", method, url, other, other.status_code in (403, 404), "403")
            else:
                check("formateur", method, url, own, own.status_code == 403, "403")
                check("autre formateur", method, url, other, other.status_code == 403, "403")
        elif category == API_STAFF:
            response = _request(w.anonymous, method, url)
            check("sans jeton", method, url, response, response.status_code == 401, "401")
            response = _request(w.anonymous, method, url, {"Authorization": "Bearer faux-jeton"})
            check("jeton inconnu", method, url, response, response.status_code == 401, "401")
            headers = {"Authorization": f"Bearer {w.api_tokens['trainer']}"}
            response = _request(w.anonymous, method, url, headers)
            check("jeton formateur", method, url, response, response.status_code == 403, "403")
        elif category == API_PUBLIC:
            response = _request(w.anonymous, method, url)
            check("sans jeton", method, url, response, _fine(response), "l'accès sans jeton")
    for who, client in (("conseiller", w.advisor), ("admin", w.admin)):
        for rule, method, category in plan:
            url = _url(app, w, rule)
            if category in (LOGIN, OWN, STAFF):
                response = _request(client, method, url)
                check(who, method, url, response, _fine(response), "l'accès")
            elif category == TEACHER:
                response = _request(client, method, url)
                check(who, method, url, response, response.status_code == 403, "403 (le formateur seul)")
            elif category == ADMIN:
                response = _request(client, method, url)
                if who == "admin":
                    check(who, method, url, response, _fine(response), "l'accès")
                else:
                    check(who, method, url, response, response.status_code == 403, "403")
            elif category == API_STAFF:
                headers = {"Authorization": f"Bearer {w.api_tokens[who == 'admin' and 'admin' or 'advisor']}"}
                response = _request(w.anonymous, method, url, headers)
                check(f"jeton {who}", method, url, response, _fine(response), "l'accès")
    print("\n".join(seen))  # the whole matrix, shown with -s or on failure
    assert not failures, "\n".join(failures)

