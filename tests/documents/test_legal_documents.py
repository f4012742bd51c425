"""The individual's contract (L6353-3 to L6353-7) and the company convention (L6353-1, D6353-1), opened with
python-docx: each mention with its real value, each forbidden clause absent; the data they need is never printed
empty; the contract's rules (issued before the start, withdrawal period from the recorded signature)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.billing.models import Invoice
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.documents import services
from trainingmgr.enrolments import contract as contract_rules
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for

from tests.documents.support import docx_text
from tests.fixtures.documents import deliver
from tests.helpers import page


def _text(document) -> str:
    return " ".join(docx_text(path_for(document.docx_file).read_bytes()).split())


def _paul(demo):
    """The demo's liberal architect, paying for himself in the DUME session."""
    return demo.enrolments["Paul"]


def test_the_self_paying_trainee_gets_a_contract_without_company_clauses(demo):
    from trainingmgr.organisation.services import get_organisation

    paul = _paul(demo)
    document = services.generate("contract", demo.dume, demo.advisor, enrolment=paul, pdf=False)
    text = _text(document)
    trainer = demo.dume.trainers[0]
    version = demo.dume.course_version
    # L6353-4: nature, duration, programme, objectives, number of trainees, level, methods, trainers' titles
    assert version.title in text and "Action de formation" in text or "action de formation" in text
    assert version.objectives[0].text in text
    assert version.programme[0].title in text
    assert f"{trainer.full_name} – {' '.join(trainer.competences.split())}" in text
    assert "Effectif prévu de la session" in text
    assert "Prérequis" in text
    assert "attestation de fin de formation" in text and "certificat de réalisation" in text
    # L6353-5 to -7: 10-day withdrawal by registered letter, nothing before it, first payment 30 % at most, the
    # balance as the course goes, force majeure pro rata
    assert "délai de 10 jours pour se rétracter, par lettre recommandée avec avis de réception" in text
    assert "Aucune somme ne peut être exigée du stagiaire avant l'expiration du délai de rétractation" in text
    assert "ne peut excéder 30 % du prix convenu, soit au plus 180,00 €" in text
    assert "Le solde est échelonné au fur et à mesure du déroulement de l'action de formation" in text
    assert "force majeure" in text and "prorata temporis" in text
    # none of the company clauses
    org = get_organisation()
    for clause in (org.cancellation_terms, org.payment_terms, "dédit", "subrogation", "remplacement",
                   "Paiement à 30 jours"):
        if clause:
            assert " ".join(clause.split()) not in text, clause
    # dated when issued
    assert f"le {dt.date.today():%d/%m/%Y}" in text or "Fait en deux exemplaires" in text


def test_the_convention_names_the_trainers_titles_the_rooms_means_and_the_abandonment_clause(demo):
    sarah = demo.enrolments["Sarah"]
    company = sarah.company
    document = services.generate("convention", demo.dume, demo.advisor, company=company, pdf=False)
    text = _text(document)
    trainer = demo.dume.trainers[0]
    assert f"{trainer.full_name} – {' '.join(trainer.competences.split())}" in text
    assert " ".join(demo.dume.location.equipment.split()) in text
    assert "seules les heures effectivement suivies" in text and "prorata temporis" in text
    assert "facturé au client sur une ligne distincte" in text
    assert "ni faire l'objet d'une demande de prise en charge par un OPCO" in text
    assert "(cet enregistrement ne vaut pas agrément de l'État)" in text


def test_missing_titles_or_means_are_listed_and_nothing_is_issued(demo, advisor_web):
    trainer = demo.dume.trainers[0]
    trainer.competences = ""
    demo.dume.location.equipment = ""
    demo.dume.course_version.material_resources = ""
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        services.generate("convention", demo.dume, demo.advisor, company=demo.enrolments["Sarah"].company, pdf=False)
    assert f"titres et qualifications de {trainer.full_name}" in refused.value.message
    assert "moyens matériels" in refused.value.message
    db.session.rollback()
    response = advisor_web.post(f"/sessions/{demo.dume.id}/documents/generate",
                                data={"doc_type": "contract", "enrolment_id": _paul(demo).id})
    assert response.status_code == 422
    assert f"titres et qualifications de {trainer.full_name}" in page(response)
    from trainingmgr.documents.models import GeneratedDocument

    assert db.session.scalars(select(GeneratedDocument)).all() == []


def test_the_audience_is_one_value_on_the_public_page_and_the_documents(demo, client):
    version = demo.dume.course_version
    version.audience = ""
    db.session.commit()
    sheet = page(client.get(f"/catalogue/{demo.dume.course.slug}"))
    assert "Non précisé" in sheet and "Tout public" not in sheet
    programme = _text(services.generate("programme", demo.dume, demo.advisor, pdf=False))
    convention = _text(services.generate("convention", demo.dume, demo.advisor,
                                         company=demo.enrolments["Sarah"].company, pdf=False))
    for text in (programme, convention):
        assert "Public visé Non précisé" in text.replace(" :", "") or "Non précisé" in text
        assert "Tout public" not in text


def _after_the_start(monkeypatch, session) -> None:
    """The clock an hour after the session's first half-day started."""
    first = min(session.slots, key=lambda s: (s.date, s.start_time))
    monkeypatch.setattr("trainingmgr.core.timeutil.utcnow", lambda: first.starts_at + dt.timedelta(hours=1))


def test_a_first_contract_is_refused_once_the_session_has_started(demo, advisor_web, monkeypatch):
    deliver(demo.dume, demo.advisor, demo.trainer)
    _after_the_start(monkeypatch, demo.dume)
    with pytest.raises(ConflictError, match="avant le début de la formation"):
        services.generate("contract", demo.dume, demo.advisor, enrolment=_paul(demo), pdf=False)
    db.session.rollback()
    response = advisor_web.post(f"/sessions/{demo.dume.id}/documents/generate",
                                data={"doc_type": "contract", "enrolment_id": _paul(demo).id})
    assert response.status_code == 409 and "L6353-3" in page(response)


def test_a_contract_issued_before_the_start_can_be_had_again_after_it(demo, monkeypatch):
    first = services.generate("contract", demo.dume, demo.advisor, enrolment=_paul(demo), pdf=False)
    db.session.commit()
    deliver(demo.dume, demo.advisor, demo.trainer)
    _after_the_start(monkeypatch, demo.dume)
    again = services.generate("contract", demo.dume, demo.advisor, enrolment=_paul(demo), pdf=False)
    assert again.id == first.id  # the duplicate is the contract issued before the start, unchanged
    _paul(demo).price_excl_vat += 100
    with pytest.raises(ConflictError, match="ne peut plus être réémis avec d'autres données"):
        services.generate("contract", demo.dume, demo.advisor, enrolment=_paul(demo), pdf=False)


def test_the_signature_date_is_recorded_and_the_withdrawal_period_runs_from_it(demo, advisor_web):
    paul = _paul(demo)
    url = f"/enrolments/{paul.id}/contract"
    response = advisor_web.post(url, data={"signed_on": "2026-11-20"})
    assert response.status_code == 409 and "Émettez d'abord le contrat" in page(response)
    services.generate("contract", demo.dume, demo.advisor, enrolment=paul, pdf=False)
    db.session.commit()
    assert advisor_web.post(url, data={"signed_on": ""}).status_code == 422
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    response = advisor_web.post(url, data={"signed_on": future})
    assert response.status_code == 422 and "dans le futur" in page(response)
    today = dt.date.today()
    response = advisor_web.post(url, data={"signed_on": today.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert paul.contract_signed_on == today
    shown = page(advisor_web.get(f"/enrolments/{paul.id}"))
    assert f"jusqu'au {today + dt.timedelta(days=10):%d/%m/%Y} inclus" in shown
    # a company's trainee has a convention, not a contract
    with pytest.raises(ConflictError, match="convention"):
        contract_rules.record_signature(demo.enrolments["Sarah"], today, demo.advisor)


@pytest.mark.parametrize("days_after, refused", [(0, True), (10, True), (11, False)])
def test_nothing_is_invoiced_to_the_trainee_within_the_withdrawal_period(demo, days_after, refused):
    from decimal import Decimal

    paul = _paul(demo)
    paul.contract_signed_on = dt.date(2031, 3, 3)
    today = paul.contract_signed_on + dt.timedelta(days=days_after)
    check = lambda: contract_rules.check_individual_invoice(  # noqa: E731
        [paul], paul.price_incl_vat, course_done=True, earlier_calls=Decimal("0"), today=today)
    if refused:
        with pytest.raises(ConflictError, match="Délai de rétractation en cours jusqu'au 13/03/2031 inclus"):
            check()
    else:
        check()


def test_the_first_call_is_capped_at_30_percent_before_the_course_is_done(demo):
    from decimal import Decimal

    paul = _paul(demo)
    paul.contract_signed_on = dt.date(2031, 3, 3)
    today = dt.date(2031, 3, 20)
    cap = (paul.price_incl_vat * Decimal("0.30")).quantize(Decimal("0.01"))
    contract_rules.check_individual_invoice([paul], cap, course_done=False, earlier_calls=Decimal("0"), today=today)
    with pytest.raises(ConflictError, match="Premier paiement limité à 30 %"):
        contract_rules.check_individual_invoice([paul], cap + Decimal("0.01"), course_done=False,
                                                earlier_calls=Decimal("0"), today=today)
    # the balance, once a first call was made, or once the course is done
    contract_rules.check_individual_invoice([paul], paul.price_incl_vat - cap, course_done=False,
                                            earlier_calls=cap, today=today)
    contract_rules.check_individual_invoice([paul], paul.price_incl_vat, course_done=True,
                                            earlier_calls=Decimal("0"), today=today)
    paul.contract_signed_on = None
    with pytest.raises(ConflictError, match="Enregistrez d'abord la date de signature"):
        contract_rules.check_individual_invoice([paul], cap, course_done=True, earlier_calls=Decimal("0"),
                                                today=today)


def _draft_invoice_to(enrolment, demo):
    """The session confirmed and its invoices proposed: the draft addressed to the trainee of ``enrolment``."""
    from trainingmgr.billing.invoices.planning import propose_invoices
    from trainingmgr.sessions.services import change_status

    change_status(enrolment.session, "confirmed", demo.advisor)
    db.session.commit()
    propose_invoices(enrolment.session, demo.advisor)
    db.session.commit()
    return db.session.scalar(select(Invoice).where(Invoice.payer_kind == "individual",
                                                   Invoice.payer_trainee_id == enrolment.trainee_id))


def test_issuing_an_invoice_to_the_trainee_follows_the_contract(demo):
    """Through billing: refused within the withdrawal period, a first call above 30 % refused during the course."""
    from trainingmgr.billing.invoices.issue import issue_invoice

    paul = _paul(demo)
    services.generate("contract", demo.dume, demo.advisor, enrolment=paul, pdf=False)
    signed = dt.date.today()
    contract_rules.record_signature(paul, signed, demo.advisor, today=signed)
    invoice = _draft_invoice_to(paul, demo)
    with pytest.raises(ConflictError, match="Délai de rétractation en cours"):
        issue_invoice(invoice, demo.advisor, today=signed + dt.timedelta(days=10))
    db.session.rollback()
    with pytest.raises(ConflictError, match="Premier paiement limité à 30 %"):
        issue_invoice(invoice, demo.advisor, today=signed + dt.timedelta(days=11))
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "draft"


def test_no_invoice_to_a_self_paying_trainee_without_a_signed_contract(demo):
    from trainingmgr.billing.invoices.issue import issue_invoice

    paul = _paul(demo)
    assert paul.contract_signed_on is None
    invoice = _draft_invoice_to(paul, demo)
    with pytest.raises(ConflictError, match="Enregistrez d'abord la date de signature du contrat de formation"):
        issue_invoice(invoice, demo.advisor, today=dt.date.today() + dt.timedelta(days=60))
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "draft"
