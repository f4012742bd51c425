"""Quotes (quotes/services.py): gapless DEV numbers (ten at once too), the input's rules, edits in draft only, the
status steps and the illegal ones, expiry once by the worker, the VAT, the Word document, the e-mails, who may."""
from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.documents.support import docx_text
from trainingmgr.accounts.models import User
from trainingmgr.billing.numbering import format_number, last_number
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.core.timeutil import paris_today
from trainingmgr.core.tokens import LinkExpired
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.organisation.services import get_organisation
from trainingmgr.quotes import services
from trainingmgr.quotes.models import Quote


def year() -> int:
    return paris_today().year


def refused(call, error=ValidationError) -> dict:
    """The fields of the refusal ``call()`` raises, after checking its class (and that nothing was saved)."""
    before = db.session.scalar(select(func.count(Quote.id)))
    with pytest.raises(error) as caught:
        call()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Quote.id))) == before
    return caught.value.fields or {"__all__": [caught.value.message]}


def mails(topic: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)
                                   .order_by(OutboxMessage.id)))


def document_text(quote: Quote) -> str:
    return docx_text(path_for(quote.docx_file).read_bytes())


# --------------------------------------------------------------------------- numbering


def test_quotes_are_numbered_dev_year_sequence_from_creation(make_quote):
    first, second, intra = make_quote(), make_quote(), make_quote("intra")
    assert [q.number for q in (first, second, intra)] == [f"DEV-{year()}-{n:04d}" for n in (1, 2, 3)]
    assert (intra.year, intra.sequence, intra.status) == (year(), 3, "draft")
    assert format_number("quote", 2031, 12) == "DEV-2031-0012"
    assert last_number("invoice", year()) == 0  # the invoices' sequence is not touched


def _create_in_threads(app, data: dict, advisor_id: int, count: int) -> list:
    """Create ``count`` quotes from as many threads (own context, own connection) released by a barrier."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, advisor_id)
                db.session.commit()  # end the read transaction: each creation starts afresh after the barrier
                barrier.wait(timeout=60)
                quote = services.create_quote(data, actor)
                db.session.commit()
                results[index] = quote.number
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a creation never finished"
    return results


def test_ten_quotes_created_at_once_get_gapless_numbers(app, world, quote_input):
    results = _create_in_threads(app, quote_input(), world.users["advisor"].id, 10)
    errors = [r for r in results if not isinstance(r, str)]
    assert not errors, errors
    expected = [f"DEV-{year()}-{n:04d}" for n in range(1, 11)]
    assert sorted(results) == expected  # no duplicate, no gap
    with db.engine.connect() as conn:
        committed = list(conn.execute(select(Quote.number, Quote.sequence).order_by(Quote.sequence)))
    assert [tuple(row) for row in committed] == [(number, n) for n, number in enumerate(expected, 1)]


def test_a_refused_input_takes_no_number(world, quote_input, make_quote):
    refused(lambda: services.create_quote(quote_input(seats=0), world.users["advisor"]))
    assert last_number("quote", year()) == 0
    assert make_quote().number == f"DEV-{year()}-0001"


# --------------------------------------------------------------------------- lines, totals and VAT


def test_a_seats_quote_counts_seats_at_the_session_price_and_the_extras(make_quote, chorus_session):
    quote = make_quote()
    assert [(line.kind, line.quantity, line.unit_price, line.total) for line in quote.lines] == [
        ("seats", Decimal("3.00"), Decimal("600.00"), Decimal("1800.00")),
        ("extra", Decimal("3.00"), Decimal("15.50"), Decimal("46.50"))]
    assert quote.total_excl_vat == Decimal("1846.50")
    assert (quote.session_id, quote.seats, quote.valid_until) == (
        chorus_session.id, 3, paris_today() + dt.timedelta(days=30))


def test_the_seat_price_can_be_changed_and_is_rounded_to_the_cent(make_quote):
    quote = make_quote(seat_price="550", extras=[{"label": "Repas", "quantity": "1,5", "unit_price": "12,33"}])
    assert [line.total for line in quote.lines] == [Decimal("1650.00"), Decimal("18.50")]  # 18.495 half up
    assert quote.total_excl_vat == Decimal("1668.50")


def test_an_intra_quote_is_one_flat_price(make_quote):
    quote = make_quote("intra", extras=[{"label": "Déplacement du formateur", "quantity": "1", "unit_price": "180"}])
    assert [(line.kind, line.quantity, line.total) for line in quote.lines] == [
        ("intra", Decimal("1.00"), Decimal("4200.00")), ("extra", Decimal("1.00"), Decimal("180.00"))]
    assert (quote.session_id, quote.seats, quote.headcount, quote.total_excl_vat) == (
        None, None, 8, Decimal("4380.00"))


def test_a_vat_exempt_organisation_quotes_without_vat_and_prints_the_exemption(world, make_quote):
    assert get_organisation().vat_exempt
    quote = make_quote()
    assert (quote.vat_rate, quote.vat_amount, quote.total_incl_vat) == (Decimal("0.00"), 0, Decimal("1846.50"))
    services.send_quote(quote, world.users["advisor"])
    text = document_text(quote)
    assert "Exonération de TVA, article 261-4-4°-a du CGI" in text
    assert "Total TTC : 1 846,50 €" in text


def test_an_organisation_liable_to_vat_quotes_20_percent(world, make_quote):
    get_organisation().vat_status = "standard"
    db.session.commit()
    quote = make_quote()
    assert (quote.vat_rate, quote.vat_amount, quote.total_incl_vat) == (
        Decimal("20.00"), Decimal("369.30"), Decimal("2215.80"))
    services.send_quote(quote, world.users["advisor"])
    text = document_text(quote)
    assert "TVA au taux de 20 %" in text and "TVA : 369,30 €" in text and "Total TTC : 2 215,80 €" in text


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("changes, field, message", [
    ({"kind": "stage"}, "kind", "Choisissez des places"),
    ({"course_id": "abc"}, "course_id", "Choisissez la formation"),
    ({"seats": 0}, "seats", "compris entre 1 et 999"),
    ({"seats": "trois"}, "seats", "nombre entier"),
    ({"seats": 8}, "seats", "La session compte 7 places"),
    ({"session_id": None}, "session_id", "Choisissez la session"),
    ({"valid_until": "2001-01-01"}, "valid_until", "La date de validité est passée"),
    ({"valid_until": "31/02/2031"}, "valid_until", "date invalide"),
    ({"valid_until": "demain"}, "valid_until", "date invalide"),
    ({"contact_email": ""}, "contact_email", "L'e-mail du contact est obligatoire"),
    ({"contact_email": "marie@"}, "contact_email", "n'est pas valide"),
    ({"contact_name": " "}, "contact_name", "Le nom du contact est obligatoire"),
    ({"company_id": 9999}, "company_id", "Entreprise introuvable"),
    ({"company_id": None}, "company_id", "Indiquez l'entreprise cliente"),
    ({"seat_price": "-5"}, "seat_price", "positif ou nul"),
    ({"extras": [{"label": "Repas", "quantity": "1", "unit_price": "abc"}]}, "extras-0-unit_price",
     "doit être un nombre"),
    ({"extras": [{"label": "Repas", "quantity": "1", "unit_price": "-3"}]}, "extras-0-unit_price", "positif"),
    ({"extras": [{"label": "Repas", "quantity": "1", "unit_price": "3,333"}]}, "extras-0-unit_price",
     "deux décimales"),
    ({"extras": [{"label": "Repas", "quantity": "0", "unit_price": "3"}]}, "extras-0-quantity", "supérieur à 0"),
    ({"extras": [{"label": "", "quantity": "1", "unit_price": "3"}]}, "extras-0-label", "obligatoire"),
    ({"extras": "beaucoup"}, "extras", "20 lignes au plus"),
    ({"seats": 1, "trainees": [{"first_name": "Julie", "last_name": "Martin"},
                               {"first_name": "Hugo", "last_name": "Petit"}]}, "trainees", "nommez au plus 1 stagiaire"),
    ({"trainees": [{"first_name": "Julie", "last_name": ""}]}, "trainees-0-last_name", "Le nom est obligatoire"),
    ({"trainees": [{"first_name": "Julie", "last_name": "Martin", "email": "julie@"}]}, "trainees-0-email",
     "n'est pas valide"),
])
def test_bad_seats_input_is_refused_with_its_field(world, quote_input, changes, field, message):
    fields = refused(lambda: services.create_quote(quote_input(**changes), world.users["advisor"]))
    assert any(message in text for text in fields.get(field, [])), fields


@pytest.mark.parametrize("changes, field, message", [
    ({"headcount": 0}, "headcount", "compris entre 1 et 999"),
    ({"headcount": None}, "headcount", "L'effectif est obligatoire"),
    ({"wished_period": ""}, "wished_period", "La période souhaitée est obligatoire"),
    ({"wished_place": ""}, "wished_place", "Le lieu souhaité est obligatoire"),
    ({"intra_price": "quatre mille"}, "intra_price", "doit être un nombre"),
    ({"company_id": None, "company": {"name": "", "siret": "123"}}, "company_name", "raison sociale"),
])
def test_bad_intra_input_is_refused_with_its_field(world, quote_input, changes, field, message):
    fields = refused(lambda: services.create_quote(quote_input("intra", **changes), world.users["advisor"]))
    assert any(message in text for text in fields.get(field, [])), fields


def test_the_session_must_be_one_of_the_course_and_take_enrolments(world, quote_input, open_session,
                                                                     make_session):
    other_course = open_session(course=world.dume)
    fields = refused(lambda: services.create_quote(quote_input(session_id=other_course.id), world.users["advisor"]))
    assert "n'est pas une session de la formation choisie" in fields["session_id"][0]
    draft = make_session(start=dt.date(2031, 9, 1))
    fields = refused(lambda: services.create_quote(quote_input(session_id=draft.id), world.users["advisor"]))
    assert "ne prend pas d'inscriptions (statut : brouillon)" in fields["session_id"][0]
    intra = open_session(start=dt.date(2031, 10, 6), format="intra", client_company_id=world.company.id)
    fields = refused(lambda: services.create_quote(quote_input(session_id=intra.id), world.users["advisor"]))
    assert "session intra-entreprise" in fields["session_id"][0]


def test_a_new_company_is_found_or_created_from_its_details(world, quote_input, make_quote):
    quote = make_quote(company_id=None, company={"name": "Atelier Garonne", "siret": ""})
    assert quote.company.name == "Atelier Garonne" and quote.company_id != world.company.id
    again = make_quote("intra", company_id=None, company={"name": "atelier garonne"})
    assert again.company_id == quote.company_id


# --------------------------------------------------------------------------- edits and steps


def test_a_draft_is_edited_and_its_lines_computed_again(world, make_quote, quote_input):
    quote = make_quote()
    services.update_quote(quote, quote_input(seats=2, extras=[]), world.users["advisor"])
    db.session.commit()
    assert [(line.kind, line.total) for line in quote.lines] == [("seats", Decimal("1200.00"))]
    assert (quote.seats, quote.total_excl_vat, quote.number) == (2, Decimal("1200.00"), f"DEV-{year()}-0001")


def test_sending_renders_the_document_renews_the_link_and_mails_the_contact(world, make_quote):
    quote = make_quote()
    services.send_quote(quote, world.users["advisor"])
    db.session.commit()
    assert (quote.status, quote.version, quote.pdf_file_id) == ("sent", 1, None)  # no converter in the tests
    assert quote.sent_at is not None and quote.docx_file is not None
    assert quote.document_sha256 == quote.docx_file.sha256
    assert services.quote_from_token(services.quote_token(quote)) is quote
    [mail] = mails("quote_sent")
    assert mail.recipient == "marie.dupont@dupont-archi.example"
    assert f"Devis {quote.number}" in mail.subject
    [token] = re.findall(r"http://localhost/devis/(\S+)", mail.body_text)  # the token is dated: read it back
    assert services.quote_from_token(token) is quote
    assert "1 846,50 € HT" in mail.body_text.replace("\u202f", " ").replace("\xa0", " ")
    assert 'href="http://localhost/devis/' in mail.body_html
    assert [a.filename for a in mail.attachments] == [f"{quote.number}.docx"]


def test_a_sent_quote_goes_back_to_draft_and_a_new_sending_is_a_new_version(world, sent_quote, quote_input):
    advisor = world.users["advisor"]
    first_token = services.quote_token(sent_quote)
    refused(lambda: services.update_quote(sent_quote, quote_input(seats=2), advisor), ConflictError)
    services.reopen_quote(sent_quote, advisor)
    services.update_quote(sent_quote, quote_input(seats=2), advisor)
    services.send_quote(sent_quote, advisor)
    db.session.commit()
    assert (sent_quote.status, sent_quote.version, sent_quote.total_excl_vat) == ("sent", 2, Decimal("1246.50"))
    with pytest.raises(LinkExpired):
        services.quote_from_token(first_token)
    assert len(mails("quote_sent")) == 2


def test_sending_needs_a_price_and_an_enrollable_session(world, make_quote):
    quote = make_quote("intra", intra_price="")
    fields = refused(lambda: services.send_quote(quote, world.users["advisor"]))
    assert "Le devis est à 0 €" in fields["status"][0]
    assert db.session.get(Quote, quote.id).status == "draft" and not mails("quote_sent")


def test_an_unknown_step_is_422_and_an_illegal_one_409(world, make_quote):
    quote = make_quote()
    with pytest.raises(ValidationError, match="Étape inconnue"):
        services.take_step(quote, "archive", world.users["advisor"])
    with pytest.raises(ConflictError, match="au statut « brouillon » : il ne peut pas être accepté"):
        services.take_step(quote, "accept", world.users["advisor"])
    with pytest.raises(ConflictError, match="remis en brouillon"):
        services.reopen_quote(quote, world.users["advisor"])


def test_a_refusal_needs_its_reason_and_freezes_the_quote(world, sent_quote, quote_input):
    advisor = world.users["advisor"]
    assert "Indiquez la raison" in refused(lambda: services.refuse_quote(sent_quote, "  ", advisor))["reason"][0]
    services.refuse_quote(sent_quote, "Budget reporté à l'an prochain", advisor)
    db.session.commit()
    assert (sent_quote.status, sent_quote.refusal_reason) == ("refused", "Budget reporté à l'an prochain")
    assert sent_quote.decided_at is not None and sent_quote.is_frozen
    for call in (lambda: services.update_quote(sent_quote, quote_input(), advisor),
                 lambda: services.send_quote(sent_quote, advisor),
                 lambda: services.reopen_quote(sent_quote, advisor),
                 lambda: services.refuse_quote(sent_quote, "Encore", advisor),
                 lambda: services.take_step(sent_quote, "accept", advisor)):
        refused(call, ConflictError)
    assert db.session.get(Quote, sent_quote.id).refusal_reason == "Budget reporté à l'an prochain"


def test_a_draft_not_pursued_is_refused_sans_suite(world, make_quote):
    quote = make_quote()
    services.refuse_quote(quote, "Sans suite", world.users["advisor"])
    assert quote.status == "refused"


def test_the_contact_refuses_online_only_a_sent_quote(world, make_quote, sent_quote):
    draft = make_quote("intra")
    refused(lambda: services.refuse_quote(draft, "Trop cher", None, online=True), ConflictError)
    services.refuse_quote(sent_quote, "Trop cher", None, online=True)
    assert sent_quote.status == "refused"


# --------------------------------------------------------------------------- expiry


def test_open_quotes_expire_once_after_their_validity_date(world, make_quote, sent_quote):
    draft = make_quote("intra")
    services.refuse_quote(make_quote(), "Sans suite", world.users["advisor"])
    db.session.commit()
    day_after = sent_quote.valid_until + dt.timedelta(days=1)
    assert services.expire_due_quotes(sent_quote.valid_until) == 0  # valid through its last day
    assert services.expire_due_quotes(day_after) == 2
    db.session.commit()
    assert (sent_quote.status, draft.status) == ("expired", "expired")
    assert sent_quote.decided_at is not None
    assert services.expire_due_quotes(day_after) == 0  # once
    assert [q.status for q in db.session.scalars(select(Quote).order_by(Quote.id))] == [
        "expired", "expired", "refused"]  # a decided quote stays as it was
    assert len(mails("quote_sent")) == 1  # nobody is told of the expiry
    refused(lambda: services.take_step(sent_quote, "accept", world.users["advisor"]), ConflictError)


def test_the_worker_expires_the_due_quotes_at_each_pass(world, sent_quote):
    from trainingmgr.messaging.services import _PERIODIC_TASKS, tick

    assert services.expire_quotes in _PERIODIC_TASKS
    sent_quote.valid_until = paris_today() - dt.timedelta(days=1)
    db.session.commit()
    tick()
    tick()
    db.session.expire_all()
    quote = db.session.get(Quote, sent_quote.id)
    assert quote.status == "expired"
    assert not any(m.recipient == quote.contact_email for m in mails("quote_sent")[1:])


# --------------------------------------------------------------------------- the document


def test_the_seats_document_prints_what_a_quote_must(world, make_quote, chorus_session):
    quote = make_quote(trainees=[{"first_name": "Julie", "last_name": "Martin", "email": "julie@dupont.example"}])
    services.send_quote(quote, world.users["advisor"])
    text = document_text(quote)
    today = paris_today().strftime("%d/%m/%Y")
    valid = quote.valid_until.strftime("%d/%m/%Y")
    for expected in (f"N° {quote.number}", f"Date : {today}", f"Valable jusqu'au {valid}",
                     "Cabinet d'architecture Dupont", "443 061 841 00021", "À l'attention de Marie Dupont",
                     "marie.dupont@dupont-archi.example", chorus_session.title,
                     "Places en session inter-entreprises", chorus_session.dates_label, "Salle Capitole",
                     "3 places", "Supports imprimés", "600,00 €", "1 800,00 €", "46,50 €",
                     "Total HT : 1 846,50 €", "Tarif de groupe valable pour trois personnes.", "Julie Martin",
                     "Bon pour accord", "Formaction Sud-Ouest"):
        assert expected in text, expected
    assert "{{" not in text and "None" not in text


def test_the_intra_document_prints_the_wished_period_place_and_headcount(world, make_quote):
    quote = make_quote("intra")
    services.send_quote(quote, world.users["advisor"])
    text = document_text(quote)
    for expected in ("Session intra-entreprise", "Période souhaitée", "mars 2031", "Nos locaux, 3 allée des Arts",
                     "8 personnes", "Total HT : 4 200,00 €", f"N° {quote.number}"):
        assert expected in text, expected
    assert "{{" not in text and "None" not in text


def test_the_session_quote_of_the_documents_page_fills_the_same_keys(world, chorus_session):
    from trainingmgr.documents.rendering.context import quote as session_quote

    context = session_quote(chorus_session, world.company, "DEV-0001-1-1")
    block = context["quote"]
    assert block["number"] == "DEV-0001-1-1" and block["lines"][0]["total"].startswith("600")
    assert set(block) >= {"number", "date", "valid_until", "validity", "details", "lines", "totals", "vat_mention"}
    assert block["vat_mention"].startswith("Exonération de TVA")


def test_the_context_comes_from_the_quote(world, make_quote):
    context = services.quote_document_context(make_quote("intra"))
    assert context["quote"]["totals"] == {"excl_vat": "4\u202f200,00\xa0€", "vat": "0,00\xa0€",
                                          "incl_vat": "4\u202f200,00\xa0€"}
    assert "session" not in context and context["client"]["name"] == "Cabinet d'architecture Dupont"


# --------------------------------------------------------------------------- the public request


def test_a_public_request_is_a_draft_and_the_advisors_are_told(world, quote_input, chorus_session):
    data = quote_input(company_id=None, company={"name": "Atelier Garonne", "siret": "44306184100039"},
                       seat_price="1", notes="interne", extras=[{"label": "x", "quantity": "1", "unit_price": "9"}],
                       request_message="Trois assistantes à former.")
    quote = services.request_quote(world.chorus, data)
    db.session.commit()
    assert (quote.status, quote.source, quote.created_by_id, quote.notes) == ("draft", "public", None, "")
    assert [line.total for line in quote.lines] == [Decimal("1800.00")]  # the contact sets no price
    [mail] = mails("quote_request")
    assert mail.recipient in {"conseil@test.example", "admin@test.example", get_organisation().quality_contact_email}
    assert "Trois assistantes à former." in mail.body_text and f"/quotes/{quote.id}" in mail.body_text


def test_a_public_request_for_an_unpublished_course_is_refused(world, quote_input):
    from trainingmgr.catalogue.services import set_course_status

    set_course_status(world.chorus, "archived")
    db.session.commit()
    refused(lambda: services.request_quote(world.chorus, quote_input()))


# --------------------------------------------------------------------------- listing and permissions


def test_quotes_are_listed_by_status_and_searched(world, make_quote, sent_quote):
    make_quote("intra", company_id=None, company={"name": "Atelier Garonne"})
    rows, total = services.list_quotes()
    assert total == 2 and rows[0].id > rows[1].id
    assert [q.id for q in services.list_quotes(status="sent")[0]] == [sent_quote.id]
    assert [q.company.name for q in services.list_quotes(search="garonne")[0]] == ["Atelier Garonne"]
    assert services.list_quotes(search=sent_quote.number)[1] == 1
    with pytest.raises(ValidationError):
        services.list_quotes(status="signed")


def test_only_staff_manage_quotes(world, make_quote, quote_input):
    quote = make_quote()
    trainer = world.users["trainer"]
    assert services.can_manage_quotes(world.users["advisor"]) and services.can_manage_quotes(world.users["admin"])
    for actor in (trainer, None):
        assert not services.can_manage_quotes(actor)
        for call in (lambda: services.create_quote(quote_input(), actor),
                     lambda: services.get_quote(quote.id, actor),
                     lambda: services.update_quote(quote, quote_input(seats=1), actor),
                     lambda: services.send_quote(quote, actor),
                     lambda: services.reopen_quote(quote, actor),
                     lambda: services.refuse_quote(quote, "Non", actor)):
            with pytest.raises(PermissionDenied, match="Seul un conseiller formation gère les devis"):
                call()
            db.session.rollback()
    assert services.get_quote(quote.id, world.users["advisor"]) is quote
    assert db.session.get(Quote, quote.id).status == "draft"
    with pytest.raises(Exception, match="Devis introuvable"):
        services.get_quote(9999, world.users["advisor"])


def test_a_named_trainee_without_an_e_mail_stops_the_sending(world, make_quote, chorus_session):
    quote = make_quote(trainees=[{"first_name": "Julie", "last_name": "Martin"}])
    with pytest.raises(ValidationError, match="Indiquez l'e-mail de Julie Martin"):
        services.send_quote(quote, world.users["advisor"])
    assert quote.status == "draft"


def test_an_intra_quote_of_a_course_sold_in_inter_sessions_only_is_refused(world, quote_input):
    assert world.dume.current_version.audience_format == "inter"
    with pytest.raises(ValidationError) as caught:
        services.create_quote(quote_input("intra", course_id=world.dume.id), world.users["advisor"])
    assert "qu'en inter-entreprises" in caught.value.fields["kind"][0]
