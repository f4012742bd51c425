"""Accepting a quote (quotes/acceptance.py): seats become enrolments at the quoted price under the seat lock (the
waiting list when the session filled meanwhile), the convention and the OPCO funding lines follow, the OPCO pack
holds the quote's own file, an intra request becomes a draft session, the invoice proposal takes the accepted
amounts and extra costs once; only a sent quote within its validity, by the staff or the contact online."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from tests.enrolments.support import person
from tests.fixtures.quotes import SIGNED_PDF, build_quote, people, signed
from trainingmgr.automations.engine import fire_due
from trainingmgr.billing.invoices.planning import propose_invoices
from trainingmgr.billing.models import Invoice
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.core.timeutil import paris_today, utcnow
from trainingmgr.documents import services as document_services
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.quotes.acceptance import accept_online, accept_quote
from trainingmgr.quotes.models import Quote
from trainingmgr.sessions.services import change_status, seats_taken
from trainingmgr.trainees.services import save_trainee

D = Decimal


@pytest.fixture
def dume(world, open_session):
    """An open DUME session (8 seats, no prerequisite: enrolments are confirmed at once, 600 € HT a seat)."""
    return open_session(course=world.dume)


def _accept(quote, actor, **kwargs):
    kwargs.setdefault("signed_file", signed())
    result = accept_quote(quote, actor, **kwargs)
    db.session.commit()
    return result


def _fill(session, n: int, first: int = 50) -> None:
    """``n`` seats of ``session`` taken by people of no quote."""
    from trainingmgr.enrolments.services import enrol

    for i in range(first, first + n):
        enrol(session, save_trainee(None, person(i)), notify=False)
    db.session.commit()


def _unchanged(quote_id: int, status: str) -> None:
    """Nothing saved: the quote kept its status and no enrolment came from it."""
    db.session.rollback()
    quote = db.session.get(Quote, quote_id)
    assert quote.status == status and quote.decided_at is None and quote.signed_file_id is None
    assert all(named.enrolment_id is None for named in quote.trainees)
    assert db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.source == "quote")) == 0


# --------------------------------------------------------------------------- seats


def test_recorded_acceptance_enrols_the_named_trainees_at_the_quoted_price(world, dume):
    quote = build_quote(world, session=dume, seats=2, seat_price="550.00")
    advisor = world.users["advisor"]
    result = _accept(quote, advisor, accepted_by_name="Claire Dupont, DRH")

    quote = db.session.get(Quote, quote.id)
    assert (quote.status, quote.acceptance_mode, quote.accepted_by_name) == ("accepted", "recorded",
                                                                           "Claire Dupont, DRH")
    assert quote.decided_at is not None and path_for(quote.signed_file).read_bytes() == SIGNED_PDF
    assert result.session.id == dume.id and result.waitlisted == [] and result.quote is quote
    assert [(e.trainee.email, e.status, e.price_excl_vat, e.vat_rate, e.source, e.company_id)
            for e in result.enrolments] == [
        (p["email"], "confirmed", D("550.00"), quote.vat_rate, "quote", world.company.id) for p in people(2)]
    assert [named.enrolment_id for named in quote.trainees] == [e.id for e in result.enrolments]
    assert all(e.trainee.company_id == world.company.id for e in result.enrolments)
    assert seats_taken([dume.id])[dume.id] == 2
    created = db.session.scalars(select(EnrolmentEvent).where(EnrolmentEvent.kind == "created")).all()
    assert {event.message for event in created} == {"Inscription (devis)."}
    # Each trainee is told, at the quoted price's enrolment.
    fire_due(utcnow())  # the confirmation e-mail is an automation rule: it leaves at the worker's next pass
    told = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == "enrolment_status")).all()
    assert sorted(told) == sorted(p["email"] for p in people(2))


def test_an_existing_trainee_is_found_by_e_mail(world, dume):
    known = save_trainee(None, person(7))
    db.session.commit()
    quote = build_quote(world, session=dume, seats=1, trainees=[{"first_name": known.first_name,
                                                                 "last_name": known.last_name, "email": known.email}])
    result = _accept(quote, world.users["advisor"])
    assert result.enrolments[0].trainee_id == known.id
    assert db.session.get(type(known), known.id).company_id == world.company.id  # it lacked one: the quote's


def test_the_api_mode_needs_no_signed_file(world, dume):
    quote = build_quote(world, session=dume, seats=1)
    result = _accept(quote, world.users["advisor"], mode="api", signed_file=None)
    assert result.quote.acceptance_mode == "api" and result.quote.signed_file_id is None
    assert len(result.enrolments) == 1


def test_the_session_filled_meanwhile_the_rest_is_waitlisted_and_both_sides_are_told(world, open_session):
    session = open_session(course=world.dume, capacity=3)
    _fill(session, 2)
    quote = build_quote(world, session=session, seats=2)
    result = _accept(quote, world.users["advisor"])

    assert [e.trainee.email for e in result.enrolments] == ["devis1@dupont.example"]
    assert [(e.trainee.email, e.status, e.waitlist_position) for e in result.waitlisted] == [
        ("devis2@dupont.example", "waitlisted", 1)]
    assert result.waitlisted[0].price_excl_vat == D("550.00")  # the quoted price, should a seat free up
    assert seats_taken([session.id])[session.id] == 3
    messages = {m.recipient: m for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "quote_waitlisted"))}
    assert set(messages) == {"conseil@test.example", "claire.rh@dupont.example"}
    for message in messages.values():
        assert "Prénom2 Devis2" in message.body_text and "liste d'attente" in message.body_text
        assert quote.number in message.subject
    assert "Bonjour Claire Dupont" in messages["claire.rh@dupont.example"].body_text
    # The convention names only the seat taken.
    assert _convention_emails(result.convention) == ["devis1@dupont.example"]


def test_a_full_session_waitlists_everyone_and_proposes_no_convention(world, open_session):
    session = open_session(course=world.dume, capacity=2)
    _fill(session, 2)
    world.company.opco = "OPCO EP"
    quote = build_quote(world, session=session, seats=2)
    result = _accept(quote, world.users["advisor"])
    assert result.enrolments == [] and len(result.waitlisted) == 2 and result.convention is None
    assert db.session.scalar(select(func.count(FundingLine.id))) == 0
    assert seats_taken([session.id])[session.id] == 2


def test_a_trainee_already_enrolled_refuses_the_acceptance_and_nothing_is_saved(world, dume):
    quote = build_quote(world, session=dume, seats=2)
    from trainingmgr.enrolments.services import enrol

    enrol(dume, save_trainee(None, {**people(1)[0], "bpf_status": "employee"}), notify=False)
    db.session.commit()
    with pytest.raises(ConflictError, match="déjà inscrit"):
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    db.session.rollback()
    quote = db.session.get(Quote, quote.id)
    assert quote.status == "sent" and all(named.enrolment_id is None for named in quote.trainees)
    assert seats_taken([dume.id])[dume.id] == 1


# --------------------------------------------------------------------------- convention, funding, OPCO pack


def _convention_emails(document) -> list[str]:
    return [trainee["email"] for trainee in document.context["trainees"]]


def test_the_convention_is_proposed_for_exactly_the_quotes_trainees(world, dume):
    quote = build_quote(world, session=dume, seats=2)
    result = _accept(quote, world.users["advisor"])
    convention = result.convention
    assert convention is not None and convention.doc_type == "convention"
    assert convention.subject == f"client:{dume.id}:{world.company.id}"
    assert f"Devis n° {quote.number} accepté" in convention.reason
    assert _convention_emails(convention) == [p["email"] for p in people(2)]


def test_decision_the_convention_covers_every_trainee_of_the_company_in_the_session(world, dume):
    """A convention is one per company and session (documents): the company's trainee enrolled before the quote is
    named too, beside the quote's."""
    from trainingmgr.enrolments.services import enrol

    earlier = save_trainee(None, {**person(9), "company_id": world.company.id})
    enrol(dume, earlier, company=world.company, notify=False)
    db.session.commit()
    quote = build_quote(world, session=dume, seats=1)
    result = _accept(quote, world.users["advisor"])
    assert _convention_emails(result.convention) == [earlier.email, "devis1@dupont.example"]


def test_opco_funding_lines_are_prefilled_to_request(world, dume):
    from trainingmgr.organisation.services import get_organisation

    get_organisation().vat_status = "standard"  # the quote at 20 %: the funding covers the price including VAT
    world.company.opco = "OPCO EP"
    db.session.commit()
    quote = build_quote(world, session=dume, seats=2, seat_price="500.00")
    result = _accept(quote, world.users["advisor"])
    for enrolment in result.enrolments:
        [line] = enrolment.funding_lines
        assert (line.kind, line.opco_name, line.opco_status, line.amount, line.subrogation) == (
            "opco", "OPCO EP", "to_request", enrolment.price_incl_vat, False)
        assert (enrolment.price_excl_vat, enrolment.vat_rate, line.amount) == (D("500.00"), D("20.00"), D("600.00"))
    # The convention made at the acceptance states the funding.
    assert "OPCO EP" in repr(result.convention.context["funding"])
    assert "OPCO EP" in repr(db.session.scalars(select(EnrolmentEvent.message)
                                               .where(EnrolmentEvent.kind == "funding")).all())


def test_no_opco_no_funding_line(world, dume):
    result = _accept(build_quote(world, session=dume, seats=1), world.users["advisor"])
    assert result.enrolments[0].funding_lines == []


def _pack_names(enrolment, actor) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(document_services.funding_pack(enrolment, actor)))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_opco_pack_holds_the_accepted_quotes_own_file(world, dume):
    world.company.opco = "OPCO EP"
    db.session.commit()
    quote = build_quote(world, session=dume, seats=2)
    advisor = world.users["advisor"]
    result = _accept(quote, advisor)
    files = _pack_names(result.enrolments[0], advisor)
    db.session.commit()
    assert files[f"{quote.number}.docx"] == path_for(quote.docx_file).read_bytes()  # the file sent, as sent
    assert files[f"{quote.number}-signe.pdf"] == SIGNED_PDF
    prefixes = sorted(name.split("-")[0] for name in files if not name.startswith(quote.number))
    assert prefixes == ["CONV", "PROG"]  # no quote generated for the session
    assert f"{result.convention.number}.docx" in files  # the convention made at the acceptance, reused


def test_without_an_accepted_quote_the_pack_generates_the_sessions_quote(world, dume):
    from trainingmgr.enrolments.services import enrol

    trainee = save_trainee(None, {**person(3), "company_id": world.company.id})
    enrolment = enrol(dume, trainee, company=world.company, notify=False)
    build_quote(world, session=dume, seats=1)  # sent, not accepted: not the company's word yet
    db.session.commit()
    files = _pack_names(enrolment, world.users["advisor"])
    assert sorted(name.split("-")[0] for name in files) == ["CONV", "DEV", "PROG"]
    assert not any(name.startswith("DEV-20") for name in files)


# --------------------------------------------------------------------------- invoice proposal


def test_the_invoice_proposal_takes_the_quoted_price_and_the_extra_costs_once(world, dume):
    quote = build_quote(world, session=dume, seats=2, seat_price="550.00",
                       extras=[("Frais de déplacement du formateur", "1", "120.00")])
    advisor = world.users["advisor"]
    _accept(quote, advisor)
    change_status(dume, "confirmed", advisor)
    db.session.commit()

    propose_invoices(dume, advisor)
    db.session.commit()
    [invoice] = db.session.scalars(select(Invoice).where(Invoice.session_id == dume.id)).all()
    assert invoice.payer_company_id == world.company.id and invoice.is_draft
    lines = sorted((line.description, line.unit_price_excl_vat, line.enrolment_id is None) for line in invoice.lines)
    extra = f"Frais de déplacement du formateur (devis n° {quote.number})"
    assert [line for line in lines if line[2]] == [(extra, D("120.00"), True)]
    assert [line[1] for line in lines if not line[2]] == [D("550.00"), D("550.00")]
    assert invoice.total_excl_vat == D("1220.00")

    propose_invoices(dume, advisor)  # again: nothing new, the extra cost not twice
    db.session.commit()
    db.session.expire_all()
    [invoice] = db.session.scalars(select(Invoice).where(Invoice.session_id == dume.id)).all()
    assert len(invoice.lines) == 3 and invoice.total_excl_vat == D("1220.00")


# --------------------------------------------------------------------------- intra


def test_an_intra_request_becomes_a_draft_session_for_the_company(world):
    quote = build_quote(world, kind="intra", course=world.chorus, headcount=5, intra_price="4200.00",
                       extras=[("Location de salle", "2", "150.00")])
    result = _accept(quote, world.users["advisor"])
    session = result.session
    assert (session.status, session.format, session.course_id, session.client_company_id, session.intra_price,
            session.capacity) == ("draft", "intra", world.chorus.id, world.company.id, D("4200.00"), 5)
    assert session.location_id is None and "Usine de Blagnac, 31700" in session.notes
    assert quote.number in session.notes and "mars 2032" in session.notes
    assert db.session.get(Quote, quote.id).session_id == session.id
    assert result.enrolments == [] and result.waitlisted == [] and result.convention is None


def test_decision_an_intra_headcount_above_the_courses_maximum_gives_a_session_of_the_maximum(world):
    quote = build_quote(world, kind="intra", course=world.chorus, headcount=9)  # Chorus Pro: 7 at most
    result = _accept(quote, world.users["advisor"])
    assert result.session.capacity == 7 and "Effectif demandé : 9 personnes." in result.session.notes
    assert result.notes == ["L'effectif demandé (9) dépasse le maximum de la formation (7) : la session est créée "
                            "pour 7 ; prévoyez un second groupe."]


def test_an_intra_quote_of_an_inter_only_course_is_refused_by_the_sessions_rules(world):
    quote = build_quote(world, kind="intra", course=world.chorus)
    world.chorus.current_version.audience_format = "inter"  # the catalogue changed after the quote was sent
    db.session.commit()
    with pytest.raises(ValidationError) as caught:
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    assert caught.value.fields["format"] == ["Cette formation est proposée en inter-entreprises uniquement."]
    _unchanged(quote.id, "sent")


# --------------------------------------------------------------------------- refusals


def test_a_session_that_no_longer_takes_enrolments_refuses_the_acceptance(world, dume):
    quote = build_quote(world, session=dume)
    change_status(dume, "cancelled", world.users["advisor"], reason="Formateur indisponible")
    db.session.commit()
    with pytest.raises(ConflictError, match="ne prend plus d'inscriptions"):
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    _unchanged(quote.id, "sent")


@pytest.mark.parametrize("status, word", [("draft", "brouillon"), ("accepted", "accepté"), ("refused", "refusé"),
                                          ("expired", "expiré")])
def test_only_a_sent_quote_is_accepted(world, dume, status, word):
    quote = build_quote(world, session=dume, status=status)
    with pytest.raises(ConflictError, match=word) as caught:
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    assert caught.value.status_code == 409
    _unchanged(quote.id, status)


def test_a_quote_past_its_validity_is_not_accepted(world, dume):
    quote = build_quote(world, session=dume, valid_until=paris_today() - dt.timedelta(days=1))
    with pytest.raises(ConflictError, match="n'est plus valable"):
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    _unchanged(quote.id, "sent")


def test_the_same_quote_accepted_twice_is_refused_the_second_time(world, dume):
    quote = build_quote(world, session=dume, seats=1)
    _accept(quote, world.users["advisor"])
    with pytest.raises(ConflictError, match="accepté"):
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1


@pytest.mark.parametrize("signed_file, message", [
    (None, "Joignez le devis signé."),
    ((b"", "devis.pdf"), "Joignez le devis signé."),
    ((b"MZ\x90\x00 not a quote", "devis.exe"), "Format de fichier non accepté"),
    ((b"just text", "devis.pdf"), "Format de fichier non accepté"),  # a PDF's name, not its content
    ((b"PK\x03\x04broken", "devis.docx"), None),  # a damaged Word package (files/safety.py)
])
def test_a_recorded_acceptance_needs_the_signed_quote(world, dume, signed_file, message):
    quote = build_quote(world, session=dume)
    with pytest.raises(ValidationError, match=message) as caught:
        accept_quote(quote, world.users["advisor"], signed_file=signed_file)
    assert caught.value.status_code == 422 and "signed_file" in caught.value.fields
    _unchanged(quote.id, "sent")


def test_the_signed_quote_can_come_as_an_upload(world, dume):
    quote = build_quote(world, session=dume, seats=1)
    upload = FileStorage(io.BytesIO(SIGNED_PDF), filename="scan.pdf", content_type="application/pdf")
    result = _accept(quote, world.users["advisor"], signed_file=upload)
    assert result.quote.signed_file.original_name == "scan.pdf"


def test_every_seat_must_be_named(world, dume):
    quote = build_quote(world, session=dume, seats=3, trainees=people(2))
    with pytest.raises(ValidationError, match="Nommez les 3 stagiaires") as caught:
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    assert "trainees" in caught.value.fields
    _unchanged(quote.id, "sent")


def test_a_trainee_without_an_e_mail_is_named_in_the_error(world, dume):
    quote = build_quote(world, session=dume, seats=2,
                       trainees=[people(1)[0], {"first_name": "Sans", "last_name": "Courriel",
                                                "email": "sans@dupont.example"}])
    quote.trainees[1].email = ""  # a row written before the sending checked e-mails
    db.session.commit()
    with pytest.raises(ValidationError, match="Certains champs") as caught:
        accept_quote(quote, world.users["advisor"], signed_file=signed())
    assert list(caught.value.fields) == ["trainees-1-email"]
    assert "Indiquez l'e-mail de Sans Courriel" in caught.value.fields["trainees-1-email"][0]
    _unchanged(quote.id, "sent")


def test_an_unknown_mode_is_refused(world, dume):
    quote = build_quote(world, session=dume)
    with pytest.raises(ValidationError, match="Mode d'acceptation inconnu"):
        accept_quote(quote, world.users["advisor"], signed_file=signed(), mode="fax")
    _unchanged(quote.id, "sent")


@pytest.mark.parametrize("who", ["trainer", None])
def test_only_the_staff_record_an_acceptance(world, dume, who):
    quote = build_quote(world, session=dume)
    actor = world.users[who] if who else None
    with pytest.raises(PermissionDenied) as caught:
        accept_quote(quote, actor, signed_file=signed())
    assert caught.value.status_code == 403
    _unchanged(quote.id, "sent")


def test_the_admin_may(world, dume):
    assert _accept(build_quote(world, session=dume, seats=1), world.users["admin"]).quote.is_accepted


# --------------------------------------------------------------------------- online


def test_online_acceptance_keeps_its_evidence(world, dume):
    quote = build_quote(world, session=dume, seats=2)
    result = accept_online(quote, "  Claire   Dupont ", ip="203.0.113.7", user_agent="Mozilla/5.0 (iPhone)")
    db.session.commit()
    quote = db.session.get(Quote, quote.id)
    evidence = quote.acceptance_evidence
    assert (quote.status, quote.acceptance_mode, quote.accepted_by_name, quote.signed_file_id) == (
        "accepted", "online", "Claire Dupont", None)
    assert (evidence["ip"], evidence["user_agent"], evidence["name"]) == ("203.0.113.7", "Mozilla/5.0 (iPhone)",
                                                                          "Claire Dupont")
    assert evidence["document_sha256"] == quote.docx_file.sha256 == quote.document_sha256  # no PDF converter here
    assert evidence["document"] == quote.docx_file.original_name
    assert dt.datetime.fromisoformat(evidence["accepted_at"])
    assert len(result.enrolments) == 2
    # Made on behalf of the quote's author, the contact having no account.
    assert result.convention.author_id == world.users["advisor"].id
    assert {e.actor_id for e in db.session.scalars(select(EnrolmentEvent))} == {None}


@pytest.mark.parametrize("name", ["", " ", "x", "n" * 121])
def test_online_acceptance_needs_a_name(world, dume, name):
    quote = build_quote(world, session=dume)
    with pytest.raises(ValidationError, match="prénom et nom") as caught:
        accept_online(quote, name, ip="203.0.113.7", user_agent="Mozilla")
    assert "name" in caught.value.fields
    _unchanged(quote.id, "sent")


def test_an_expired_quote_is_not_accepted_online(world, dume):
    quote = build_quote(world, session=dume, status="expired")
    with pytest.raises(ConflictError, match="expiré"):
        accept_online(quote, "Claire Dupont", ip="203.0.113.7", user_agent="Mozilla")
    _unchanged(quote.id, "expired")
