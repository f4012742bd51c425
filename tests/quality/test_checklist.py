"""The per-session administrative checklist: due dates relative to the session (Europe/Paris days), items that
tick themselves from real data (convocations sent, attendance complete and countersigned, surveys and
certificates sent, conventions e-mailed, OPCO agreements, positioning, invoices issued to every payer), overdue
detection with a frozen "today", the dashboard's list in a fixed number of queries, manual ticks with a comment,
un-ticks, and permissions."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance import services as attendance
from trainingmgr.automations import engine
from trainingmgr.core.timeutil import PARIS
from trainingmgr.enrolments.services import enrol, record_decision, save_funding_line
from trainingmgr.extensions import db
from trainingmgr.messaging.services import run_due_jobs, send_due_messages
from trainingmgr.quality.checklist import services as checklist
from trainingmgr.quality.models import ChecklistTick
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.support import person
from tests.fixtures.billing import agreed, complete as mark_completed, enrol_with, fill_buyer
from tests.helpers import MONDAY, page

DAY = dt.timedelta(days=1)
FAR = dt.datetime(2040, 1, 1, tzinfo=dt.timezone.utc)  # "now" for the job runner and the outbox: everything due


def states(session, today) -> dict[str, str]:
    db.session.expire_all()
    return {s.key: s.state for s in checklist.session_checklist(session, today)}


def item(session, key, today) -> checklist.ItemStatus:
    db.session.expire_all()
    return next(s for s in checklist.session_checklist(session, today) if s.key == key)


def ticks() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ChecklistTick))


def deliver_mail() -> None:
    """The worker's passes: the automations at J−7 09:00 of the MONDAY sessions (the convocations), the due jobs
    (surveys), then the outbox."""
    engine.fire_due(dt.datetime.combine(MONDAY - 7 * DAY, dt.time(9), tzinfo=PARIS))
    db.session.commit()
    run_due_jobs(FAR)
    db.session.commit()
    send_due_messages(FAR)
    db.session.commit()


def sign_all(session, enrolments, trainer_user, *, skip=(), countersign=True) -> None:
    """Each trainee signs each half-day by link at its start (except the (slot index, enrolment) in ``skip``),
    then the trainer countersigns each one."""
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    for n, slot in enumerate(slots):
        for enrolment in enrolments:
            if (n, enrolment.id) not in skip:
                attendance.sign(slot, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                                now=slot.starts_at)
        if countersign:
            attendance.countersign(slot, trainer_user, typed_name="Pierre Formateur",
                                   now=slot.ends_at + dt.timedelta(minutes=1))
    db.session.commit()


def complete(session, advisor) -> None:
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    if session.status == "confirmed":
        change_status(session, "in_progress", advisor, now=slots[0].starts_at)
    change_status(session, "completed", advisor, now=slots[-1].ends_at + dt.timedelta(minutes=5))
    db.session.commit()


# --------------------------------------------------------------------------- the items and their due dates


def test_each_item_has_its_due_date_from_the_first_or_last_day(app, world, klass):
    session, _ = klass  # DUME, one day: MONDAY 08:30–12:30 and 13:30–17:30
    due = {s.key: s.due for s in checklist.session_checklist(session, MONDAY - 30 * DAY)}
    assert list(due) == ["convention_sent", "convention_signed", "convocations", "opco_agreement", "positioning",
                         "hot_survey", "attendance", "distance_evidence", "certificates", "invoice",
                         "cold_survey"]  # by due date
    assert due == {"convention_sent": MONDAY - 15 * DAY, "convention_signed": MONDAY - 15 * DAY,
                   "opco_agreement": MONDAY - DAY, "positioning": MONDAY - DAY, "convocations": MONDAY - 7 * DAY,
                   "attendance": MONDAY + DAY, "distance_evidence": MONDAY + DAY, "hot_survey": MONDAY, "certificates": MONDAY + 7 * DAY,
                   "cold_survey": MONDAY + 60 * DAY, "invoice": MONDAY + 7 * DAY}
    # The course's own cold delay, and the settings, move the due dates.
    world.dume.cold_survey_days = 90
    db.session.commit()
    app.config["CHECKLIST_CONVENTION_DAYS_BEFORE"] = 30
    try:
        due = {s.key: s.due for s in checklist.session_checklist(session, MONDAY)}
    finally:
        app.config["CHECKLIST_CONVENTION_DAYS_BEFORE"] = 15
    assert due["cold_survey"] == MONDAY + 90 * DAY and due["convention_sent"] == MONDAY - 30 * DAY


def test_a_session_over_several_days_counts_before_from_the_first_and_after_from_the_last(world, make_session):
    from trainingmgr.sessions.services import add_slot

    session = make_session(course=world.dume)
    add_slot(session, {"date": MONDAY + 2 * DAY, "start_time": "09:00", "end_time": "12:00"})
    db.session.commit()
    due = {s.key: s.due for s in checklist.session_checklist(session, MONDAY)}
    assert due["convocations"] == MONDAY - 7 * DAY
    assert due["attendance"] == MONDAY + 3 * DAY and due["hot_survey"] == MONDAY + 2 * DAY


# --------------------------------------------------------------------------- automatic ticks from real data


def test_convocations_tick_themselves_once_every_trainee_s_convocation_has_left(world, make_class):
    session, enrolments = make_class(2)
    before = MONDAY - 8 * DAY
    assert states(session, before)["convocations"] == "pending"
    assert states(session, MONDAY - 6 * DAY)["convocations"] == "overdue"  # J−7 passed, nothing sent
    deliver_mail()  # the convocation jobs run and the e-mails leave: convocation_sent_at is recorded
    status = item(session, "convocations", MONDAY - 6 * DAY)
    assert status.state == "done" and (status.done_count, status.total) == (2, 2)
    assert status.evidence.startswith("2/2 convocations envoyées, la dernière le ")
    # A third trainee enrolled afterwards: 2/3 until hers leaves too.
    third = enrol(session, save_trainee(None, person(50)), actor=world.users["advisor"], notify=False)
    db.session.commit()
    status = item(session, "convocations", MONDAY - 6 * DAY)
    assert status.state == "overdue" and (status.done_count, status.total) == (2, 3)
    deliver_mail()
    assert states(session, MONDAY - 6 * DAY)["convocations"] == "done"
    assert third.id


def test_queued_but_unsent_convocations_do_not_count(world, make_class):
    session, _ = make_class(1)
    engine.fire_due(dt.datetime.combine(MONDAY - 7 * DAY, dt.time(9), tzinfo=PARIS))  # queued, not sent yet
    db.session.commit()
    assert states(session, MONDAY - 6 * DAY)["convocations"] == "overdue"


def test_attendance_ticks_itself_only_when_complete_and_countersigned(world, klass, clock):
    session, enrolments = klass
    trainer_user = world.users["trainer"]
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    change_status(session, "in_progress", world.users["advisor"], now=morning.starts_at)
    db.session.commit()
    # Everybody signs both half-days, but the trainer has not countersigned yet.
    sign_all(session, enrolments, trainer_user, countersign=False)
    status = item(session, "attendance", MONDAY)
    assert status.state == "pending"
    assert status.evidence.startswith("0/2 demi-journées contresignées")
    clock.at("12:31")
    attendance.countersign(morning, trainer_user, typed_name="Pierre Formateur")
    db.session.commit()
    assert item(session, "attendance", MONDAY).state == "pending"
    assert item(session, "attendance", MONDAY + 2 * DAY).state == "overdue"  # J+1 passed
    clock.at("17:31")
    attendance.countersign(afternoon, trainer_user, typed_name="Pierre Formateur")
    db.session.commit()
    status = item(session, "attendance", MONDAY + 2 * DAY)
    assert status.state == "done" and (status.done_count, status.total) == (2 + 6, 2 + 6)
    assert status.url.endswith(f"/attendance/sessions/{session.id}/verify")


def test_a_missing_signature_keeps_attendance_open_until_the_trainer_marks_the_absence(world, klass, clock):
    session, enrolments = klass
    trainer_user = world.users["trainer"]
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    change_status(session, "in_progress", world.users["advisor"], now=morning.starts_at)
    absent = enrolments[2]
    sign_all(session, enrolments, trainer_user, skip={(1, absent.id)}, countersign=False)
    clock.at("12:31")
    attendance.countersign(morning, trainer_user, typed_name="Pierre Formateur")
    clock.at("17:00")
    attendance.mark_presence(afternoon, absent, {"presence": "absent"}, trainer_user)
    clock.at("17:31")
    db.session.commit()
    assert item(session, "attendance", MONDAY).state == "pending"  # afternoon not countersigned
    attendance.countersign(afternoon, trainer_user, typed_name="Pierre Formateur")
    db.session.commit()
    assert item(session, "attendance", MONDAY).state == "done"  # an absence marked is a complete cell


def test_an_unsigned_cell_after_the_countersignature_is_not_complete(world, klass, clock):
    session, enrolments = klass
    morning = sorted(session.slots, key=lambda s: s.start_time)[0]
    change_status(session, "in_progress", world.users["advisor"], now=morning.starts_at)
    sign_all(session, enrolments, world.users["trainer"], skip={(0, enrolments[0].id)})
    status = item(session, "attendance", MONDAY + 2 * DAY)
    assert status.state == "overdue" and (status.done_count, status.total) == (2 + 5, 2 + 6)


def test_after_the_session_surveys_and_certificates_tick_from_what_was_sent(world, klass, surveys, clock):
    from trainingmgr.documents import services as documents
    from trainingmgr.evaluations.surveys.services import send_survey

    session, enrolments = klass
    advisor = world.users["advisor"]
    morning = sorted(session.slots, key=lambda s: s.start_time)[0]
    change_status(session, "in_progress", advisor, now=morning.starts_at)
    sign_all(session, enrolments, world.users["trainer"])
    # Before the end, the post-session items wait for the session to end.
    status = item(session, "hot_survey", MONDAY)
    assert status.state == "pending" and status.evidence == "Envoi automatique à la fin de la session."
    complete(session, advisor)
    after = MONDAY + DAY
    got = states(session, after)
    assert got["attendance"] == "done"
    assert got["hot_survey"] == "overdue"  # J+0 passed and no survey has left
    assert got["certificates"] == "pending" and got["cold_survey"] == "pending"
    send_survey({"session_id": session.id, "kind": "hot"})
    db.session.commit()
    status = item(session, "hot_survey", after)
    assert status.state == "done" and (status.done_count, status.total) == (3, 3)
    assert status.url.endswith(f"/evaluations/sessions/{session.id}")
    # Certificates: generated and e-mailed; queued is not sent.
    for enrolment in enrolments[:2]:
        documents.send_document(documents.generate("certificate", session, advisor, enrolment=enrolment, pdf=False),
                                advisor)
    db.session.commit()
    assert item(session, "certificates", after).done_count == 0
    send_due_messages(FAR)
    db.session.commit()
    status = item(session, "certificates", MONDAY + 8 * DAY)
    assert status.state == "overdue" and (status.done_count, status.total) == (2, 3)
    documents.send_document(documents.generate("certificate", session, advisor, enrolment=enrolments[2], pdf=False),
                            advisor)
    db.session.commit()
    send_due_messages(FAR)
    assert states(session, MONDAY + 8 * DAY)["certificates"] == "done"
    # The cold evaluation: overdue after J+60 until it leaves.
    assert states(session, MONDAY + 61 * DAY)["cold_survey"] == "overdue"
    send_survey({"session_id": session.id, "kind": "cold"})
    db.session.commit()
    assert states(session, MONDAY + 61 * DAY)["cold_survey"] == "done"


def test_a_session_nobody_attended_has_no_survey_nor_certificate_to_send(world, klass, clock):
    session, enrolments = klass
    advisor = world.users["advisor"]
    morning = sorted(session.slots, key=lambda s: s.start_time)[0]
    change_status(session, "in_progress", advisor, now=morning.starts_at)
    sign_all(session, enrolments, world.users["trainer"], skip={(n, e.id) for n in (0, 1) for e in enrolments})
    complete(session, advisor)
    status = item(session, "hot_survey", MONDAY + 90 * DAY)
    assert status.state == "na" and status.evidence == "Aucun stagiaire n'a suivi la formation."
    assert states(session, MONDAY + 90 * DAY)["certificates"] == "na"


@pytest.fixture
def signatory(world):
    from trainingmgr.companies.services import save_contact

    save_contact(world.company, None, {"role": "signatory", "name": "Anne Dupont", "email": "anne@dupont.example"})
    db.session.commit()
    return world.company


def test_conventions_and_contracts_tick_once_e_mailed(world, dume_session, signatory):
    from trainingmgr.documents import services as documents

    advisor = world.users["advisor"]
    employee = enrol(dume_session, save_trainee(None, person(1, company_id=world.company.id)), actor=advisor,
                     notify=False)
    individual = enrol(dume_session, save_trainee(None, person(2)), actor=advisor, notify=False)
    db.session.commit()
    status = item(dume_session, "convention_sent", MONDAY - 20 * DAY)
    assert status.state == "pending"
    assert status.evidence == "0/1 convention envoyée, 0/1 contrat envoyé"
    assert item(dume_session, "convention_sent", MONDAY - 14 * DAY).state == "overdue"
    convention = documents.generate("convention", dume_session, advisor, company=world.company, pdf=False)
    documents.send_document(convention, advisor)
    db.session.commit()
    send_due_messages(FAR)
    status = item(dume_session, "convention_sent", MONDAY - 14 * DAY)
    assert status.state == "overdue" and status.evidence.startswith("1/1 convention envoyée, 0/1 contrat envoyé")
    contract = documents.generate("contract", dume_session, advisor, enrolment=individual, pdf=False)
    documents.send_document(contract, advisor)
    db.session.commit()
    send_due_messages(FAR)
    status = item(dume_session, "convention_sent", MONDAY - 14 * DAY)
    assert status.state == "done" and status.url.endswith(f"/sessions/{dume_session.id}/documents")
    # Whether the signed copy came back, nothing records it: the "signed" item stays to tick by hand.
    assert item(dume_session, "convention_signed", MONDAY - 14 * DAY).state == "overdue"
    assert employee.id


def test_the_opco_item_does_not_apply_without_opco_funding_and_ticks_with_the_agreements(world, klass):
    session, enrolments = klass
    status = item(session, "opco_agreement", MONDAY + DAY)
    assert status.state == "na" and status.evidence == ("Aucune prise en charge à attendre (OPCO, France Travail, "
                                                        "financeur public…).")
    line = save_funding_line(enrolments[0], None, {"kind": "opco", "amount": "600", "opco_name": "OPCO EP",
                                                   "opco_status": "requested", "opco_file_number": "EP-1"})
    db.session.commit()
    assert item(session, "opco_agreement", MONDAY - 2 * DAY).state == "pending"
    status = item(session, "opco_agreement", MONDAY)
    assert status.state == "overdue" and status.evidence == "0/1 accord reçu"
    save_funding_line(enrolments[0], line, {"kind": "opco", "amount": "600", "opco_name": "OPCO EP",
                                            "opco_status": "agreed", "opco_file_number": "EP-1",
                                            "agreed_amount": "600", "agreed_on": MONDAY - 20 * DAY})
    db.session.commit()
    status = item(session, "opco_agreement", MONDAY)
    assert status.state == "done"
    assert status.evidence == f"1/1 accord reçu, le dernier le {(MONDAY - 20 * DAY):%d/%m/%Y}"


def test_the_agreement_item_waits_for_every_funder_but_a_fund_refunding_the_trainee(world, klass):
    session, enrolments = klass
    # A fund of the self-employed that refunds the trainee: the trainee's affair, nothing to wait for.
    fund = save_funding_line(enrolments[0], None, {"kind": "self_employed_fund", "amount": "600", "opco_name": "FIF PL",
                                                   "opco_status": "requested", "opco_file_number": "F-1"})
    db.session.commit()
    assert item(session, "opco_agreement", MONDAY).state == "na"
    save_funding_line(enrolments[1], None, {"kind": "france_travail", "amount": "600", "opco_status": "requested",
                                            "opco_file_number": "AIF-1"})
    db.session.commit()
    status = item(session, "opco_agreement", MONDAY)
    assert status.state == "overdue" and status.evidence == "0/1 accord reçu"
    # Under subrogation the fund pays the organisation: its agreement counts.
    save_funding_line(enrolments[0], fund, {"kind": "self_employed_fund", "amount": "600", "opco_name": "FIF PL",
                                            "opco_status": "agreed", "opco_file_number": "F-1", "subrogation": True,
                                            "agreed_amount": "600", "agreed_on": MONDAY - 9 * DAY})
    db.session.commit()
    status = item(session, "opco_agreement", MONDAY)
    assert status.state == "overdue" and status.evidence.startswith("1/2 accords reçus")


def test_positioning_is_done_with_a_decision_or_a_submitted_questionnaire(world, klass):
    session, enrolments = klass  # DUME: no prerequisite, confirmed without any decision
    status = item(session, "positioning", MONDAY)
    assert status.state == "overdue" and (status.done_count, status.total) == (0, 3)
    for enrolment in enrolments:
        record_decision(enrolment, "admitted", "", world.users["advisor"])
    db.session.commit()
    assert item(session, "positioning", MONDAY).state == "done"


def test_a_prerequisite_decision_confirms_and_positions(world, chorus_session, new_trainee):
    advisor = world.users["advisor"]
    enrolment = enrol(chorus_session, new_trainee(1), actor=advisor, notify=False)
    db.session.commit()
    assert enrolment.status == "pending_prerequisite"
    assert item(chorus_session, "positioning", MONDAY).state == "na"  # nobody confirmed yet
    record_decision(enrolment, "admitted_with_adaptation", "Supports agrandis", advisor)
    db.session.commit()
    assert item(chorus_session, "positioning", MONDAY).state == "done"


def test_cancelled_session_has_nothing_overdue_and_draft_is_never_overdue(world, make_class, make_session):
    session, _ = make_class(2)
    change_status(session, "cancelled", world.users["advisor"], reason="Formateur malade")
    db.session.commit()
    got = checklist.session_checklist(session, MONDAY + 100 * DAY)
    assert {s.state for s in got} == {"na"} and {s.evidence for s in got} == {"Session annulée."}
    draft = make_session(course=world.dume, start=MONDAY + 7 * DAY)
    assert "overdue" not in states(draft, MONDAY + 200 * DAY).values()
    assert all(o.session.id not in (session.id, draft.id) for o in checklist.overdue_items(MONDAY + 10 * DAY))


# --------------------------------------------------------------------------- the invoice item


def issue_all(session, advisor) -> list:
    """Propose the session's invoices and issue every draft (buyer addresses typed as the advisor would)."""
    from trainingmgr.billing.invoices.issue import issue_invoice
    from trainingmgr.billing.invoices.planning import propose_invoices
    from trainingmgr.billing.invoices.queries import list_invoices

    propose_invoices(session, advisor)
    db.session.commit()
    issued = []
    for draft in list_invoices(session_id=session.id, status="draft"):
        fill_buyer(draft)
        db.session.commit()
        issued.append(issue_invoice(draft, advisor))
        db.session.commit()
    return sorted(issued, key=lambda i: i.sequence)


def test_the_invoice_item_ticks_itself_once_every_payer_has_an_issued_invoice(inter):
    from trainingmgr.billing.invoices.credit_notes import credit_invoice
    from trainingmgr.billing.invoices.planning import propose_invoices

    session, company, advisor = inter.session, inter.world.company, inter.advisor
    julie = enrol_with(session, 1, [agreed("420.00", "EP-1"), {"kind": "company", "amount": "180.00"}], company)
    thomas = enrol_with(session, 2, [{"kind": "opco", "amount": "600.00", "opco_name": "OPCO EP",
                                      "opco_status": "requested", "opco_file_number": "EP-2", "subrogation": True}],
                        company)
    db.session.commit()
    late = MONDAY + 8 * DAY  # J+7 passed
    # Before the end of the session: nothing can be issued yet.
    status = item(session, "invoice", MONDAY)
    assert status.state == "pending"
    assert status.evidence == "À émettre une fois la session terminée (page Facturation de la session)."
    assert status.url.endswith(f"/sessions/{session.id}/billing")
    mark_completed(session)
    status = item(session, "invoice", late)
    assert status.state == "overdue" and (status.done_count, status.total) == (0, 2)
    assert status.evidence == ("0 facture émise ; reste à facturer : OPCO EP – dossier n° EP-1, Cabinet "
                               "d'architecture Dupont ; payeur inconnu pour 1 inscription (accord OPCO à "
                               "enregistrer, taux horaire ou heures manquants, entreprise à rattacher)")
    # Drafts do not count; issued invoices do, but Thomas's OPCO has not agreed yet: his payer is unknown.
    propose_invoices(session, advisor)
    db.session.commit()
    assert item(session, "invoice", late).evidence.startswith("0 facture émise ; reste à facturer : OPCO EP")
    first = issue_all(session, advisor)
    numbers = [i.number for i in first]
    status = item(session, "invoice", late)
    assert status.state == "overdue" and (status.done_count, status.total) == (2, 2)
    assert status.evidence.startswith(f"2 factures émises ({numbers[0]}, {numbers[1]}) ; payeur inconnu pour "
                                      "1 inscription")
    # The agreement arrives: the OPCO's invoice for Thomas is due, then issued; every payer is invoiced.
    save_funding_line(thomas, thomas.funding_lines[0], {**agreed("600.00", "EP-2")})
    db.session.commit()
    status = item(session, "invoice", late)
    assert status.state == "overdue" and status.evidence == (
        f"2 factures émises ({numbers[0]}, {numbers[1]}) ; reste à facturer : OPCO EP – dossier n° EP-2")
    numbers += [i.number for i in issue_all(session, advisor)]
    status = item(session, "invoice", late)
    assert status.state == "done" and (status.done_count, status.total) == (3, 3)
    assert status.evidence == f"3 factures émises ({', '.join(numbers)})"
    assert status.url.endswith(f"/sessions/{session.id}/billing")
    # A partial credit note leaves the invoice standing; a full one cancels it: that payer is to invoice again.
    company_invoice = next(i for i in first if i.payer_kind == "company")
    credit_invoice(company_invoice, advisor, "30", "Geste commercial")
    db.session.commit()
    assert item(session, "invoice", late).state == "done"
    credit_invoice(company_invoice, advisor, None, "Facture adressée par erreur")
    db.session.commit()
    status = item(session, "invoice", late)
    assert status.state == "overdue"
    assert status.evidence.startswith("2 factures émises") and "reste à facturer : Cabinet d'architecture Dupont" \
        in status.evidence
    assert julie.id


def test_the_invoice_item_by_hand_and_when_nothing_is_to_invoice(world, advisor, inter, make_session):
    session = inter.session
    enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], world.company)
    mark_completed(session)
    # Invoiced outside the application (before it billed): ticked by hand, with the number.
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "Facture FA-2031-0012 (ancien logiciel)"})
    assert response.status_code == 302
    assert item(session, "invoice", MONDAY + 30 * DAY).state == "manual"
    # Once the application has issued it, the data proves it: no un-ticking by hand.
    issue_all(session, world.users["advisor"])
    assert item(session, "invoice", MONDAY + 30 * DAY).state == "done"
    response = advisor.post(url(session, "untick", "invoice"))
    assert response.status_code == 409 and "d'après les données" in page(response)
    # An ended session whose only trainee came free of charge: nothing to invoice.
    free = make_session(course=world.dume, start=MONDAY + 7 * DAY)
    change_status(free, "open", world.users["advisor"])
    guest = enrol_with(free, 2, [], world.company)
    guest.price_excl_vat = Decimal("0.00")
    mark_completed(free)
    status = item(free, "invoice", MONDAY + 30 * DAY)
    assert status.state == "na"
    assert status.evidence == "Rien à facturer : aucune inscription facturable (ou des prix nuls)."


def test_the_invoice_item_of_an_intra_session(world, make_session):
    session = make_session(course=world.chorus, format="intra", client_company_id=world.company.id,
                           intra_price=Decimal("2400.00"), price_per_trainee=None)
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    assert item(session, "invoice", MONDAY).state == "pending"  # an intra session is invoiced to its client
    for n in (1, 2):
        enrol_with(session, n, [], world.company)
    mark_completed(session)
    status = item(session, "invoice", MONDAY + 30 * DAY)
    assert status.state == "overdue" and "reste à facturer : Cabinet d'architecture Dupont" in status.evidence
    [invoice] = issue_all(session, world.users["advisor"])
    status = item(session, "invoice", MONDAY + 30 * DAY)
    assert status.state == "done" and status.evidence == f"1 facture émise ({invoice.number})"


# --------------------------------------------------------------------------- the dashboard


def test_overdue_items_show_on_the_dashboard(app, world, make_class, advisor, monkeypatch):
    session, _ = make_class(2)
    later, _ = make_class(1, start=MONDAY + 12 * 7 * DAY)  # far ahead: nothing due yet
    today = MONDAY - 6 * DAY  # J−7 passed without convocations
    overdue = checklist.overdue_items(today)
    keys = [(o.session.id, o.key) for o in overdue]
    assert (session.id, "convocations") in keys and (session.id, "convention_sent") in keys
    assert all(o.session.id != later.id for o in overdue)
    assert overdue == sorted(overdue, key=lambda o: o.due)
    assert all((session.id, "convocations") != (o.session.id, o.key) for o in checklist.overdue_items(MONDAY - 8 * DAY))
    monkeypatch.setattr("trainingmgr.quality.dashboard.paris_today", lambda: today)
    text = page(advisor.get("/"))
    assert f'data-checklist-item="{session.id}:convocations"' in text
    assert "Convocations envoyées à tous" in text
    assert f"/sessions/{session.id}/checklist" in text
    # Once sent, the item leaves the list.
    deliver_mail()
    assert f'data-checklist-item="{session.id}:convocations"' not in page(advisor.get("/"))


def test_the_dashboard_window_leaves_old_sessions_out(world, make_class):
    session, _ = make_class(1)
    assert any(o.session.id == session.id for o in checklist.overdue_items(MONDAY + 89 * DAY))
    assert not any(o.session.id == session.id for o in checklist.overdue_items(MONDAY + 91 * DAY))
    assert checklist.session_checklist(session, MONDAY + 91 * DAY)  # the session's own page still has them


def test_overdue_items_with_invoices_take_a_fixed_number_of_queries(world, make_class, count_queries):
    """Ended sessions with funding lines (company, OPCO, public buyer) and issued invoices: the invoice item reads
    them for all the sessions at once."""
    from trainingmgr.companies.services import save_company

    advisor = world.users["advisor"]
    mairie = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015", "is_public_buyer": True,
                                 "chorus_service_code": "FACTURES", "address": "1 place de l'Hôtel de Ville",
                                 "postal_code": "31770", "city": "Colomiers"})
    db.session.commit()
    today = MONDAY + 9 * 7 * DAY

    def ended(week: int, issue: bool) -> None:
        session, _ = make_class(0, start=MONDAY + week * 7 * DAY)
        enrol_with(session, 10 * week + 1, [agreed("420.00", f"EP-{week}"), {"kind": "company", "amount": "180"}],
                   world.company)
        enrol_with(session, 10 * week + 2, [{"kind": "public_buyer", "amount": "600", "engagement_number": "EJ"}],
                   mairie)
        enrol_with(session, 10 * week + 3, [])
        mark_completed(session)
        if issue:
            issue_all(session, advisor)

    ended(0, True)
    ended(1, False)
    db.session.expire_all()
    with count_queries() as counter:
        few = checklist.overdue_items(today)
    for week in range(2, 5):
        ended(week, week % 2 == 0)
    db.session.expire_all()
    with count_queries() as more:
        many = checklist.overdue_items(today)
    invoice_items = [(o.session.id, o.key) for o in many if o.key == "invoice"]
    assert len({o.session.id for o in few}) == 2 and len(invoice_items) == 2  # weeks 1 and 3: nothing issued
    assert more.count == counter.count
    by_session = checklist.session_checklists([o.session for o in many], today)
    states_ = sorted(next(s.state for s in items if s.key == "invoice") for items in by_session.values())
    assert states_ == ["done", "done", "done", "overdue", "overdue"]


def test_overdue_items_take_a_fixed_number_of_queries(world, make_class, count_queries):
    today = MONDAY + 9 * 7 * DAY  # every session ended, within the dashboard window
    for week in range(2):
        make_class(2, start=MONDAY + week * 7 * DAY)
    db.session.expire_all()
    with count_queries() as counter:
        few = checklist.overdue_items(today)
    for week in range(2, 6):
        make_class(3, start=MONDAY + week * 7 * DAY)
    db.session.expire_all()
    with count_queries() as more:
        many = checklist.overdue_items(today)
    assert len({o.session.id for o in few}) == 2 and len({o.session.id for o in many}) == 6
    assert more.count == counter.count


# --------------------------------------------------------------------------- manual ticks


def url(session, action=None, key=None) -> str:
    return f"/sessions/{session.id}/checklist" + (f"/{key}/{action}" if action else "")


def test_the_page_lists_every_item_with_its_state(advisor, klass):
    session, _ = klass
    response = advisor.get(url(session))
    assert response.status_code == 200
    text = page(response)
    for entry in checklist.ITEMS:
        assert f'data-item="{entry.key}"' in text and entry.label in text
    assert "« Facture émise » se coche seul quand chaque payeur de la session a sa facture émise" in text
    assert f"/sessions/{session.id}/billing" in text


def test_manual_tick_needs_a_comment_then_shows_who_and_when(advisor, klass):
    session, _ = klass
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "   "})
    assert response.status_code == 422
    assert "Indiquez un commentaire" in page(response)
    assert ticks() == 0
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "x" * 2001})
    assert response.status_code == 422 and "ne doit pas dépasser 2000 caractères" in page(response)
    assert ticks() == 0
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "Facture FA-2031-0012"})
    assert response.status_code == 302
    assert ticks() == 1
    status = item(session, "invoice", MONDAY + 30 * DAY)
    assert status.state == "manual" and status.tick.comment == "Facture FA-2031-0012"
    assert status.tick.author.email == "conseil@test.example"
    text = page(advisor.get(url(session)))
    assert "Coché par Camille Conseil" in text and "Facture FA-2031-0012" in text
    # Twice: refused, still one tick.
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "encore"})
    assert response.status_code == 409 and "déjà coché" in page(response)
    assert ticks() == 1
    # Un-tick: the item is due again.
    assert advisor.post(url(session, "untick", "invoice")).status_code == 302
    assert ticks() == 0
    assert item(session, "invoice", MONDAY + 30 * DAY).state == "overdue"
    response = advisor.post(url(session, "untick", "invoice"))
    assert response.status_code == 409 and "rien à décocher" in page(response)


def test_an_item_the_data_does_not_show_yet_can_be_ticked_by_hand(advisor, klass):
    session, _ = klass  # convocations not sent: sent by post, say
    response = advisor.post(url(session, "tick", "convocations"), data={"comment": "Envoyées par courrier le 20/02"})
    assert response.status_code == 302
    assert item(session, "convocations", MONDAY).state == "manual"


def test_an_automatic_tick_cannot_be_ticked_nor_unticked_by_hand(advisor, world, make_class):
    session, _ = make_class(1)
    deliver_mail()
    assert item(session, "convocations", MONDAY).state == "done"
    response = advisor.post(url(session, "tick", "convocations"), data={"comment": "déjà fait"})
    assert response.status_code == 409 and "d'après les données" in page(response)
    response = advisor.post(url(session, "untick", "convocations"))
    assert response.status_code == 409 and "ne peut pas être décoché" in page(response)
    assert ticks() == 0


def test_not_applicable_unknown_cancelled_and_forged_ticks_are_refused(advisor, world, klass, make_class):
    session, _ = klass
    response = advisor.post(url(session, "tick", "opco_agreement"), data={"comment": "rien"})
    assert response.status_code == 409 and "ne s'applique pas" in page(response)
    response = advisor.post(url(session, "tick", "nonsense"), data={"comment": "rien"})
    assert response.status_code == 404 and "Point de contrôle inconnu" in page(response)
    response = advisor.post(url(session, "tick", "invoice"), data={"comment": "sans jeton"}, csrf=False)
    assert 400 <= response.status_code < 500
    assert advisor.get("/sessions/999999/checklist").status_code == 404
    cancelled, _ = make_class(1)
    change_status(cancelled, "cancelled", world.users["advisor"], reason="Trop peu d'inscrits")
    db.session.commit()
    response = advisor.post(url(cancelled, "tick", "invoice"), data={"comment": "Facture annulée"})
    assert response.status_code == 409 and "annulée" in page(response)
    assert ticks() == 0


def test_staff_only(client, trainer, trainer2, admin, advisor, klass):
    session, _ = klass
    response = client.get(url(session))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(url(session, "tick", "invoice"), data={"comment": "anonyme"}).status_code == 302
    for other in (trainer, trainer2):  # Pierre teaches it, Paula does not: neither manages it
        assert other.get(url(session)).status_code == 403
        assert other.post(url(session, "tick", "invoice"), data={"comment": "formateur"}).status_code == 403
        assert other.post(url(session, "untick", "invoice")).status_code == 403
    assert ticks() == 0
    assert admin.get(url(session)).status_code == 200
    # The session page shows the summary to the staff, not to the trainer.
    assert 'data-field="checklist"' in page(advisor.get(f"/sessions/{session.id}"))
    assert 'data-field="checklist"' not in page(trainer.get(f"/sessions/{session.id}"))


def test_the_service_refuses_a_trainer(world, klass):
    from trainingmgr.core.errors import PermissionDenied

    session, _ = klass
    with pytest.raises(PermissionDenied):
        checklist.tick_item(session, "invoice", "Facture", world.users["trainer"])


def test_session_checklists_serves_many_sessions_at_once(world, make_class):
    first, _ = make_class(1)
    second, _ = make_class(2)
    got = checklist.session_checklists([first, second], MONDAY)
    assert set(got) == {first.id, second.id}
    assert [s.key for s in got[second.id]] == [i.key for i in checklist.ITEMS]
    assert checklist.session_checklists([]) == {}
