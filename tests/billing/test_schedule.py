"""The payment schedule of a contrat de formation (billing/schedule.py): the proposal, the rules of L6353-5 and
L6353-6 on a frozen clock (nothing within the withdrawal period, a first call of 30 % at most, 30 % at most before the
course, the whole price and no more), the calls sent by their jobs exactly once (invoice issued, e-mailed with its
transfer QR code by the automation rule at the next pass), « Envoyer maintenant », the invoicing plan leaving the trainee's share to the schedule, and who may
do what."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.billing.invoices.drafts import create_draft
from trainingmgr.billing.invoices.planning import plan_invoices
from trainingmgr.billing.models import Invoice
from trainingmgr.billing.schedule import services as schedule
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.core.timeutil import PARIS
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job, OutboxMessage
from trainingmgr.messaging.services import run_due_jobs
from trainingmgr.organisation.services import update_organisation
from trainingmgr.sessions.services import change_status

from tests.billing.transfer_support import IBAN, decode
from tests.fixtures.billing import enrol_with, fill_buyer, flat
from tests.helpers import page

D = Decimal
SIGNED = dt.date(2031, 2, 1)  # the contract's signature: withdrawal until 11/02/2031 included
AFTER_WITHDRAWAL = dt.date(2031, 2, 12)
COURSE_DAY = dt.date(2031, 3, 3)  # the DUME session: one day, 8 h, 600 € (exempt from VAT)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS).astimezone(dt.UTC)


class Clock:
    """Freezes the day the schedule reads (``clock.day = …`` moves it)."""

    def __init__(self, monkeypatch, day: dt.date):
        self.day = day
        monkeypatch.setattr("trainingmgr.billing.schedule.services.paris_today", lambda: self.day)


@pytest.fixture
def schedule_clock(monkeypatch):
    return Clock(monkeypatch, dt.date(2031, 2, 5))


@pytest.fixture
def paul(inter):
    """Paul pays his 600 € training himself (funding line « Stagiaire »); contract signed on 01/02/2031."""
    enrolment = enrol_with(inter.session, 1, [{"kind": "individual", "amount": "600.00"}])
    enrolment.contract_signed_on = SIGNED
    db.session.commit()
    return enrolment


def rows(*calls) -> list[dict]:
    return [{"due_on": day, "amount": amount} for day, amount in calls]


def refused(enrolment, calls, advisor, today, *messages) -> None:
    """Saving ``calls`` is refused with each message, and the schedule is left as it was."""
    before = [(c.id, c.due_on, c.amount, c.status) for c in schedule.calls_of(enrolment)]
    with pytest.raises(ValidationError) as refusal:
        schedule.save(enrolment, rows(*calls), advisor, today=today)
    db.session.rollback()
    said = flat(" ".join(m for ms in refusal.value.fields.values() for m in ms))
    for message in messages:
        assert message in said, said
    assert [(c.id, c.due_on, c.amount, c.status) for c in schedule.calls_of(enrolment)] == before


def worker_pass(moment: dt.datetime) -> None:
    """One pass of the worker: the due jobs (a call's invoice), then the automation rules (its e-mail, the rule
    « Échéance d'un contrat de formation »), committed."""
    from trainingmgr.automations import engine

    run_due_jobs(moment)
    engine.fire_due(moment)
    db.session.commit()


def outbox(enrolment) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.enrolment_id == enrolment.id,
                                                                OutboxMessage.topic == "payment_call")
                                   .order_by(OutboxMessage.id)))


def trainee_invoices(enrolment) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.payer_trainee_id == enrolment.trainee_id)
                                   .order_by(Invoice.id)))


# --------------------------------------------------------------------------- the proposal


def test_the_proposal_waits_for_the_withdrawal_period_and_asks_30_percent_first(paul):
    calls = schedule.propose(paul, today=dt.date(2031, 2, 5))
    assert [(c.due_on, c.amount) for c in calls] == [(AFTER_WITHDRAWAL, D("180.00")), (COURSE_DAY, D("420.00"))]
    # Signed late: the first call is due today, the balance on the course's day.
    assert schedule.propose(paul, today=dt.date(2031, 2, 20))[0].due_on == dt.date(2031, 2, 20)
    # The withdrawal period ends after the course: everything at once.
    assert [(c.due_on, c.amount) for c in schedule.propose(paul, today=dt.date(2031, 3, 10))] == [
        (dt.date(2031, 3, 10), D("600.00"))]


def test_the_balance_is_called_as_the_course_goes():
    assert schedule.course_call_dates(dt.date(2031, 1, 31), dt.date(2031, 4, 15)) == [
        dt.date(2031, 1, 31), dt.date(2031, 2, 28), dt.date(2031, 3, 31), dt.date(2031, 4, 15)]
    assert schedule.course_call_dates(COURSE_DAY, COURSE_DAY) == [COURSE_DAY]


def test_nothing_is_scheduled_before_the_contracts_signature_nor_for_a_company(paul, inter):
    paul.contract_signed_on = None
    with pytest.raises(ConflictError, match="date de signature du contrat"):
        schedule.propose(paul)
    with pytest.raises(ConflictError, match="date de signature du contrat"):
        schedule.save(paul, rows((AFTER_WITHDRAWAL, "600")), inter.advisor)
    employee = enrol_with(inter.session, 2, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    with pytest.raises(ConflictError, match="une convention s'applique"):
        schedule.propose(employee)


# --------------------------------------------------------------------------- the rules, on a frozen clock


def test_a_call_within_the_withdrawal_period_is_refused(paul, inter):
    refused(paul, [(dt.date(2031, 2, 11), "180"), (COURSE_DAY, "420")], inter.advisor, dt.date(2031, 2, 5),
            "Échéance 1 : le 11/02/2031 tombe dans le délai de rétractation (jusqu'au 11/02/2031 inclus)")


def test_a_first_call_above_30_percent_is_refused(paul, inter):
    refused(paul, [(AFTER_WITHDRAWAL, "180.01"), (COURSE_DAY, "419.99")], inter.advisor, dt.date(2031, 2, 5),
            "Échéance 1 : 180,01 € dépasse 30 % de ce que paie le stagiaire (600,00 €)", "limité à 180,00 €")


def test_calls_before_the_course_add_up_to_30_percent_at_most(paul, inter):
    refused(paul, [(AFTER_WITHDRAWAL, "100"), (dt.date(2031, 2, 20), "100"), (COURSE_DAY, "400")], inter.advisor,
            dt.date(2031, 2, 5), "dues avant le début de la formation (le 03/03/2031) totalisent 200,00 €")


def test_a_schedule_that_does_not_add_up_is_refused(paul, inter):
    refused(paul, [(AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "400")], inter.advisor, dt.date(2031, 2, 5),
            "totalisent 580,00 € alors que le stagiaire doit 600,00 € (il manque 20,00 €)")
    refused(paul, [(AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "500")], inter.advisor, dt.date(2031, 2, 5),
            "80,00 € de trop")
    refused(paul, [], inter.advisor, dt.date(2031, 2, 5), "Indiquez au moins une échéance")


@pytest.mark.parametrize(("amount", "message"), [("abc", "doit être un nombre"), ("-5", "positif"),
                                                 ("0", "supérieur à 0"), ("1.234", "deux décimales"),
                                                 ("", "Le montant de l'échéance 2 est obligatoire")])
def test_bad_amounts_and_dates_are_refused_naming_the_call(paul, inter, amount, message):
    refused(paul, [(AFTER_WITHDRAWAL, "180"), (COURSE_DAY, amount)], inter.advisor, dt.date(2031, 2, 5), message)


def test_a_date_in_the_past_or_unreadable_is_refused(paul, inter):
    refused(paul, [(AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "420")], inter.advisor, dt.date(2031, 2, 20),
            "Échéance 1 : le 12/02/2031 est passé")
    refused(paul, [("31/02/2031", "180"), (COURSE_DAY, "420")], inter.advisor, dt.date(2031, 2, 5), "date invalide")


def test_saving_replaces_only_the_calls_not_sent(paul, inter):
    made = schedule.save(paul, rows((AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "420")), inter.advisor,
                         today=dt.date(2031, 2, 5))
    db.session.commit()
    assert [(c.position, c.due_on, c.amount, c.status) for c in made] == [
        (1, AFTER_WITHDRAWAL, D("180.00"), "planned"), (2, COURSE_DAY, D("420.00"), "planned")]
    jobs = {job.key: job.due_at for job in db.session.scalars(select(Job).where(Job.kind == "payment_call"))}
    assert jobs == {f"payment_call:{made[0].id}": at(AFTER_WITHDRAWAL, 8),
                    f"payment_call:{made[1].id}": at(COURSE_DAY, 8)}
    again = schedule.save(paul, rows((AFTER_WITHDRAWAL, "150"), (dt.date(2031, 3, 1), "30"), (COURSE_DAY, "420")),
                          inter.advisor, today=dt.date(2031, 2, 6))
    db.session.commit()
    assert [c.amount for c in schedule.calls_of(paul)] == [D("150.00"), D("30.00"), D("420.00")]
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == "payment_call")) == 3
    assert {f"payment_call:{c.id}" for c in again} == set(db.session.scalars(
        select(Job.key).where(Job.kind == "payment_call", Job.status == "pending")))


# --------------------------------------------------------------------------- sending


@pytest.fixture
def scheduled(paul, inter, schedule_clock):
    """Paul's schedule saved (180 € on 12/02, 420 € on 03/03), the session confirmed, the organisation's IBAN set."""
    update_organisation({"iban": IBAN, "bic": "AGRIFRPP"})
    change_status(inter.session, "confirmed", inter.advisor)
    schedule.save(paul, rows((AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "420")), inter.advisor, today=schedule_clock.day)
    db.session.commit()
    return paul


def test_the_jobs_send_exactly_the_due_calls_once(scheduled, schedule_clock, advisor):
    paul = scheduled
    first, second = schedule.calls_of(paul)
    schedule_clock.day = AFTER_WITHDRAWAL
    run_due_jobs(at(AFTER_WITHDRAWAL))
    # No postal address known yet: the call waits, and the schedule page says why.
    db.session.expire_all()
    assert (first.status, trainee_invoices(paul), outbox(paul)) == ("planned", [], [])
    reason, retry = schedule.refusals([first])[first.id]
    assert "Adresse postale de Prénom01 Nom01 inconnue" in reason and retry == at(AFTER_WITHDRAWAL + dt.timedelta(1), 8)
    shown = page(advisor.get(f"/enrolments/{paul.id}/schedule"))
    assert "Non envoyée : Adresse postale" in shown
    # Sent from the page with the address typed there.
    response = advisor.post(f"/enrolments/{paul.id}/schedule/{first.id}/send",
                            data={"buyer_address": "5 rue des Fleurs", "buyer_postal_code": "31400",
                                  "buyer_city": "Toulouse"})
    assert response.status_code == 302, flat(page(response))
    worker_pass(at(AFTER_WITHDRAWAL, 10))  # the rule mails the invoice at the next pass
    db.session.expire_all()
    [invoice] = trainee_invoices(paul)
    assert (first.status, first.invoice_id, invoice.status, invoice.total_incl_vat) == ("sent", invoice.id,
                                                                                        "issued", D("180.00"))
    [line] = invoice.lines
    assert line.description.startswith("Échéance 1/2 du contrat de formation – formation « ")
    assert (line.enrolment_id, line.funding_line_id) == (paul.id, paul.funding_lines[0].id)
    assert (invoice.issue_date, invoice.buyer_city) == (AFTER_WITHDRAWAL, "Toulouse")
    [mail] = outbox(paul)
    assert mail.recipient == paul.trainee.email and "Échéance 1/2" in mail.subject
    files = {a.filename: a for a in mail.attachments}
    assert set(files) == {f"{invoice.number}.docx", f"virement-{invoice.number}.png"}
    assert decode(files[f"virement-{invoice.number}.png"].data)[6:] == [IBAN, "EUR180", "", "", invoice.number]
    assert "échéance 2 : 420,00 € le 03/03/2031" in flat(mail.body_text)
    # The second call leaves on the course's day, once, with the address of the first invoice.
    schedule_clock.day = COURSE_DAY
    for _ in range(2):
        worker_pass(at(COURSE_DAY))
    db.session.expire_all()
    assert [c.status for c in schedule.calls_of(paul)] == ["sent", "sent"]
    assert [i.total_incl_vat for i in trainee_invoices(paul)] == [D("180.00"), D("420.00")]
    assert len(outbox(paul)) == 2 and second.invoice.lines[0].description.startswith("Échéance 2/2")
    assert second.invoice.buyer_address == "5 rue des Fleurs"


def test_a_call_the_rules_refuse_stays_planned_and_says_why(paul, inter, schedule_clock):
    # The session is still open to enrolments (not confirmed): nothing can be invoiced yet.
    fill_buyer(create_draft(inter.session, {"payer_kind": "individual", "payer_trainee_id": paul.trainee_id},
                                    inter.advisor))  # the trainee's address, typed on a draft
    schedule.save(paul, rows((AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "420")), inter.advisor, today=schedule_clock.day)
    db.session.commit()
    first = schedule.calls_of(paul)[0]
    schedule_clock.day = AFTER_WITHDRAWAL
    run_due_jobs(at(AFTER_WITHDRAWAL))
    db.session.expire_all()
    assert first.status == "planned" and first.invoice_id is None and outbox(paul) == []
    assert [i.status for i in trainee_invoices(paul)] == ["draft"]  # the call's invoice was not kept
    assert "la session est « inscriptions ouvertes »" in schedule.refusals([first])[first.id][0]


def test_sending_now_follows_the_contract(scheduled, inter, schedule_clock, advisor):
    paul = scheduled
    first, second = schedule.calls_of(paul)
    address = {"buyer_address": "5 rue des Fleurs", "buyer_postal_code": "31400", "buyer_city": "Toulouse"}
    schedule_clock.day = dt.date(2031, 2, 8)  # within the withdrawal period
    response = advisor.post(f"/enrolments/{paul.id}/schedule/{first.id}/send", data=address)
    assert response.status_code == 409 and "Délai de rétractation en cours jusqu'au 11/02/2031" in flat(page(response))
    schedule_clock.day = dt.date(2031, 2, 15)
    response = advisor.post(f"/enrolments/{paul.id}/schedule/{second.id}/send", data=address)
    assert response.status_code == 409 and "Avant le début de la formation (le 03/03/2031)" in flat(page(response))
    db.session.expire_all()
    assert (first.status, second.status, trainee_invoices(paul)) == ("planned", "planned", [])
    assert advisor.post(f"/enrolments/{paul.id}/schedule/{first.id}/send", data=address).status_code == 302
    response = advisor.post(f"/enrolments/{paul.id}/schedule/{first.id}/send", data=address)
    assert response.status_code == 409 and "déjà « envoyé »" in flat(page(response))
    # A sent call stays when the schedule is saved again; the others must still add up with it.
    with pytest.raises(ValidationError, match="Certains champs"):
        schedule.save(paul, rows((COURSE_DAY, "400")), inter.advisor, today=schedule_clock.day)
    db.session.rollback()
    schedule.save(paul, rows((COURSE_DAY, "220"), (dt.date(2031, 3, 4), "200")), inter.advisor, today=schedule_clock.day)
    db.session.commit()
    assert [(c.position, c.status) for c in schedule.calls_of(paul)] == [(1, "sent"), (2, "planned"), (3, "planned")]


def test_a_cancelled_enrolments_call_is_cancelled(scheduled, inter, schedule_clock):
    from trainingmgr.enrolments.services import cancel

    paul = scheduled
    cancel(paul, inter.advisor, "Rétractation par lettre recommandée", notify=False)
    db.session.commit()
    schedule_clock.day = AFTER_WITHDRAWAL
    run_due_jobs(at(AFTER_WITHDRAWAL))
    db.session.expire_all()
    assert schedule.calls_of(paul)[0].status == "cancelled" and trainee_invoices(paul) == []


def test_the_invoicing_plan_leaves_the_trainees_share_to_the_schedule(paul, inter):
    change_status(inter.session, "confirmed", inter.advisor)
    db.session.commit()
    assert [p.payer_kind for p in plan_invoices(inter.session).invoices] == ["individual"]
    schedule.save(paul, rows((AFTER_WITHDRAWAL, "180"), (COURSE_DAY, "420")), inter.advisor, today=dt.date(2031, 2, 5))
    db.session.commit()
    plan = plan_invoices(inter.session)
    assert plan.invoices == []
    assert any("sa part est facturée par l'échéancier de son contrat de formation" in note for note in plan.notes)


# --------------------------------------------------------------------------- who may


def test_only_staff_see_and_change_a_schedule(scheduled, inter, as_user, users):
    paul = scheduled
    call = schedule.calls_of(paul)[0]
    for email in ("formateur@test.example", "formateur2@test.example"):
        client = as_user(email)
        assert client.get(f"/enrolments/{paul.id}/schedule").status_code == 403
        assert client.post(f"/enrolments/{paul.id}/schedule", data={"calls-0-due_on": "2031-02-12",
                                                                     "calls-0-amount": "600"}).status_code == 403
        assert client.post(f"/enrolments/{paul.id}/schedule/{call.id}/send").status_code == 403
    with pytest.raises(PermissionDenied):
        schedule.save(paul, rows((AFTER_WITHDRAWAL, "600")), users["trainer"])
    with pytest.raises(PermissionDenied):
        schedule.send_call(call, users["trainer"])
    db.session.expire_all()
    assert [c.status for c in schedule.calls_of(paul)] == ["planned", "planned"]


def test_the_schedule_page_saves_the_calls_and_refuses_bad_ones(paul, inter, advisor, schedule_clock):
    url = f"/enrolments/{paul.id}/schedule"
    shown = page(advisor.get(url))
    assert 'value="2031-02-12"' in shown and 'value="180,00"' in shown  # the proposal, ready to save
    response = advisor.post(url, data={"calls-0-due_on": "2031-02-10", "calls-0-amount": "180",
                                       "calls-1-due_on": "2031-03-03", "calls-1-amount": "420"})
    assert response.status_code == 422 and "tombe dans le délai de rétractation" in flat(page(response))
    assert schedule.calls_of(paul) == []
    response = advisor.post(url, data={"calls-0-due_on": "2031-02-12", "calls-0-amount": "180,00",
                                       "calls-1-due_on": "2031-03-03", "calls-1-amount": "420",
                                       "calls-2-due_on": "", "calls-2-amount": ""})
    assert response.status_code == 302, flat(page(response))
    assert [c.amount for c in schedule.calls_of(paul)] == [D("180.00"), D("420.00")]
    shown = flat(page(advisor.get(url)))
    assert "12/02/2031" in shown and "Envoyer maintenant" in shown and "Adresse postale du stagiaire" in shown
