"""The quotes' pages: the back office (list, form, page, send, reopen, acceptance with the signed copy, refusal,
pipeline and its exports), the public request from a course page and the contact's personal page."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.fixtures.quotes import build_quote
from tests.helpers import exported, login, page
from trainingmgr.companies.models import Company
from trainingmgr.core.formatting import money_fr
from trainingmgr.core.timeutil import PARIS, paris_today
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.quotes import mails, pipeline, services
from trainingmgr.quotes.models import Quote

D = Decimal
SIGNED_PDF = b"%PDF-1.4\n% signed by the client\n%%EOF\n"


def make_quote(world, *, session=None, course=None, status: str = "sent", price: str = "1100",
               valid_until: dt.date | None = None, seats: int = 2) -> Quote:
    """build_quote with this file's defaults: with ``session``, ``seats`` named seats at 550 €; else an intra of
    ``course`` (Chorus Pro) at ``price``."""
    return build_quote(world, session=session, course=course, kind="seats" if session is not None else "intra",
                       status=status, seat_price="550", intra_price=price, valid_until=valid_until, seats=seats,
                       wished_place="Usine de Blagnac")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def fresh(quote: Quote) -> Quote:
    db.session.expire_all()
    return db.session.get(Quote, quote.id)


@pytest.fixture
def draft(world):
    return make_quote(world, status="draft")


@pytest.fixture
def sent(world, dume_session):
    """A sent quote for two named seats in the DUME session, its PDF stored."""
    return make_quote(world, session=dume_session)


# --------------------------------------------------------------------------- permissions


def back_office_urls(quote: Quote) -> list[str]:
    return ["/quotes/", "/quotes/new", f"/quotes/{quote.id}", f"/quotes/{quote.id}/edit",
            f"/quotes/{quote.id}/accept", f"/quotes/{quote.id}/refuse", "/quotes/pipeline"]


def test_pages_render_for_the_advisor(advisor_client, draft):
    for url in back_office_urls(draft):
        response = advisor_client.get(url)
        assert response.status_code == 200, (url, page(response)[:1500])
    assert draft.number in page(advisor_client.get("/quotes/"))
    assert "Devis" in page(advisor_client.get("/"))  # the staff navigation


def test_trainers_are_refused_and_anonymous_visitors_sent_to_login(app, client, users, draft):
    for url in back_office_urls(draft):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    login(client, "formateur@test.example")
    for url in back_office_urls(draft) + [f"/quotes/{draft.id}/file.pdf"]:
        assert client.get(url).status_code == 403, url
    for url in (f"/quotes/{draft.id}/send", f"/quotes/{draft.id}/reopen", "/quotes/pipeline.csv"):
        assert client.post(url).status_code == 403, url
    assert fresh(draft).status == "draft"


# --------------------------------------------------------------------------- the advisor's form


def seats_form(world, session, **changes) -> dict:
    form = {"kind": "seats", "course_id": str(session.course_id), "session_id": str(session.id),
            "company_name": "Cabinet d'architecture Dupont", "company_siret": "44306184100021",
            "contact_name": "Claire Dupont", "contact_email": "claire.rh@dupont.example", "contact_phone": "",
            "seats": "2", "seat_price": "550", "trainees": "Léa ; Martin ; lea@dupont.example\nJean ; Roux",
            "extras": "Frais de déplacement ; 1 ; 120,50", "valid_until": "", "conditions": "Paiement à 30 jours.",
            "notes": "", "request_message": ""}
    form.update(changes)
    return form


def test_the_advisor_creates_a_draft_from_the_form(advisor_client, world, dume_session):
    response = advisor_client.post("/quotes/new", data=seats_form(world, dume_session))
    assert response.status_code == 302, page(response)[:3000]
    quote = db.session.scalar(select(Quote))
    assert response.headers["Location"].endswith(f"/quotes/{quote.id}")
    assert (quote.status, quote.kind, quote.seats, quote.company_id) == ("draft", "seats", 2, world.company.id)
    assert [(t.first_name, t.last_name, t.email) for t in quote.trainees] == [
        ("Léa", "Martin", "lea@dupont.example"), ("Jean", "Roux", "")]
    assert quote.total_excl_vat == D("1220.50")
    shown = page(advisor_client.get(f"/quotes/{quote.id}"))
    assert quote.number in shown and money_fr(D("1220.50")) in shown and "Envoyer" in shown
    # the edit form shows what was saved
    edit = page(advisor_client.get(f"/quotes/{quote.id}/edit"))
    assert "Frais de déplacement ; 1 ; 120,5" in edit and "Léa ; Martin ; lea@dupont.example" in edit


def test_bad_input_is_refused_in_french_and_nothing_is_saved(advisor_client, world, dume_session):
    companies = count(Company)
    response = advisor_client.post("/quotes/new", data=seats_form(world, dume_session, seats="abc",
                                                                  company_name="", valid_until="31/02/2020"))
    assert response.status_code == 422
    text = page(response)
    assert "Saisissez un nombre entier." in text
    assert "This field" not in text
    assert count(Quote) == 0 and count(Company) == companies


def test_a_sent_quote_is_edited_only_after_modifier(advisor_client, sent):
    response = advisor_client.get(f"/quotes/{sent.id}/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/quotes/{sent.id}")
    response = advisor_client.post(f"/quotes/{sent.id}/reopen")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/quotes/{sent.id}/edit")
    assert fresh(sent).status == "draft"


def test_the_list_filters_by_status_and_searches(advisor_client, world, draft, sent):
    listed = page(advisor_client.get("/quotes/?status=sent"))
    assert sent.number in listed and draft.number not in listed
    listed = page(advisor_client.get(f"/quotes/?q={draft.number}"))
    assert draft.number in listed and sent.number not in listed
    response = advisor_client.get("/quotes/?status=nimporte")
    assert response.status_code == 400 and "Statut de devis inconnu" in page(response)


# --------------------------------------------------------------------------- acceptance and refusal


def test_recording_the_acceptance_needs_the_signed_copy(advisor_client, sent, fake_pdf):
    response = advisor_client.post(f"/quotes/{sent.id}/accept", data={"accepted_by_name": "Claire Dupont"})
    assert response.status_code == 422 and "Joignez le devis signé." in page(response)
    assert fresh(sent).status == "sent"
    response = advisor_client.post(f"/quotes/{sent.id}/accept", content_type="multipart/form-data", data={
        "accepted_by_name": "Claire Dupont, DRH", "signed_file": (io.BytesIO(SIGNED_PDF), "devis-signe.pdf")})
    assert response.status_code == 302, page(response)[:3000]
    quote = fresh(sent)
    assert (quote.status, quote.acceptance_mode, quote.accepted_by_name) == ("accepted", "recorded",
                                                                             "Claire Dupont, DRH")
    shown = page(advisor_client.get(f"/quotes/{quote.id}"))
    for trainee in quote.trainees:
        assert f"/enrolments/{trainee.enrolment_id}" in shown
    assert "devis-signe.pdf" in shown and "Enregistrer l'acceptation" not in shown
    assert advisor_client.get(f"/quotes/{quote.id}/signed").data == SIGNED_PDF
    # accepted is frozen: a second acceptance is a conflict
    again = advisor_client.post(f"/quotes/{sent.id}/accept", content_type="multipart/form-data", data={
        "accepted_by_name": "Claire", "signed_file": (io.BytesIO(SIGNED_PDF), "devis-signe.pdf")})
    assert again.status_code == 409


def test_waitlisted_trainees_are_flagged(advisor_client, world, open_session, fake_pdf):
    session = open_session(course=world.dume, capacity=2)
    quote = make_quote(world, session=session, seats=2)
    session.capacity = 1  # the session filled meanwhile
    db.session.commit()
    response = advisor_client.post(f"/quotes/{quote.id}/accept", content_type="multipart/form-data", data={
        "accepted_by_name": "Claire Dupont", "signed_file": (io.BytesIO(SIGNED_PDF), "devis-signe.pdf")})
    assert response.status_code == 302, page(response)[:3000]
    shown = page(advisor_client.get(f"/quotes/{quote.id}", follow_redirects=False))
    assert shown.count('data-field="waitlisted"') == 1


def test_refusing_needs_a_reason(advisor_client, sent):
    response = advisor_client.post(f"/quotes/{sent.id}/refuse", data={"reason": ""})
    assert response.status_code == 422 and fresh(sent).status == "sent"
    response = advisor_client.post(f"/quotes/{sent.id}/refuse", data={"reason": "Budget insuffisant"})
    assert response.status_code == 302
    quote = fresh(sent)
    assert (quote.status, quote.refusal_reason) == ("refused", "Budget insuffisant")
    assert "Budget insuffisant" in page(advisor_client.get(f"/quotes/{quote.id}"))


def test_the_document_sent_is_downloaded(advisor_client, world, draft, sent):
    response = advisor_client.get(f"/quotes/{sent.id}/file.docx")
    assert response.status_code == 200 and response.data.startswith(b"PK")
    assert advisor_client.get(f"/quotes/{sent.id}/file.pdf").status_code == 404  # no converter in the tests
    assert advisor_client.get(f"/quotes/{draft.id}/file.docx").status_code == 404  # made at the sending


# --------------------------------------------------------------------------- the public request


PUBLIC = {"kind": "seats", "seats": "2", "trainees": "Léa Martin lea@dupont.example", "headcount": "",
          "wished_period": "", "wished_place": "", "company_name": "Cabinet d'architecture Dupont",
          "company_siret": "443 061 841 00021", "contact_name": "Claire Dupont",
          "contact_email": "claire.rh@dupont.example", "contact_phone": "06 12 34 56 78",
          "request_message": "Deux collaborateurs.", "consent": "y"}


def request_url(session) -> str:
    return f"/catalogue/{session.course.slug}/devis"


def test_the_course_page_links_to_the_request_form(client, world, dume_session):
    assert request_url(dume_session) in page(client.get(f"/catalogue/{dume_session.course.slug}"))
    form = page(client.get(request_url(dume_session)))
    assert "Demander un devis" in form and dume_session.dates_label.capitalize() in form
    assert 'aria-hidden="true"' in form and 'name="website"' in form


def test_a_public_request_makes_a_draft_and_tells_the_advisor(client, world, dume_session):
    response = client.post(request_url(dume_session), data={**PUBLIC, "session_id": str(dume_session.id)})
    assert response.status_code == 200, page(response)[:3000]
    assert "Merci, votre demande de devis est bien reçue" in page(response)
    quote = db.session.scalar(select(Quote))
    assert (quote.status, quote.source, quote.kind, quote.session_id, quote.seats) == (
        "draft", "public", "seats", dume_session.id, 2)
    assert quote.company_id == world.company.id  # found by its SIRET
    assert [(t.first_name, t.last_name, t.email) for t in quote.trainees] == [("Léa", "Martin", "lea@dupont.example")]
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "quote_request")).all()
    assert told and {m.recipient for m in told} == set(mails.advisor_recipients())


def test_an_intra_request_keeps_its_period_place_and_headcount(client, world, chorus_session):
    response = client.post(request_url(chorus_session), data={
        **PUBLIC, "kind": "intra", "seats": "", "trainees": "", "headcount": "8", "wished_period": "mars 2032",
        "wished_place": "Dans nos locaux, Blagnac"})
    assert response.status_code == 200, page(response)[:3000]
    quote = db.session.scalar(select(Quote))
    assert (quote.kind, quote.headcount, quote.wished_period, quote.wished_place, quote.session_id) == (
        "intra", 8, "mars 2032", "Dans nos locaux, Blagnac", None)


def test_bad_public_input_is_refused_in_french_and_nothing_is_saved(client, world, dume_session):
    companies = count(Company)
    response = client.post(request_url(dume_session), data={
        **PUBLIC, "session_id": str(dume_session.id), "company_name": "", "contact_email": "pas-une-adresse",
        "seats": "deux", "consent": ""})
    assert response.status_code == 422
    text = page(response)
    assert "Saisissez un nombre entier." in text
    assert "Cochez la case pour que nous puissions traiter votre demande." in text
    assert "This field" not in text and "Invalid" not in text
    assert count(Quote) == 0 and count(Company) == companies and count(OutboxMessage) == 0


def test_the_honeypot_answers_thanks_and_keeps_nothing(client, world, dume_session):
    response = client.post(request_url(dume_session), data={**PUBLIC, "session_id": str(dume_session.id),
                                                            "website": "http://spam.example"})
    assert response.status_code == 200 and "bien reçue" in page(response)
    assert count(Quote) == 0 and count(OutboxMessage) == 0


def test_the_request_form_is_rate_limited(make_app, world, dume_session):
    limited = make_app(PUBLIC_FORM_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    answers = [client.post(request_url(dume_session), data={**PUBLIC, "session_id": str(dume_session.id),
                                                            "contact_email": f"c{n}@dupont.example"}).status_code
               for n in range(3)]
    assert answers == [200, 200, 429]
    assert client.get(request_url(dume_session)).status_code == 200


def test_an_unpublished_course_has_no_request_form(client, world):
    assert client.get("/catalogue/inconnue/devis").status_code == 404


# --------------------------------------------------------------------------- the contact's page


def link(quote: Quote) -> str:
    token = services.quote_token(quote)
    db.session.commit()
    return f"/devis/{token}"


def test_the_contact_reads_downloads_and_accepts(client, sent, fake_pdf):
    url = link(sent)
    shown = page(client.get(url))
    assert sent.number in shown and "Accepter le devis" in shown and "Bon pour accord" in shown
    assert money_fr(D("1100")) in shown
    assert client.get(f"{url}/devis.docx").data.startswith(b"PK")
    response = client.post(f"{url}/accepter", data={"name": "Claire Dupont"})
    assert response.status_code == 422 and "Cochez « Bon pour accord »" in page(response)
    assert fresh(sent).status == "sent"
    response = client.post(f"{url}/accepter", data={"name": "Claire Dupont", "agreed": "y"},
                           headers={"User-Agent": "Téléphone de test"})
    assert response.status_code == 302
    quote = fresh(sent)
    assert (quote.status, quote.acceptance_mode, quote.accepted_by_name) == ("accepted", "online", "Claire Dupont")
    assert quote.acceptance_evidence["user_agent"] == "Téléphone de test"
    after = page(client.get(url))
    assert "Accepté" in after and "Accepter le devis" not in after


def test_the_contact_refuses_with_a_reason(client, sent):
    url = link(sent)
    response = client.post(f"{url}/refuser", data={"refuse-reason": ""})
    assert response.status_code == 422 and fresh(sent).status == "sent"
    response = client.post(f"{url}/refuser", data={"refuse-reason": "Nous avons choisi une autre date."})
    assert response.status_code == 302
    quote = fresh(sent)
    assert (quote.status, quote.refusal_reason) == ("refused", "Nous avons choisi une autre date.")


def test_a_replaced_link_answers_410_and_a_forged_one_403(client, sent):
    from trainingmgr.quotes import links

    old = link(sent)
    links.renew_link(sent)
    db.session.commit()
    response = client.get(old)
    assert response.status_code == 410 and "remplacé" in page(response)
    assert client.post(f"{old}/accepter", data={"name": "Claire Dupont", "agreed": "y"}).status_code == 410
    assert client.get("/devis/lien-contrefait").status_code == 403
    assert fresh(sent).status == "sent"


def test_an_expired_quote_cannot_be_accepted_online(client, world, dume_session):
    quote = make_quote(world, session=dume_session, valid_until=paris_today() - dt.timedelta(days=1))
    url = link(quote)
    response = client.post(f"{url}/accepter", data={"name": "Claire Dupont", "agreed": "y"})
    assert response.status_code == 409 and "plus valable" in page(response)
    assert fresh(quote).status == "sent"


# --------------------------------------------------------------------------- the pipeline


def at_paris(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), PARIS).astimezone(dt.UTC)


@pytest.fixture
def known_set(world):
    """Draft 1 100; sent 1 100 expiring in 3 days and 1 100 in 20; accepted 4 200; refused 1 100 (DUME); expired
    1 100 sent last month. Intra quotes of Chorus Pro unless said, sent today."""
    today = paris_today()
    last_month = today.replace(day=1) - dt.timedelta(days=10)
    draft = make_quote(world, status="draft")
    soon = make_quote(world, valid_until=today + dt.timedelta(days=3))
    later = make_quote(world, valid_until=today + dt.timedelta(days=20))
    accepted = make_quote(world, status="accepted", price="4200")
    world.dume.current_version.audience_format = "inter_intra"  # sold as an intra session too
    refused = make_quote(world, course=world.dume, status="refused")
    refused.refusal_reason = "=Budget"  # a formula-looking cell stays text in the exports
    expired = make_quote(world, status="expired", valid_until=last_month + dt.timedelta(days=5))
    expired.sent_at = at_paris(last_month)
    db.session.commit()
    return {"draft": draft, "soon": soon, "later": later, "accepted": accepted, "refused": refused,
            "expired": expired}


def test_pipeline_figures_on_a_known_set(app, world, known_set):
    figures = pipeline.pipeline(paris_today())
    assert [(s.status, s.count, s.amount) for s in figures.stages] == [
        ("draft", 1, D("1100.00")), ("sent", 2, D("2200.00")), ("accepted", 1, D("4200.00")),
        ("refused", 1, D("1100.00")), ("expired", 1, D("1100.00"))]
    assert (figures.open_count, figures.open_amount) == (3, D("3300.00"))
    assert [q.id for q in figures.expiring_this_week] == [known_set["soon"].id]
    this_month, last_month = figures.conversion_by_month[-1], figures.conversion_by_month[-2]
    assert (this_month.sent, this_month.accepted, this_month.refused, this_month.waiting, this_month.rate) == (
        4, 1, 1, 2, D("50.0"))
    assert (last_month.sent, last_month.expired, last_month.rate) == (1, 1, D("0.0"))
    assert len(figures.conversion_by_month) == 12
    assert all(row.sent == 0 and row.rate is None for row in figures.conversion_by_month[:-2])
    by_course = {row.course_id: row for row in figures.conversion_by_course}
    chorus, dume = by_course[world.chorus.id], by_course[world.dume.id]
    assert (chorus.sent, chorus.accepted, chorus.expired, chorus.waiting, chorus.rate) == (4, 1, 1, 2, D("50.0"))
    assert (dume.sent, dume.refused, dume.rate) == (1, 1, D("0.0"))


def test_the_pipeline_page_shows_the_figures(advisor_client, known_set):
    shown = page(advisor_client.get("/quotes/pipeline"))
    assert f"{money_fr(D(2200))} HT" in shown and f"{money_fr(D(4200))} HT" in shown
    assert known_set["soon"].number in shown and known_set["later"].number not in shown
    assert "50 %" in shown  # 1 accepted of 2 decided this month
    assert "devis acceptés / devis décidés" in shown


def test_the_pipeline_statements_do_not_grow_with_history(app, world, known_set, count_queries):
    with count_queries() as few:
        pipeline.pipeline(paris_today())
    for _ in range(5):
        make_quote(world, status="refused")
    with count_queries() as more:
        pipeline.pipeline(paris_today())
    assert more.count == few.count <= 7  # 4 aggregates, the week's quotes with their company, course and title


def test_the_csv_export(advisor_client, known_set):
    download = exported(advisor_client, "/quotes/pipeline.csv")
    text = download.data.decode("utf-8")
    assert text.startswith("\ufeffNuméro;Statut;Nature")
    lines = text.strip().split("\r\n")
    assert len(lines) == 7
    refused = next(line for line in lines if known_set["refused"].number in line)
    assert ";Refusé;" in refused and ";1100,00;" in refused and ";'=Budget" in refused
    assert paris_today().strftime("%d/%m/%Y") in refused


def test_the_xlsx_export(advisor_client, known_set):
    download = exported(advisor_client, "/quotes/pipeline.xlsx")
    sheet = load_workbook(io.BytesIO(download.data)).active
    assert sheet.title == "Devis"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Numéro", "Statut", "Nature") and len(rows) == 7
    accepted = next(row for row in rows if row[0] == known_set["accepted"].number)
    quote = known_set["accepted"]
    assert accepted[1] == "Accepté" and accepted[15] == 4200 and D(str(accepted[17])) == quote.total_incl_vat
    assert isinstance(accepted[11], dt.datetime)  # a real date


def test_an_unknown_export_format_is_404(advisor_client):
    assert advisor_client.post("/quotes/pipeline.pdf").status_code == 404


def test_a_course_sold_in_inter_sessions_only_takes_no_intra_request(client, world, dume_session):
    assert world.dume.current_version.audience_format == "inter"
    form = client.get(request_url(dume_session))
    assert form.status_code == 200 and "headcount" not in page(form)
    response = client.post(request_url(dume_session), data={
        **PUBLIC, "kind": "intra", "seats": "", "trainees": "", "headcount": "8", "wished_period": "mars 2032",
        "wished_place": "Dans nos locaux, Blagnac"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Quote.id))) == 0


def test_no_quote_link_when_nothing_can_be_quoted(client, world):
    world.chorus.current_version.audience_format = "inter"
    db.session.commit()
    assert 'data-field="quote-request"' not in page(client.get(f"/catalogue/{world.chorus.slug}"))
    response = client.get(f"/catalogue/{world.chorus.slug}/devis")
    assert response.status_code == 404 and "Aucune session de cette formation" in page(response)
