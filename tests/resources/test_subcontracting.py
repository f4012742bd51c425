"""Subcontracting: the trainer's status, SIRET, NDA and rate; the trainer's file (documents, professional-development
log and its evidence on the Qualiopi board); the contrat de sous-traitance / lettre de mission of a trainer for a
session, refused before the NDA, and its electronic signature by the trainer then the organisation; the trainer's
invoices checked against the contract."""
from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from trainingmgr.core.errors import ConflictError, NotFoundError, ValidationError
from trainingmgr.core.timeutil import paris_today
from trainingmgr.documents import services as documents
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.resources import dossier
from trainingmgr.resources.models import Trainer, TrainerDevelopment, TrainerDocument
from trainingmgr.resources.services import save_trainer
from trainingmgr.signing import pades
from trainingmgr.signing import services as signing
from trainingmgr.subcontracting import services as subcontracting
from trainingmgr.subcontracting.models import TrainerInvoice

from tests.fixtures.signing import outbox, send, sign_by_link
from tests.helpers import MONDAY, page, signing_dir

PDF = b"%PDF-1.4\n" + b"x" * 200
D = Decimal


def upload(name: str = "facture.pdf", data: bytes = PDF) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def plain(text: str) -> str:
    """French formatting's no-break spaces as plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def refused(call, *args, **kwargs):
    with pytest.raises((ValidationError, ConflictError, NotFoundError)) as caught:
        call(*args, **kwargs)
    db.session.rollback()
    return caught.value


def docx_text(document) -> str:
    with zipfile.ZipFile(path_for(document.docx_file)) as archive:
        xml = "".join(archive.read(n).decode() for n in archive.namelist()
                      if re.match(r"word/(document|header\d*|footer\d*)\.xml$", n))
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", xml)))


@pytest.fixture
def independent(world):
    """Paula, an independent trainer: her SIRET, her NDA, 60 € HT an hour, her address."""
    paula = world.paula
    paula.status, paula.company_siret, paula.nda = "independent", "73282932000074", "76310987631"
    paula.rate, paula.rate_unit, paula.address = D("60.00"), "hour", "5 allée des Demoiselles, 31400 Toulouse"
    paula.competences = "Juriste, 10 ans de pratique de la commande publique"
    db.session.commit()
    return paula


@pytest.fixture
def mission(world, make_session, independent):
    """The DUME session of 10 March 2031 taught by Paula (two half-days of 4 h)."""
    session = make_session(course=world.dume, start=MONDAY + dt.timedelta(weeks=1), trainer=independent)
    return SimpleNamespace(session=session, paula=independent, advisor=world.users["advisor"], world=world)


# --------------------------------------------------------------------------- the record


def test_a_subcontractor_needs_a_valid_siret_and_an_organisation_its_name(advisor, world):
    response = advisor.post("/trainers/new", data={"first_name": "Jean", "last_name": "Dupont",
                                                   "status": "organisation", "company_siret": "73282932000075",
                                                   "nda": "76 31 123", "rate": "-5"})
    assert response.status_code == 422
    text = page(response)
    assert "Ce SIRET n'est pas valide (clé de contrôle incorrecte)." in text
    assert "Indiquez la raison sociale de l'organisme sous-traitant." in text
    assert "Le numéro de déclaration d'activité compte 11 chiffres (par exemple 76 31 12345 31)." in text
    response = advisor.post("/trainers/new", data={"first_name": "Jean", "last_name": "Dupont",
                                                   "status": "independent"})
    assert response.status_code == 422 and "Le SIRET est obligatoire." in page(response)
    response = advisor.post("/trainers/new", data={"first_name": "Jean", "last_name": "Dupont", "status": "chef"})
    assert response.status_code == 422 and "Choisissez le statut du formateur dans la liste." in page(response)
    assert db.session.scalar(select(Trainer).where(Trainer.last_name == "Dupont")) is None


def test_the_advisor_records_an_independent_trainer(advisor, world):
    response = advisor.post("/trainers/new", data={
        "first_name": "Jean", "last_name": "Dupont", "email": "jean@dupont.example", "status": "independent",
        "company_siret": "732 829 320 00074", "nda": "76 31 09876 31", "rate": "450,00", "rate_unit": "day",
        "address": "2 rue du Taur, 31000 Toulouse", "active": "y"})
    assert response.status_code == 302, page(response)
    jean = db.session.scalar(select(Trainer).where(Trainer.last_name == "Dupont"))
    assert (jean.status, jean.company_siret, jean.nda, jean.rate, jean.rate_unit) == (
        "independent", "73282932000074", "76310987631", D("450.00"), "day")
    assert jean.is_external and jean.company_name == ""
    listing = page(advisor.get("/trainers/"))
    assert "Formateur indépendant (sous-traitant)" in listing and "732 829 320 00074" in listing
    # Back to employee: the subcontracting fields are cleared.
    response = advisor.post(f"/trainers/{jean.id}", data={"first_name": "Jean", "last_name": "Dupont",
                                                          "status": "employee", "company_siret": "732 829 320 00074",
                                                          "nda": "76 31 09876 31", "rate": "450"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (jean.status, jean.company_siret, jean.nda, jean.rate, jean.is_external) == ("employee", None, "", None,
                                                                                         False)


def test_the_former_external_flag_still_reads_and_writes_the_status(world):
    legacy = save_trainer(None, {"first_name": "Ancien", "last_name": "Prestataire", "is_external": True,
                                 "company_name": "Prestataire SARL", "company_siret": "73282932000074"})
    db.session.commit()
    assert (legacy.status, legacy.is_external) == ("organisation", True)
    external = db.session.scalars(select(Trainer.last_name).where(Trainer.is_external)).all()
    assert external == ["Prestataire"]
    legacy.is_external = False
    assert legacy.status == "employee"


# --------------------------------------------------------------------------- the trainer's file


def test_documents_are_checked_stored_and_listed_with_their_validity(advisor, world, independent):
    url = f"/trainers/{independent.id}/file/documents"
    bad = advisor.post(url, data={"kind": "insurance", "file": (io.BytesIO(b"MZ\x90\x00"), "assurance.pdf")},
                       content_type="multipart/form-data")
    assert bad.status_code == 422 and "Format de fichier non accepté" in page(bad)
    empty = advisor.post(url, data={"kind": "nothing"}, content_type="multipart/form-data")
    assert empty.status_code == 422
    assert "Choisissez le type de document dans la liste." in page(empty)
    assert "Choisissez le fichier à déposer." in page(empty)
    assert db.session.scalar(select(func.count()).select_from(TrainerDocument)) == 0
    yesterday = paris_today() - dt.timedelta(days=1)
    response = advisor.post(url, data={"kind": "insurance", "title": "RC Pro 2026", "valid_until": yesterday.isoformat(),
                                       "file": (io.BytesIO(PDF), "assurance.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    document = db.session.scalar(select(TrainerDocument))
    assert (document.kind, document.title, document.valid_until) == ("insurance", "RC Pro 2026", yesterday)
    assert path_for(document.file).read_bytes() == PDF
    file_page = page(advisor.get(f"/trainers/{independent.id}/file"))
    assert "RC Pro 2026" in file_page and f"expiré le {yesterday.strftime('%d/%m/%Y')}" in file_page
    # Another trainer's file does not hold it; then it is removed.
    assert advisor.post(f"/trainers/{world.pierre.id}/file/documents/{document.id}/delete").status_code == 404
    assert advisor.post(f"/trainers/{independent.id}/file/documents/{document.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(TrainerDocument)) == 0


def test_the_development_log_refuses_the_future_and_keeps_its_evidence(world, independent):
    staff = world.users["advisor"]
    error = refused(dossier.add_development, independent, {"day": paris_today() + dt.timedelta(days=1), "title": "",
                                                           "kind": "training", "hours": "-1"}, None, staff)
    assert error.fields == {
        "day": ["Le journal consigne ce qui a été fait : la date ne peut pas être dans le futur."],
        "title": ["Indiquez l'intitulé (formation suivie, conférence…)."],
        "hours": ["La durée doit être un nombre positif ou nul."]}
    entry = dossier.add_development(independent, {"day": paris_today(), "title": "Réforme des marchés publics 2026",
                                                  "kind": "training", "hours": "7", "note": "Nouveaux seuils"},
                                    upload("attestation.pdf"), staff)
    db.session.commit()
    assert [(e.title, e.hours, e.evidence.original_name) for e in dossier.development_log(independent)] == [
        ("Réforme des marchés publics 2026", D("7.00"), "attestation.pdf")]
    assert refused(dossier.remove_development, world.pierre, entry.id).message.startswith("Entrée introuvable")


def test_the_qualiopi_board_shows_the_development_log_once_used(world, independent, advisor):
    from trainingmgr.quality.board.services import build_board

    def indicator_22():
        db.session.expire_all()
        return build_board(paris_today() - dt.timedelta(days=365), paris_today(), paris_today()).indicator(22)

    before = indicator_22()
    assert any("à documenter hors logiciel" in note for note in before.notes)
    assert "development_entries" not in {f.key for f in before.facts}
    response = advisor.post(f"/trainers/{independent.id}/file/development",
                            data={"day": (paris_today() - dt.timedelta(days=3)).isoformat(), "title": "Colloque achats",
                                  "kind": "event", "hours": "3,5"}, content_type="multipart/form-data")
    assert response.status_code == 302, page(response)
    dossier.add_development(world.pierre, {"day": paris_today() - dt.timedelta(days=400), "title": "Ancienne formation",
                                           "kind": "training"}, None, world.users["advisor"])  # before the period
    db.session.commit()
    after = indicator_22()
    facts = {f.key: f for f in after.facts}
    assert (facts["development_entries"].value, facts["development_entries"].detail) == (1, "3,5 h au total")
    assert (facts["trainers_developing"].value, facts["trainers_developing"].total) == (1, 2)
    assert not any("hors logiciel" in note for note in after.notes) and after.status == "ok"


# --------------------------------------------------------------------------- the contract


def test_no_contract_for_an_employee_nor_before_the_nda(mission):
    session, paula, advisor = mission.session, mission.paula, mission.advisor
    assert "salarié(e) de l'organisme" in documents.applicable("trainer_contract", session, trainer=mission.world.pierre)
    paula.nda = ""
    db.session.commit()
    problem = documents.applicable("trainer_contract", session, trainer=paula)
    assert problem == ("Complétez la fiche de Paula Formatrice (Ressources → Formateurs) : le numéro de déclaration "
                       "d'activité (NDA) du sous-traitant.")
    error = refused(documents.generate, "trainer_contract", session, advisor, trainer=paula)
    assert isinstance(error, ConflictError) and error.message == problem
    assert isinstance(refused(documents.generate, "trainer_contract", session, advisor), ValidationError)
    from trainingmgr.documents.models import GeneratedDocument
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == 0


def test_the_contract_states_the_parties_the_trainers_half_days_the_rate_and_the_obligations(mission):
    session, paula = mission.session, mission.paula
    contract = documents.generate("trainer_contract", session, mission.advisor, trainer=paula)
    db.session.commit()
    assert (contract.subject, contract.trainer_id, contract.number) == (
        f"trainer:{session.id}:{paula.id}", paula.id, f"STT-{session.id:04d}-{paula.id}-1")
    mission_context = contract.context["mission"]
    assert (mission_context["hours"], plain(mission_context["rate"]), plain(mission_context["total"]),
            mission_context["total_value"]) == ("8 h", "60,00 € HT de l'heure", "480,00 €", "480.00")
    text = plain(docx_text(contract))
    for shown in ("Lettre de mission", "Paula Formatrice", "732 829 320 00074", "76 31 09876 31",
                  "812 345 676 00017", "76 31 09999 31", "Marchés publics", "10/03/2031", "8 h", "480,00 €",
                  "60,00 € HT de l'heure", "feuille d'émargement", "Qualiopi", "article 28 du règlement (UE) 2016/679",
                  "demeure seul responsable de l'action de formation à l'égard du client",
                  "payée par virement dans les 30 jours"):
        assert shown in text, shown
    # Generating again without a change gives the same contract back; a new rate makes version 2 and says why.
    assert documents.generate("trainer_contract", session, mission.advisor, trainer=paula, reuse=True).id == contract.id
    paula.rate, paula.rate_unit = D("420.00"), "day"
    again = documents.generate("trainer_contract", session, mission.advisor, trainer=paula)
    assert again.version == 2 and "tarif du formateur" in again.reason
    assert plain(again.context["mission"]["total"]) == "420,00 €" and again.context["mission"]["quantity"] == "1 journée"


def test_an_organisation_gets_a_contract_and_only_its_own_half_days_count(mission):
    session, paula, pierre = mission.session, mission.paula, mission.world.pierre
    paula.status, paula.company_name = "organisation", "Formations Garonne SARL"
    afternoon = sorted(session.slots, key=lambda s: s.start_time)[-1]
    afternoon.trainer_id = pierre.id
    db.session.commit()
    contract = documents.generate("trainer_contract", session, mission.advisor, trainer=paula)
    assert contract.context["contract"]["title"] == "Contrat de sous-traitance"
    assert contract.context["subcontractor"]["name"] == "Formations Garonne SARL"
    assert [s["half_day"] for s in contract.context["mission"]["slots"]] == ["Matin"]
    assert plain(contract.context["mission"]["total"]) == "240,00 €"


def test_the_documents_page_offers_a_contract_per_trainer(mission, advisor):
    session, paula = mission.session, mission.paula
    text = page(advisor.get(f"/sessions/{session.id}/documents"))
    assert f'data-trainer="{paula.id}"' in text and "Lettre de mission" in text
    response = advisor.post(f"/sessions/{session.id}/documents/generate",
                            data={"doc_type": "trainer_contract", "trainer_id": paula.id})
    assert response.status_code == 302
    made = documents.current_version("trainer_contract", f"trainer:{session.id}:{paula.id}")
    assert made is not None and made.author_id == mission.advisor.id
    assert advisor.post(f"/sessions/{session.id}/documents/generate",
                        data={"doc_type": "trainer_contract", "trainer_id": 999999}).status_code == 404
    assert documents.recipients(made) == [paula.email]


def test_the_trainer_signs_the_contract_then_the_organisation(mission, app, fake_pdf):  # noqa: F811
    session, paula, advisor = mission.session, mission.paula, mission.advisor
    contract = documents.generate("trainer_contract", session, advisor, trainer=paula)
    db.session.commit()
    proposed = signing.proposed_signatories(contract)
    assert [(c.key, c.role, c.default) for c in proposed] == [(f"trainer:{paula.id}", "trainer", True),
                                                              ("organisation", "organisation", True)]
    request = send(contract, advisor, keys=(f"trainer:{paula.id}", "organisation"))
    by_trainer, by_org = request.signatories
    assert (by_trainer.role, by_trainer.status, by_org.status) == ("trainer", "invited", "waiting")
    assert len(outbox(paula.email, "Document à signer")) == 1
    response = sign_by_link(app.test_client(), by_trainer)
    assert response.status_code == 200 and "Vous avez signé ce document" in page(response)
    db.session.expire_all()
    assert (by_trainer.status, by_org.status) == ("signed", "invited")
    response = sign_by_link(app.test_client(), by_org, typed=by_org.name)
    assert response.status_code == 200 and "Toutes les signatures sont apposées" in page(response)
    db.session.expire_all()
    assert request.status == "completed"
    signed = signing.revision_pdf(request, len(request.revisions) - 1)
    with open(f"{signing_dir()}/signing.crt", "rb") as handle:
        report = pades.verify(signed, trust_roots=[handle.read()])
    assert report.ok and [s.signer for s in report.signatures] == ["Paula Formatrice", by_org.name]
    copy, = outbox(paula.email, "Document signé")
    assert copy.attachments[0].data == signed


# --------------------------------------------------------------------------- the trainer's invoices


def record(mission, number: str, amount: str, vat: str = "0", day: dt.date | None = None):
    invoice, warnings = subcontracting.record_invoice(
        mission.paula, mission.session, {"number": number, "issued_on": day or paris_today(), "amount_excl_vat": amount,
                                         "vat_amount": vat}, upload(), mission.advisor, today=paris_today())
    db.session.commit()
    return invoice, warnings


def test_an_invoice_matching_the_contract_is_recorded_without_warning(mission):
    contract = documents.generate("trainer_contract", mission.session, mission.advisor, trainer=mission.paula)
    invoice, warnings = record(mission, "FA-2031-07", "480,00", "96")
    assert warnings == []
    assert (invoice.matches, invoice.expected_excl_vat, invoice.expected_basis, invoice.amount_incl_vat) == (
        True, D("480.00"), f"contrat n° {contract.number}", D("576.00"))
    assert path_for(invoice.file).read_bytes() == PDF


def test_a_mismatch_is_a_warning_with_both_figures_and_is_recorded(mission, advisor):
    contract = documents.generate("trainer_contract", mission.session, mission.advisor, trainer=mission.paula)
    db.session.commit()
    prefix = f"s{mission.session.id}"
    response = advisor.post(f"/trainers/{mission.paula.id}/sessions/{mission.session.id}/invoices", data={
        f"{prefix}-number": "FA-2031-08", f"{prefix}-issued_on": paris_today().isoformat(),
        f"{prefix}-amount_excl_vat": "520", f"{prefix}-vat_amount": "0",
        f"{prefix}-file": (io.BytesIO(PDF), "facture.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, page(response)
    expected = (f"Facture n° FA-2031-08 : montant HT facturé 520,00 €, montant attendu 480,00 € (contrat n° "
                f"{contract.number}) : écart de 40,00 €.")
    assert expected in plain(page(advisor.get(response.headers["Location"])))
    invoice = db.session.scalar(select(TrainerInvoice))
    assert (invoice.matches, invoice.expected_excl_vat, invoice.amount_excl_vat) == (False, D("480.00"), D("520.00"))


def test_without_a_contract_the_rate_times_the_hours_is_expected_minus_what_was_invoiced(mission):
    first, warnings = record(mission, "FA-1", "200")
    assert plain(first.expected_basis) == "tarif de 60,00 € × 8 heures, aucun contrat émis"
    assert first.matches is False and "montant attendu 480,00 €" in plain(warnings[0])
    second, warnings = record(mission, "FA-2", "280")
    assert (second.matches, second.expected_excl_vat, warnings) == (True, D("280.00"), [])
    assert plain(second.expected_basis).endswith("moins 200,00 € déjà facturés")
    mission.paula.rate = None
    db.session.commit()
    third, warnings = record(mission, "FA-3", "10")
    assert third.matches is None and "n'a pas pu être rapprochée" in warnings[0]


def test_invoices_refused_for_a_duplicate_an_employee_a_session_not_taught_or_bad_input(mission, make_session):
    record(mission, "FA-1", "480")
    assert "déjà enregistrée" in refused(record, mission, "FA-1", "480").message
    error = refused(subcontracting.record_invoice, mission.paula, mission.session,
                    {"number": "", "issued_on": paris_today() + dt.timedelta(days=1), "amount_excl_vat": "0"}, None,
                    mission.advisor, today=paris_today())
    assert error.fields == {"number": ["Indiquez le numéro de la facture."],
                            "issued_on": ["La date de la facture ne peut pas être dans le futur."],
                            "amount_excl_vat": ["Le montant HT doit être un nombre supérieur à 0."],
                            "file": ["Joignez la facture (PDF)."]}
    error = refused(subcontracting.record_invoice, mission.paula, mission.session,
                    {"number": "FA-9", "issued_on": paris_today(), "amount_excl_vat": "10"}, upload("facture.docx", b"PK\x03\x04"),
                    mission.advisor, today=paris_today())
    assert "Format de fichier non accepté pour le facture" in error.fields["file"][0]
    other = make_session(course=mission.world.chorus, start=MONDAY + dt.timedelta(weeks=3))
    assert "n'intervient dans aucune demi-journée" in refused(
        subcontracting.record_invoice, mission.paula, other, {}, upload(), mission.advisor).message
    assert "ne sont pas facturées" in refused(
        subcontracting.record_invoice, mission.world.pierre, other, {}, upload(), mission.advisor).message
    assert db.session.scalar(select(func.count()).select_from(TrainerInvoice)) == 1


def test_the_file_page_lists_the_missions_with_contract_and_invoices(mission, advisor):
    documents.generate("trainer_contract", mission.session, mission.advisor, trainer=mission.paula)
    record(mission, "FA-1", "480")
    text = page(advisor.get(f"/trainers/{mission.paula.id}/file"))
    assert f'data-mission="{mission.session.id}"' in text and "conforme" in text
    assert "Lettre de mission n° STT-" in text and "480,00" in text


def test_the_file_page_queries_do_not_grow_with_the_missions(mission, make_session, advisor, count_queries):
    url = f"/trainers/{mission.paula.id}/file"

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert advisor.get(url).status_code == 200
        return counter.count

    def file_entries() -> None:
        dossier.add_document(mission.paula, {"kind": "diploma"}, upload("diplome.pdf"), mission.advisor)
        dossier.add_development(mission.paula, {"day": paris_today(), "title": "Veille", "kind": "self_study"},
                                upload("note.pdf"), mission.advisor)

    documents.generate("trainer_contract", mission.session, mission.advisor, trainer=mission.paula)
    record(mission, "FA-1", "480")
    file_entries()
    db.session.commit()
    before = queries()
    for week in (2, 3, 4):
        file_entries()
        session = make_session(course=mission.world.dume, start=MONDAY + dt.timedelta(weeks=week), trainer=mission.paula)
        documents.generate("trainer_contract", session, mission.advisor, trainer=mission.paula)
        subcontracting.record_invoice(mission.paula, session, {"number": f"FA-{week}", "issued_on": paris_today(),
                                                               "amount_excl_vat": "480"}, upload(), mission.advisor)
    db.session.commit()
    assert queries() == before


def test_the_trainer_file_is_for_staff_only(mission, trainer):
    paula = mission.paula
    for url in (f"/trainers/{paula.id}/file",):
        assert trainer.get(url).status_code == 403
    for url in (f"/trainers/{paula.id}/file/documents", f"/trainers/{paula.id}/file/development",
                f"/trainers/{paula.id}/sessions/{mission.session.id}/invoices",
                f"/trainers/{paula.id}/file/documents/1/delete", f"/trainers/{paula.id}/file/development/1/delete"):
        assert trainer.post(url, data={}).status_code == 403, url
    assert db.session.scalar(select(func.count()).select_from(TrainerDevelopment)) == 0


def test_the_advisor_sees_a_refused_invoice_beside_its_form(mission, advisor):
    prefix = f"s{mission.session.id}"
    response = advisor.post(f"/trainers/{mission.paula.id}/sessions/{mission.session.id}/invoices",
                            data={f"{prefix}-number": "FA-1", f"{prefix}-amount_excl_vat": "abc"},
                            content_type="multipart/form-data")
    assert response.status_code == 422
    text = page(response)
    assert "Saisissez un nombre, par exemple 600 ou 1 234,56." in text and "Joignez la facture (PDF)." in text
    assert db.session.scalar(select(func.count()).select_from(TrainerInvoice)) == 0
