"""The audit page speaks French: every audited field has a French label, values are shown as the other pages show
them (statuses, 25/11/2026, 1 234,56 €, Paris times, Oui/Non, names behind ids), fingerprints only on demand, and
the summaries written by the listener name the fields in French with agreeing participles."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, select

from trainingmgr.audit import display, tracking
from trainingmgr.audit.models import OBJECT_LABELS, AuditEntry
from trainingmgr.extensions import db

from tests.helpers import page

PARIS_WINTER = dt.timezone(dt.timedelta(hours=1))


def _audited_columns():
    """(table, column) of every field the listener records, the collections included."""
    for model, spec in tracking.build_registry().items():
        table = model.__tablename__
        for attr in inspect(model).column_attrs:
            if attr.key not in tracking.ALWAYS_SKIPPED | spec.skipped:
                yield table, attr.key
        for name in spec.collections:
            yield table, name


def test_every_audited_field_has_a_french_label():
    missing = [f"{table}.{name}" for table, name in _audited_columns() if name not in display.fields().get(table, {})]
    assert not missing, f"Audited fields without a French label in audit/display.py: {missing}"
    for table, name in _audited_columns():
        label = display.field_label(table, name)
        assert label and label[0].isupper() and "_" not in label, (table, name, label)


def test_every_object_type_and_child_has_its_table():
    registry = tracking.build_registry()
    tables = {model.__tablename__ for model in registry}
    assert set(display.OBJECT_TABLES) == set(OBJECT_LABELS)
    assert set(display.OBJECT_TABLES.values()) | set(display.CHILD_TABLES.values()) == tables
    for model, spec in registry.items():  # every status column is shown by its label
        if "status" in {a.key for a in inspect(model).column_attrs} - spec.skipped:
            assert isinstance(display.fields()[model.__tablename__]["status"][1], dict), model


def test_values_are_shown_as_the_pages_show_them():
    show = display.show_value
    assert show(display.MONEY, "1234.56").text == "1\u202f234,56\u00a0€"
    assert show(display.DATE, "2026-11-25").text == "25/11/2026"
    assert show(display.DATETIME, "2026-11-25T13:05:00+00:00").text == "25/11/2026 14:05"  # Paris, winter
    assert show(display.DATETIME, "2026-07-01T13:05:00").text == "01/07/2026 15:05"  # naive means UTC; summer
    assert show(display.TIME, "09:30:00").text == "09:30"
    assert show(display.BOOL, True).text == "Oui" and show(display.BOOL, False).text == "Non"
    assert show(display.HOURS, "3.50").text == "3,5 h" and show(display.PERCENT, "20.00").text == "20 %"
    assert show({"open": "Inscriptions ouvertes"}, "open").text == "Inscriptions ouvertes"
    assert show(display.MONEY, None).text == "—" and show(display.TEXT, "").text == "—"
    assert show(("fk", "company"), 7, {("company", 7): "Dupont"}).text == "Dupont"
    assert show(("fk", "company"), 8, {}).text == "n° 8"
    assert show(display.MONEY, "pas un nombre").text == "pas un nombre"  # never a 500 on an odd stored value
    fingerprint = show(display.HASH, "ab" * 32)
    assert fingerprint.text == "abababab" + "ab" + "…" and fingerprint.full == "ab" * 32
    assert show(display.TEXT, tracking.HIDDEN).text == tracking.HIDDEN


def _seed(world, users):
    at = dt.datetime(2031, 1, 20, 23, 30, tzinfo=PARIS_WINTER)
    rows = [
        AuditEntry(at=at, actor_id=users["advisor"].id, actor_label="Camille Conseil", action="update",
                   object_type="session", object_id=1, summary="Session n° 1 modifiée",
                   changes={"status": ["draft", "open"], "price_per_trainee": ["600.00", "1234.56"],
                            "cancelled_at": [None, "2031-01-20T13:05:00+00:00"],
                            "location_id": [None, world.room.id], "client_company_id": [None, world.company.id],
                            "créneau 2031-01-20 · start_time": ["09:00:00", "09:30:00"],
                            "créneau 2031-01-20 · trainer_id": [None, world.pierre.id]}),
        AuditEntry(at=at, actor_label="système", action="create", object_type="funding_line", object_id=4,
                   summary="Ligne de financement n° 4 créée",
                   changes={"subrogation": [None, True], "kind": [None, "opco"], "agreed_on": [None, "2031-01-05"]}),
        AuditEntry(at=at, actor_label="système", action="generate", object_type="document", object_id=2,
                   summary="Certificat de réalisation n° C-1 (version 1) généré",
                   changes={"doc_type": [None, "certificate"], "pdf_sha256": [None, "f0" * 32],
                            "author_id": [None, users["admin"].id]}),
    ]
    db.session.add_all(rows)
    db.session.commit()


def test_the_page_shows_french_labels_values_and_names(world, users, admin):
    _seed(world, users)
    response = admin.get("/admin/audit/")
    text = page(response)
    assert response.status_code == 200
    for raw in ("price_per_trainee", "cancelled_at", "location_id", "start_time", "subrogation", "pdf_sha256",
                "2031-01-20T", "draft", ">opco<", "certificate"):
        assert raw not in text, raw
    assert "Prix par stagiaire HT" in text and "600,00\u00a0€" in text and "1\u202f234,56\u00a0€" in text
    assert "Brouillon" in text and "Inscriptions ouvertes" in text
    assert "20/01/2031 14:05" in text and "20/01/2031 23:30" in text  # the change and the entry, in Paris time
    assert "Salle Capitole" in text and "Cabinet d'architecture Dupont" in text and "Ada Admin" in text
    assert "Créneau du 20/01/2031 · Début" in text and "09:30" in text and "Pierre Formateur" in text
    assert "Subrogation de paiement" in text and "Oui" in text and "05/01/2031" in text and "OPCO" in text
    assert "Type de document" in text and "Certificat de réalisation" in text
    # The fingerprint: short in the list, whole on demand.
    assert "empreinte f0f0f0f0f0…" in text and text.count("f0" * 32) == 1
    assert '<details class="d-inline-block audit-fingerprint"' in response.get_data(as_text=True)
    # The filters still work on the French page.
    only_funding = page(admin.get("/admin/audit/?object_type=funding_line"))
    assert "Subrogation de paiement" in only_funding and "Prix par stagiaire HT" not in only_funding


def test_names_cost_one_query_per_table_whatever_the_number_of_entries(world, users, admin, count_queries):
    def seed(n):
        db.session.add_all([AuditEntry(actor_label="système", action="update", object_type="session", object_id=k,
                                       summary=f"Entrée {k}", changes={"location_id": [world.room.id, world.remote.id],
                                                                       "client_company_id": [None, world.company.id]})
                            for k in range(n)])
        db.session.commit()

    seed(2)
    admin.get("/admin/audit/")
    with count_queries() as few:
        assert "Classe virtuelle" in page(admin.get("/admin/audit/"))
    seed(40)
    admin.get("/admin/audit/")
    with count_queries() as many:
        assert "Classe virtuelle" in page(admin.get("/admin/audit/"))
    assert many.count == few.count


def test_summaries_name_fields_in_french_and_agree(world, make_session, advisor):
    session = make_session(capacity=7)
    response = advisor.post(f"/sessions/{session.id}/edit", data={
        "format": "inter", "delivery_mode": "presentiel", "location_id": str(world.room.id),
        "trainer_ids": [str(world.pierre.id)], "capacity": "5", "min_trainees": "1", "price_per_trainee": "650,00",
        "intra_price": "", "client_company_id": "", "notes": "Salle B"})
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    update = db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == session.id,
                                                         AuditEntry.action == "update")
                                .order_by(AuditEntry.id.desc())).first()
    assert update.summary.endswith("modifiée : Capacité (places), Prix par stagiaire HT, Notes internes"), \
        update.summary
    day = session.slots[-1].date + dt.timedelta(days=7)
    response = advisor.post(f"/sessions/{session.id}/slots/new", data={
        "date": day.isoformat(), "start_time": "09:00", "end_time": "12:30", "location_id": str(world.room.id),
        "trainer_id": str(world.pierre.id)})
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    added = db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == session.id)
                               .order_by(AuditEntry.id.desc())).first()
    french_day = day.strftime("%d/%m/%Y")
    assert f"Créneau du {french_day} ajouté" in added.summary and "(e)" not in added.summary, added.summary
    assert f"créneau du {french_day} · start_time" in added.changes
    shown = page(advisor.get(f"/admin/audit/?object_type=session&object_id={session.id}"))
    assert f"Créneau du {french_day} · Début" in shown and f"Créneau du {french_day} · Fin" in shown
