"""The audit log (trainingmgr/audit): entries written by the flush listener with before/after values, and the
page /admin/audit (filters, pagination, permissions)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from trainingmgr.audit import tracking
from trainingmgr.audit.models import AuditEntry
from trainingmgr.billing.invoices.planning import propose_invoices
from trainingmgr.billing.payments import services as payments
from trainingmgr.extensions import db

from tests.attendance.support import drawing, link, slots
from tests.fixtures.billing import invoices_of
from tests.helpers import page


def entries(object_type: str | None = None, object_id: int | None = None, action: str | None = None):
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEntry.id)))


def settings(world, **overrides) -> dict:
    data = {"format": "inter", "delivery_mode": "presentiel", "location_id": str(world.room.id),
            "trainer_ids": [str(world.pierre.id)], "capacity": "7", "min_trainees": "1",
            "price_per_trainee": "600,00", "intra_price": "", "client_company_id": "", "notes": ""}
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- what is recorded


def test_session_creation_update_and_cancellation_with_before_after(world, make_session, advisor, users):
    session = make_session(capacity=7)
    created = entries("session", session.id)
    assert [e.action for e in created] == ["create"]
    assert created[0].changes["capacity"] == [None, 7] and created[0].actor_label == "système"  # no request
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=settings(world, capacity="5", price_per_trainee="650,00", notes="Salle B"))
    assert response.status_code == 302, page(response)
    update = entries("session", session.id, "update")[-1]
    assert update.changes["capacity"] == [7, 5]
    assert update.changes["price_per_trainee"] == ["600.00", "650.00"]
    assert update.changes["notes"] == ["", "Salle B"]
    assert "updated_at" not in update.changes and "location_id" not in update.changes
    assert update.actor_id == users["advisor"].id and update.actor_label == "Camille Conseil"
    assert update.ip == "127.0.0.1" and "Session n° " in update.summary
    # Saving the same values again changes nothing: no entry.
    before = count()
    assert advisor.post(f"/sessions/{session.id}/edit",
                        data=settings(world, capacity="5", price_per_trainee="650,00", notes="Salle B")
                        ).status_code == 302
    assert count() == before
    # A refused edit (capacity beyond the course maximum) records nothing: it was rolled back.
    response = advisor.post(f"/sessions/{session.id}/edit", data=settings(world, capacity="500"))
    assert response.status_code == 422 and count() == before
    # Status change and cancellation.
    assert advisor.post(f"/sessions/{session.id}/status", data={"status": "open"}).status_code == 302
    opened = entries("session", session.id, "status")[-1]
    assert opened.changes["status"] == ["draft", "open"] and "Inscriptions ouvertes" in opened.summary
    response = advisor.post(f"/sessions/{session.id}/status",
                            data={"status": "cancelled", "cancel_reason": "Formateur indisponible"})
    assert response.status_code == 302, page(response)
    cancelled = entries("session", session.id, "cancel")[-1]
    assert cancelled.changes["status"] == ["open", "cancelled"]
    assert cancelled.changes["cancel_reason"] == ["", "Formateur indisponible"]


def test_enrolment_cancellation_records_the_status_and_reason(dume_session, new_trainee, advisor, users, world):
    from trainingmgr.enrolments.services import enrol

    with tracking.acting_as(users["advisor"]):
        enrolment = enrol(dume_session, new_trainee(1), actor=users["advisor"], notify=False)
        db.session.commit()
    created = entries("enrolment", enrolment.id)
    assert [e.action for e in created] == ["create"] and created[0].actor_label == "Camille Conseil"
    assert created[0].changes["status"] == [None, "confirmed"]
    response = advisor.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": "Arrêt maladie"})
    assert response.status_code == 302
    cancel = entries("enrolment", enrolment.id, "cancel")
    assert len(cancel) == 1
    assert cancel[0].changes["status"] == ["confirmed", "cancelled"]
    assert cancel[0].changes["cancel_reason"] == ["", "Arrêt maladie"]
    assert cancel[0].changes["cancelled_by_id"] == [None, users["advisor"].id]
    assert "Confirmée" in cancel[0].summary and "Annulée" in cancel[0].summary


def test_funding_line_create_update_delete(dume_session, new_trainee, users):
    from trainingmgr.enrolments.services import delete_funding_line, enrol, save_funding_line

    enrolment = enrol(dume_session, new_trainee(2), actor=users["advisor"], notify=False)
    line = save_funding_line(enrolment, None, {"kind": "company", "amount": "600"})
    db.session.commit()
    save_funding_line(enrolment, line, {"kind": "company", "amount": "550"})
    db.session.commit()
    line_id = line.id
    delete_funding_line(line)
    db.session.commit()
    history = entries("funding_line", line_id)
    assert [e.action for e in history] == ["create", "update", "delete"]
    assert history[1].changes["amount"] == ["600.00", "550.00"]
    assert history[2].changes["amount"] == ["550.00", None]


def test_invoice_issue_and_payment_cancellation(app, chorus_done):
    d = chorus_done
    client = app.test_client()
    assert client.post("/login", data={"email": "conseil@formaction.example",
                                       "password": "conseil-demo-2026"}).status_code == 302
    propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    invoice = next(i for i in invoices_of(d.chorus) if i.payer_kind == "company")
    assert entries("invoice", invoice.id)[0].action == "create"
    response = client.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    issued = entries("invoice", invoice.id, "issue")
    assert len(issued) == 1
    assert issued[0].changes["status"] == ["draft", "issued"]
    assert issued[0].changes["number"] == [None, invoice.number]
    assert issued[0].actor_id == d.advisor.id and invoice.number in issued[0].summary
    # A payment, then its cancellation.
    today = invoice.issue_date
    with tracking.acting_as(d.advisor):
        payment = payments.record_payment(invoice, {"paid_on": today, "amount": "100", "method": "transfer",
                                                    "reference": "VIR 1"}, d.advisor, today=today)
        db.session.commit()
    assert entries("payment", payment.id)[0].changes["amount"] == [None, "100.00"]
    response = client.post(f"/billing/{invoice.id}/payments/{payment.id}/cancel",
                           data={"reason": "Saisi sur la mauvaise facture"})
    assert response.status_code == 302, page(response)
    cancelled = entries("payment", payment.id, "cancel")
    assert len(cancelled) == 1
    assert cancelled[0].changes["cancelled_at"][0] is None and cancelled[0].changes["cancelled_at"][1]
    assert cancelled[0].changes["cancel_reason"] == ["", "Saisi sur la mauvaise facture"]
    assert "annulé" in cancelled[0].summary


def test_attendance_correction_records_the_previous_state(client, advisor, trainer, klass, clock, users):
    from trainingmgr.attendance.chain import verify_chain

    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    assert client.post(link(julie, morning), data={"signature": drawing()}).status_code in (200, 302)
    signatures_before = count()
    clock.at("12:40")
    trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur"})
    # The trainee's signature and the countersignature are evidence of their own: not in the audit log.
    assert count() == signatures_before
    response = advisor.post(f"/attendance/slots/{morning.id}/corrections/{julie.id}",
                            data={"presence": "present", "left_at": "11:00", "reason": "Départ anticipé signalé"})
    assert response.status_code == 302
    response = advisor.post(f"/attendance/slots/{morning.id}/corrections/{paul.id}",
                            data={"presence": "present", "reason": "Téléphone déchargé"})
    assert response.status_code == 302
    julie_entry, paul_entry = entries("attendance", action="correct")
    assert julie_entry.changes["presence"] == ["signé", "present"]
    assert julie_entry.changes["left_at"] == [None, "11:00:00"]
    assert julie_entry.changes["reason"] == [None, "Départ anticipé signalé"]
    assert paul_entry.changes["presence"] == ["aucun relevé", "present"]
    assert julie_entry.actor_id == users["advisor"].id and "Correction de présence" in julie_entry.summary
    # A second correction of Julie: the "before" is the first correction.
    response = advisor.post(f"/attendance/slots/{morning.id}/corrections/{julie.id}",
                            data={"presence": "absent", "reason": "Erreur de saisie"})
    assert response.status_code == 302
    last = entries("attendance", action="correct")[-1]
    assert last.changes["presence"] == ["present", "absent"] and last.changes["left_at"] == ["11:00:00", None]
    assert verify_chain(session.id).ok  # the append-only register is untouched


def test_a_trainee_link_and_a_paused_block(dume_session, new_trainee, users):
    from trainingmgr.enrolments.services import enrol

    with tracking.paused():
        enrolment = enrol(dume_session, new_trainee(3), actor=users["advisor"], notify=False)
        db.session.commit()
    assert entries("enrolment", enrolment.id) == []
    with tracking.acting_as(tracking.TRAINEE_LABEL):
        enrolment.request_message = "Je serai en retard"
        db.session.commit()
    entry = entries("enrolment", enrolment.id)[0]
    assert entry.actor_id is None and entry.actor_label == "stagiaire (lien personnel)"
    assert entry.changes == {"request_message": ["", "Je serai en retard"]}


# --------------------------------------------------------------------------- the page


def _seed(users):
    """Three entries by hand: two on session 1 (advisor, 10 and 20 January), one on invoice 9 (admin)."""
    paris = dt.timezone(dt.timedelta(hours=1))
    rows = [
        AuditEntry(at=dt.datetime(2031, 1, 10, 9, tzinfo=paris), actor_id=users["advisor"].id,
                   actor_label="Camille Conseil", action="update", object_type="session", object_id=1,
                   summary="Session n° 1 modifiée : capacity", changes={"capacity": [7, 5]}),
        AuditEntry(at=dt.datetime(2031, 1, 20, 23, 30, tzinfo=paris), actor_id=users["advisor"].id,
                   actor_label="Camille Conseil", action="cancel", object_type="session", object_id=1,
                   summary="<script>alert(1)</script>", changes={"status": ["open", "<b>x</b>"]}),
        AuditEntry(at=dt.datetime(2031, 1, 15, 9, tzinfo=paris), actor_id=users["admin"].id,
                   actor_label="Ada Admin", action="issue", object_type="invoice", object_id=9,
                   summary="Facture F2031-0001 émise", changes={"status": ["draft", "issued"]}),
    ]
    db.session.add_all(rows)
    db.session.commit()


def test_the_page_filters_and_escapes(users, advisor, admin):
    _seed(users)
    response = admin.get("/admin/audit/")
    text = page(response)
    assert response.status_code == 200 and "Journal d'audit" in text
    assert "Facture F2031-0001 émise" in text and "Modification" in text and "Émission" in text
    raw = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw and "&lt;script&gt;" in raw
    assert "20/01/2031" in text and "10/01/2031" in text  # shown in Paris time
    by_type = page(admin.get("/admin/audit/?object_type=invoice"))
    assert "F2031-0001" in by_type and "capacity" not in by_type
    by_id = page(admin.get("/admin/audit/?object_type=session&object_id=1"))
    assert "Session n° 1 modifiée" in by_id and "F2031-0001" not in by_id
    by_actor = page(admin.get(f"/admin/audit/?actor_id={users['admin'].id}"))
    assert "F2031-0001" in by_actor and "Session n° 1 modifiée" not in by_actor
    by_dates = page(admin.get("/admin/audit/?date_from=2031-01-12&date_to=2031-01-20"))
    assert "F2031-0001" in by_dates and "Session n° 1 modifiée" not in by_dates
    assert "alert(1)" in by_dates  # 20 January 23:30 in Paris belongs to the 20th
    # The advisor reads it too.
    assert advisor.get("/admin/audit/").status_code == 200


def test_bad_filters_get_french_messages(users, admin):
    cases = [
        ("object_type=nimportequoi", "Type d'objet inconnu."),
        ("object_id=abc", "Saisissez un nombre entier."),
        ("object_id=99999999999999", "Numéro d'objet invalide."),
        ("actor_id=abc", "Compte inconnu."),
        ("actor_id=999999", "Compte inconnu."),
        ("date_from=31/02/2031", ""),
        ("date_from=2031-02-10&date_to=2031-02-01", "La date de fin précède la date de début."),
    ]
    for query, message in cases:
        response = admin.get(f"/admin/audit/?{query}")
        assert response.status_code == 422, query
        assert message in page(response), query
    assert admin.get("/admin/audit/?page=0").status_code == 400
    assert admin.get("/admin/audit/?page=x").status_code == 400


def test_pagination(users, admin):
    db.session.add_all([AuditEntry(actor_label="système", action="update", object_type="session", object_id=n,
                                   summary=f"Entrée {n:03d}.", changes={}) for n in range(1, 61)])
    db.session.commit()
    first = page(admin.get("/admin/audit/"))
    assert "Page 1 sur 2 (60 entrées)" in first and "Entrée 060." in first and "Entrée 001." not in first
    second = page(admin.get("/admin/audit/?page=2"))
    assert "Entrée 001." in second and "Entrée 060." not in second


def test_permissions(client, users, trainer, admin):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert trainer.get("/admin/audit/").status_code == 403
    assert "/admin/audit/" in admin.get("/").get_data(as_text=True)  # in the Administration menu
    assert "/admin/audit/" not in trainer.get("/").get_data(as_text=True)


# --------------------------------------------------------------------------- the log itself


def test_the_database_refuses_to_change_or_remove_an_entry(users):
    from sqlalchemy import text

    import pytest

    _seed(users)
    entry_id = entries()[0].id
    for statement in (f"UPDATE audit_entry SET summary = 'effacé' WHERE id = {entry_id}",
                      f"UPDATE audit_entry SET actor_label = 'quelqu''un' WHERE id = {entry_id}",
                      f"DELETE FROM audit_entry WHERE id = {entry_id}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert entries()[0].summary == "Session n° 1 modifiée : capacity" and count() == 3


def test_a_command_line_change_names_the_command(app, dume_session, new_trainee, users):
    """The worker, the demo loader or the RGPD purge act as "système (flask <commande>)", not anonymously."""
    import click

    from trainingmgr.enrolments.services import enrol

    @click.command("purge")
    def purge():
        enrolment = enrol(dume_session, new_trainee(4), actor=users["advisor"], notify=False)
        db.session.commit()
        return enrolment.id

    group = click.Group("flask", commands={"privacy": click.Group("privacy", commands={"purge": purge})})
    enrolment_id = group.main(["privacy", "purge"], standalone_mode=False)
    entry = entries("enrolment", enrolment_id)[0]
    assert entry.actor_id is None and entry.actor_label == "système (flask privacy purge)"
    # outside a command and a request: "système"
    assert tracking.current_actor()[:2] == (None, "système")


def test_a_rolled_back_savepoint_takes_its_entries_away(dume_session, new_trainee, users):
    from trainingmgr.enrolments.services import enrol, save_funding_line

    trainee = new_trainee(5)
    db.session.commit()
    before = count()
    enrolment = enrol(dume_session, trainee, actor=users["advisor"], notify=False)
    kept = save_funding_line(enrolment, None, {"kind": "company", "amount": "590"})
    db.session.flush()
    savepoint = db.session.begin_nested()
    dropped = save_funding_line(enrolment, None, {"kind": "company", "amount": "10"})
    save_funding_line(enrolment, kept, {"kind": "company", "amount": "1"})
    db.session.flush()
    dropped_id = dropped.id
    savepoint.rollback()
    with db.session.begin_nested():  # a savepoint released: its changes stay, and so do their entries
        save_funding_line(enrolment, kept, {"kind": "company", "amount": "550"})
    assert count() == before  # nothing is written before the commit
    db.session.commit()
    assert entries("funding_line", dropped_id) == []
    history = entries("funding_line", kept.id)
    assert [e.action for e in history] == ["create"] and history[0].changes["amount"] == [None, "550.00"]
    assert [e.action for e in entries("enrolment", enrolment.id)] == ["create"]
