"""Consistency checks: the documents and invoices of a session say what the session and its attendance sheets say —
the well-kept demo has no mismatch; a certificate whose hours are no longer those signed, a convention printed before
the title, dates, place or hours changed, an invoice of a trainee not on the sheets are each flagged, once; the
session page lists them for the staff; the checks cost the same for 2 trainees as for 8."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from tests.fixtures.billing import make_invoice
from tests.fixtures.documents import deliver
from tests.helpers import login, page
from trainingmgr.billing.models import InvoiceLine
from trainingmgr.documents import services as documents
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.quality.consistency import Mismatch, period_mismatches, session_mismatches

D = Decimal


def pack(d, session) -> dict[tuple[str, str], GeneratedDocument]:
    """The session's pack generated as the advisor does; its documents by (type, subject)."""
    made = documents.generate_session_pack(session, d.advisor, pdf=False)
    db.session.commit()
    return {(document.doc_type, document.subject): document for document in made}


def fields(mismatches: list[Mismatch]) -> list[tuple[str, str]]:
    return [(m.document.split(" n° ")[0], m.field) for m in mismatches]


def issued_invoice(world, session, enrolments, hours: dict | None = None):
    """An issued invoice of ``session`` with one training line per enrolment (as billing writes them)."""
    hours = hours or {}
    invoice = make_invoice(world, session_id=session.id, service_start=session.first_date,
                           service_end=session.last_date)
    invoice.lines.clear()
    for n, enrolment in enumerate(enrolments, start=1):
        invoice.lines.append(InvoiceLine(
            position=n, enrolment_id=enrolment.id, hours=hours.get(enrolment.id),
            description=f"Formation « {session.title} » {session.dates_label} – {enrolment.trainee.full_name}",
            quantity=D(1), unit_price_excl_vat=D("600.00"), total_excl_vat=D("600.00")))
    db.session.commit()
    return invoice


# --------------------------------------------------------------------------- a consistent organisation


def test_the_well_kept_demo_has_no_mismatch(demo_with_paperwork):
    demo = demo_with_paperwork
    for session in [demo.past, *demo.upcoming]:
        assert session_mismatches(session) == [], session.title
    first = demo.past.first_date - dt.timedelta(days=1)
    found = period_mismatches(first, first + dt.timedelta(days=60))
    assert set(found) == {demo.past.id, *(s.id for s in demo.upcoming)}
    assert all(items == [] for items in found.values())
    assert period_mismatches(first, first + dt.timedelta(days=60), session_ids=[demo.past.id]) == {demo.past.id: []}


def test_a_delivered_session_with_its_pack_is_consistent(delivered):
    pack(delivered, delivered.dume)
    assert session_mismatches(delivered.dume) == []


# --------------------------------------------------------------------------- hours


def test_a_certificate_whose_hours_are_no_longer_those_signed_is_flagged(delivered):
    from tests.documents.test_reissue import correct_sarah

    d = delivered
    made = pack(d, d.dume)
    sarah = correct_sarah(d)  # left at 15:30: 6 h signed, the documents say 8 h
    certificate = made[("certificate", f"enrolment:{sarah.id}")]
    attestation = made[("attestation", f"enrolment:{sarah.id}")]
    found = session_mismatches(d.dume)
    name = sarah.trainee.full_name
    assert found == [
        Mismatch("Heures", f"Attestation de fin de formation n° {attestation.number}", "6 h", "8 h",
                 f"Attestation de fin de formation n° {attestation.number} : 8 h indiquées pour {name}, 6 h signées "
                 "sur les feuilles d'émargement.", sarah.id),
        Mismatch("Heures", f"Certificat de réalisation n° {certificate.number}", "6 h", "8 h",
                 f"Certificat de réalisation n° {certificate.number} : 8 h indiquées pour {name}, 6 h signées sur "
                 "les feuilles d'émargement.", sarah.id),
    ]
    # Only the current version counts: re-issued, the documents agree again.
    pack(d, d.dume)
    assert session_mismatches(d.dume) == []


def test_an_invoice_line_with_other_hours_than_signed_is_flagged(world, make_class):
    session, (first, second) = make_class(2)  # confirmed, nobody has signed yet: 0 h
    invoice = issued_invoice(world, session, [first, second], hours={first.id: D("7")})
    found = session_mismatches(session)
    assert [(m.field, m.expected, m.found, m.enrolment_id) for m in found] == [("Heures", "0 h", "7 h", first.id)]
    assert found[0].message == (f"Facture n° {invoice.number} : 7 h facturées pour {first.trainee.full_name}, 0 h "
                                "signées sur les feuilles d'émargement.")


# --------------------------------------------------------------------------- title, dates, place


def test_title_dates_place_and_hours_changed_after_the_convention_are_flagged(demo):
    d = demo
    session = d.dume
    enrolment = next(e for e in d.enrolments.values() if e.session_id == session.id and e.company_id)
    convention = documents.generate("convention", session, d.advisor, company=enrolment.company, pdf=False)
    db.session.commit()
    assert session_mismatches(session) == []
    before = convention.context["session"]
    label = f"Convention de formation professionnelle n° {convention.number}"
    # The course version retitled, the half-days a week later and shorter, another room.
    session.course_version.title = "Marchés publics : le nouveau DUME"
    for slot in session.slots:
        slot.date += dt.timedelta(days=7)
    session.slots[-1].end_time = dt.time(16, 30)
    session.location.name = "Salle Garonne"
    db.session.flush()
    found = {m.field: m for m in session_mismatches(session)}
    assert set(found) == {"Intitulé", "Dates", "Heures", "Lieu"}
    assert all(m.document == label for m in found.values())
    assert found["Intitulé"].message == (f"{label} : intitulé « {convention.context['course']['title']} », la "
                                         "formation s'intitule « Marchés publics : le nouveau DUME ».")
    assert found["Dates"].found == before["dates"] and found["Dates"].expected == session.dates_label
    assert found["Dates"].message == f"{label} : dates « {before['dates']} », la session a lieu {session.dates_label}."
    assert found["Heures"].found == before["hours"] and found["Heures"].expected != before["hours"]
    assert "Salle Garonne" in found["Lieu"].expected and found["Lieu"].found == before["place"]


def test_a_convention_missing_a_trainee_of_its_company_is_flagged(demo):
    from tests.enrolments.support import person
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.trainees.services import save_trainee

    d = demo
    session = d.dume
    enrolment = next(e for e in d.enrolments.values() if e.session_id == session.id and e.company_id)
    convention = documents.generate("convention", session, d.advisor, company=enrolment.company, pdf=False)
    colleague = save_trainee(None, person(71, company_id=enrolment.company_id))
    db.session.flush()
    added = enrol(session, colleague, company=enrolment.company, notify=False)
    added.status = "confirmed"
    db.session.flush()
    found = session_mismatches(session)
    assert [(m.field, m.expected, m.enrolment_id) for m in found] == [("Stagiaires", colleague.display_name, added.id)]
    assert found[0].message == (f"Convention de formation professionnelle n° {convention.number} : "
                                f"{colleague.display_name} figure sur la liste des stagiaires de la session, mais pas "
                                "sur ce document.")


# --------------------------------------------------------------------------- trainees on the invoices


def test_an_invoice_of_a_trainee_not_on_the_sheets_is_flagged(world, make_class):
    session, (kept, left) = make_class(2)
    invoice = issued_invoice(world, session, [kept, left])
    assert session_mismatches(session) == []
    left.status = "cancelled"
    db.session.commit()
    found = session_mismatches(session)
    assert [(m.field, m.found, m.enrolment_id) for m in found] == [("Stagiaires", left.trainee.full_name, left.id)]
    assert found[0].message == (f"Facture n° {invoice.number} : une ligne facture {left.trainee.full_name}, qui ne "
                                "figure pas sur la liste des stagiaires de la session.")


def test_an_invoice_cancelled_by_a_credit_note_is_not_compared(world, make_class):
    session, (kept, left) = make_class(2)
    invoice = issued_invoice(world, session, [kept, left])
    left.status = "cancelled"
    make_invoice(world, kind="credit_note", credited=invoice, session_id=session.id)
    assert session_mismatches(session) == []


def test_an_invoice_with_other_service_dates_or_title_is_flagged(world, make_class):
    session, enrolments = make_class(1)
    invoice = issued_invoice(world, session, enrolments)
    invoice.service_start = invoice.service_end = session.first_date - dt.timedelta(days=7)
    invoice.lines[0].description = "Formation « Chorus Pro, l'essentiel » le 24/02/2031 – " + \
        enrolments[0].trainee.full_name
    db.session.commit()
    found = {m.field: m for m in session_mismatches(session)}
    assert set(found) == {"Dates", "Intitulé"}
    assert found["Dates"].found == f"le {(session.first_date - dt.timedelta(days=7)).strftime('%d/%m/%Y')}"
    assert found["Intitulé"].found == "Chorus Pro, l'essentiel" and found["Intitulé"].expected == session.title


# --------------------------------------------------------------------------- the session page


def test_the_session_page_lists_the_mismatches_for_the_staff_only(app, world, make_class):
    session, (first, second) = make_class(2)
    client = app.test_client()
    login(client, "conseil@test.example")
    shown = page(client.get(f"/sessions/{session.id}"))
    assert 'data-field="consistency-none"' in shown and "Aucune incohérence" in shown
    invoice = issued_invoice(world, session, [first, second])
    second.status = "cancelled"
    db.session.commit()
    shown = page(client.get(f"/sessions/{session.id}"))
    assert "1 incohérence" in shown and "Aucune incohérence" not in shown
    assert f"Facture n° {invoice.number} : une ligne facture {second.trainee.full_name}" in shown
    trainer = app.test_client()
    login(trainer, "formateur@test.example")
    response = trainer.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    assert 'data-field="consistency' not in page(response)


# --------------------------------------------------------------------------- cost


def _delivered_with_paperwork(world, make_class, n: int):
    """A delivered session of ``n`` trainees with their certificates and an invoice line each."""
    session, enrolments = make_class(n)
    deliver(session, world.users["advisor"], world.users["trainer"])
    for enrolment in enrolments:
        db.session.refresh(enrolment)
        documents.generate("certificate", session, world.users["advisor"], enrolment=enrolment, pdf=False)
    db.session.commit()
    issued_invoice(world, session, enrolments, hours={e.id: session.planned_hours for e in enrolments})
    db.session.expire_all()
    return session


def test_the_statements_do_not_grow_with_the_trainees(world, make_class, count_queries):
    small = _delivered_with_paperwork(world, make_class, 2)
    large = _delivered_with_paperwork(world, make_class, 8)
    counts = []
    for session_id in (small.id, large.id):
        db.session.expire_all()
        session = db.session.get(type(small), session_id)
        with count_queries() as statements:
            assert session_mismatches(session) == []
        counts.append(statements.count)
    assert counts[0] == counts[1] <= 20, counts
    # The pack's check of a period: the same statements for one session as for two.
    start, end = small.first_date, large.last_date
    for ids in ([small.id], [small.id, large.id]):
        db.session.expire_all()
        with count_queries() as statements:
            assert period_mismatches(start, end, session_ids=ids) == {i: [] for i in ids}
        counts.append(statements.count)
    assert counts[2] == counts[3], counts
    assert db.session.scalar(select(Enrolment.hours_attended).where(Enrolment.session_id == large.id).limit(1))
