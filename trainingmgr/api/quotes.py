"""Quotes through the API (advisor token): the list by status a page at a time, creation (a numbered draft), one
quote with its lines, trainees and totals, and its steps: send, accept, refuse (quotes/services.py, quotes/acceptance.py).

*Decision*: an acceptance through the API is recorded on the word of the caller, who names the client's signatory
(« accepted_by_name ») and may give a reference of the proof (an order number, a signature envelope); the signed file
is not sent through the API, whose requests are JSON only and which takes no file anywhere: the advisor attaches it
in the back office if there is one."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError

from ..accounts.permissions import current_principal, staff_required
from ..core.links import external_url
from ..core.paging import Page
from ..core.timeutil import utcnow
from ..extensions import db
from ..quotes import acceptance
from ..quotes import services as quotes
from ..quotes.acceptance import AcceptanceResult
from ..quotes.models import ACCEPTANCE_MODES, LINE_KINDS, QUOTE_KINDS, QUOTE_SOURCES, QUOTE_STATUSES
from .docs import STAFF_ONLY, error_responses
from .paging import PAGE_HEADERS, page_headers
from .schemas import (
    _DECIMAL_STRING,
    _ID,
    EMAIL,
    NOT_BLANK,
    TOO_LONG,
    Choice,
    CompanyInputSchema,
    Hours,
    ModelSchema,
    Money,
    Object,
    PageQuerySchema,
    PlanningDay,
    Price,
    Text,
    _email,
)

bp = Blueprint("quotes_api", __name__, description="Devis (conseiller formation)")

QUOTE_PATH = "/quotes/<int:quote_id>"
UNKNOWN_QUOTE = "Devis inconnu"


# --------------------------------------------------------------------------- answers


class QuoteLineSchema(Schema):
    position = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(LINE_KINDS),
                                                  "description": "seats : places ; intra : forfait ; extra : frais"})
    label = fields.String(required=True)
    quantity = Hours(required=True)
    unit_price = Money(required=True)  # excluding VAT
    total = Money(required=True)  # quantity × unit price, rounded to the cent


class QuoteTraineeSchema(ModelSchema):
    position = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True)
    enrolment_id = fields.Integer(required=True, allow_none=True,
                                  metadata={"description": "L'inscription faite à l'acceptation du devis"})
    enrolment_status = fields.String(required=True, allow_none=True,
                                     metadata={"description": "confirmed, waitlisted… (null avant l'acceptation)"})

    def get_enrolment_status(self, named) -> str | None:
        return named.enrolment.status if named.enrolment is not None else None


class QuoteSummarySchema(ModelSchema):
    """A quote (a ``Quote``) in a list."""

    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"example": "DEV-2026-0001"})
    status = fields.String(required=True, metadata={"enum": list(QUOTE_STATUSES)})
    status_label = fields.String(required=True, metadata={"example": "Envoyé"})
    kind = fields.String(required=True, metadata={"enum": list(QUOTE_KINDS)})
    kind_label = fields.String(required=True)
    source = fields.String(required=True, metadata={"enum": list(QUOTE_SOURCES)})
    course_id = fields.Integer(required=True)
    course_slug = fields.String(required=True, attribute="course.slug")
    session_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Places : la session des places ; intra : la session créée à l'acceptation (null avant)"})
    company_id = fields.Integer(required=True)
    company_name = fields.String(required=True, attribute="company.name")
    contact_name = fields.String(required=True)
    contact_email = fields.String(required=True)
    valid_until = fields.Date(required=True)
    total_excl_vat = Money(required=True)
    vat_rate = fields.Decimal(as_string=True, places=2, required=True, metadata={
        **_DECIMAL_STRING, "example": "20.00", "description": "Taux de TVA en % (0.00 : organisme exonéré)"})
    total_incl_vat = Money(required=True)
    created_at = fields.DateTime(required=True)
    sent_at = fields.DateTime(required=True, allow_none=True)
    decided_at = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "Accepté, refusé ou expiré"})


class QuoteLinksSchema(ModelSchema):
    """Dumps the quote itself: the address of its page in the application."""

    html = fields.String(required=True, metadata={"description": "La page du devis dans l'application"})

    def get_html(self, quote) -> str:
        return external_url("quotes.show", quote_id=quote.id)


class QuoteSchema(QuoteSummarySchema):
    """A quote with its lines, the people it names and what its acceptance made."""

    course_title = fields.String(required=True, attribute="course.title")
    contact_phone = fields.String(required=True)
    seats = fields.Integer(required=True, allow_none=True, metadata={"description": "Places : le nombre de places"})
    headcount = fields.Integer(required=True, allow_none=True, metadata={"description": "Intra : l'effectif"})
    wished_period = fields.String(required=True)
    wished_place = fields.String(required=True)
    request_message = fields.String(required=True)
    conditions = fields.String(required=True)
    notes = fields.String(required=True, metadata={"description": "Note interne, jamais imprimée"})
    version = fields.Integer(required=True, metadata={"description": "Version du document envoyé (0 : jamais envoyé)"})
    vat_amount = Money(required=True)
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True)
    trainees = fields.List(fields.Nested(QuoteTraineeSchema), required=True)
    enrolment_ids = fields.List(fields.Integer(), required=True, metadata={
        "description": "Les inscriptions faites à l'acceptation (places ou liste d'attente)"})
    acceptance_mode = fields.String(required=True, metadata={
        "enum": ["", *ACCEPTANCE_MODES], "description": "recorded, online ou api ; vide avant"})
    accepted_by_name = fields.String(required=True)
    refusal_reason = fields.String(required=True)
    links = fields.Nested(QuoteLinksSchema, required=True)

    def get_enrolment_ids(self, quote) -> list[int]:
        return [named.enrolment_id for named in quote.trainees if named.enrolment_id is not None]

    def get_links(self, quote):
        return quote


class QuoteAcceptedSchema(QuoteSchema):
    """Dumps an ``AcceptanceResult``: the accepted quote, and what its acceptance made."""

    waitlisted_enrolment_ids = fields.List(fields.Integer(), required=True, metadata={
        "description": "Les stagiaires mis en liste d'attente : la session s'est remplie entre-temps"})
    convention_document_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "La convention proposée (null : pas encore, voir « acceptance_notes »)"})
    acceptance_notes = fields.List(fields.String(), required=True, metadata={
        "description": "Ce qui n'a pas été fait, et pourquoi"})

    def get_attribute(self, result: AcceptanceResult, attr, default):
        if attr == "waitlisted_enrolment_ids":
            return [enrolment.id for enrolment in result.waitlisted]
        if attr == "convention_document_id":
            return result.convention.id if result.convention is not None else None
        if attr == "acceptance_notes":
            return result.notes
        return super().get_attribute(result.quote, attr, default)


# --------------------------------------------------------------------------- requests


class QuoteQuerySchema(PageQuerySchema):
    status = Choice(QUOTE_STATUSES, "Statut de devis inconnu : {choices}.")
    search = Text(max_length=100, metadata={"description": "Partie du numéro, de l'entreprise ou du contact"})


def _two_places(label: str):
    def check(value: Decimal) -> None:
        try:
            exact = value == value.quantize(Decimal("0.01"))
        except InvalidOperation:  # too large to have cents: the range says so
            return
        if not exact:
            raise MarshmallowValidationError(f"{label} : deux décimales au plus.")

    return check


class QuoteTraineeInputSchema(Schema):
    """A person the seats quote names; the e-mail is needed to accept the quote (each trainee is e-mailed)."""

    first_name = Text(required=True, pattern=NOT_BLANK, error="Le prénom est obligatoire.", max_length=80)
    last_name = Text(required=True, pattern=NOT_BLANK, error="Le nom est obligatoire.", max_length=80)
    email = fields.String(allow_none=True, validate=[validate.Length(max=254, error=TOO_LONG), _email],
                          metadata={"format": "email", "pattern": EMAIL})


class QuoteExtraInputSchema(Schema):
    label = Text(required=True, pattern=NOT_BLANK, error="La désignation des frais est obligatoire.", max_length=200)
    quantity = fields.Decimal(allow_nan=False, load_default=Decimal(1), metadata={
        "minimum": 0, "exclusiveMinimum": True, "maximum": 9999, "multipleOf": 0.01, "example": 3}, validate=[
        validate.Range(min=0, min_inclusive=False, error="La quantité doit être un nombre supérieur à 0."),
        validate.Range(max=9999, error="La quantité doit être un nombre inférieur à 10 000."),
        _two_places("La quantité")])
    unit_price = Price("Le prix unitaire HT", required=True)


_BOTH_COMPANIES = "Indiquez company_id ou company, pas les deux."
_COUNT = {"strict": True, "validate": validate.Range(
    min=1, max=quotes.MAX_SEATS, error="Nombre entier de {min} à {max} attendu.")}


def _long_text(**kwargs):
    return Text(max_length=quotes.TEXT_LIMIT, **kwargs)


class QuoteCreateSchema(Schema):
    """What quotes.services.create_quote takes: seats in a session of the course, or an intra-company request."""

    kind = Choice(QUOTE_KINDS, "Choisissez des places dans une session ou une session intra-entreprise.",
                  required=True, metadata={"description": "seats : places dans une session inter ; intra : session "
                                                          "pour l'entreprise"})
    course_id = fields.Integer(required=True, **_ID)
    session_id = fields.Integer(**_ID, metadata={
        "description": "Places (obligatoire) : session inter-entreprises de la formation, qui prend des inscriptions"})
    seats = fields.Integer(**_COUNT, metadata={"description": "Places (obligatoire) : au plus la capacité de la "
                                                              "session"})
    seat_price = Price("Le prix d'une place HT")  # seats: default the session's price
    trainees = fields.List(Object(QuoteTraineeInputSchema), metadata={
        "description": "Places : les personnes nommées, au plus « seats » ; toutes (avec leur e-mail) pour "
                       "accepter le devis"})
    headcount = fields.Integer(**_COUNT, metadata={"description": "Intra (obligatoire) : l'effectif"})
    wished_period = Text(pattern=NOT_BLANK, error="La période souhaitée est obligatoire.", max_length=120,
                         metadata={"description": "Intra (obligatoire) : « mars 2027 », « semaine 12 »"})
    wished_place = Text(pattern=NOT_BLANK, error="Le lieu souhaité est obligatoire.", max_length=200,
                        metadata={"description": "Intra (obligatoire)"})
    intra_price = Price("Le prix forfaitaire HT")
    company_id = fields.Integer(allow_none=True, **_ID, metadata={
        "description": "Entreprise existante (ou « company » ; l'un des deux, sinon 422)"})
    company = Object(CompanyInputSchema, allow_none=True, metadata={"description": "Entreprise décrite (ou « company_id »)"})
    contact_name = Text(required=True, pattern=NOT_BLANK, error="Le nom du contact est obligatoire.", max_length=120)
    contact_email = fields.String(required=True, validate=[validate.Length(max=254, error=TOO_LONG), _email],
                                  metadata={"format": "email", "pattern": EMAIL,
                                            "description": "Le devis lui est envoyé"})
    contact_phone = Text(max_length=40)
    valid_until = PlanningDay(metadata={
        "description": "Validité : aujourd'hui au plus tôt, dans un an au plus (défaut : dans 30 jours)"})
    extras = fields.List(Object(QuoteExtraInputSchema), validate=validate.Length(
        max=quotes.MAX_EXTRAS, error=f"Frais annexes : {quotes.MAX_EXTRAS} lignes au plus."))
    request_message = _long_text()
    conditions = _long_text()
    notes = _long_text(metadata={"description": "Note interne, jamais imprimée"})

    # company_id and company not both. Neither, or a kind without its fields (seats: session_id and seats; intra:
    # headcount, wished_period and wished_place), is the service's 422 on those fields: a rule the document leaves
    # to the descriptions, as schemathesis's examples keep neither a oneOf nor a kind-dependent anyOf. The example
    # is a whole body, which no field's example makes.
    openapi_rules = {
        "not": {"required": ["company_id", "company"],
                "properties": {"company_id": {"type": "integer"}, "company": {"type": "object"}}},
        "example": {"kind": "seats", "course_id": 1, "session_id": 1, "seats": 2, "company_id": 1,
                    "contact_name": "Claire Dupont", "contact_email": "claire.dupont@exemple.fr",
                    "trainees": [{"first_name": "Léa", "last_name": "Martin", "email": "lea.martin@exemple.fr"}],
                    "extras": [{"label": "Supports imprimés", "quantity": 2, "unit_price": 15.5}]},
    }

    @validates_schema
    def _one_company(self, data, **kwargs):
        if data.get("company_id") is not None and data.get("company") is not None:
            raise MarshmallowValidationError(_BOTH_COMPANIES, "company")


class QuoteAcceptSchema(Schema):
    accepted_by_name = Text(required=True, pattern=NOT_BLANK, max_length=120,
                            error="Indiquez qui a accepté le devis pour le client.",
                            metadata={"description": "Prénom et nom du signataire, pour le client"})
    reference = Text(max_length=200, metadata={
        "description": "Référence de la preuve : bon de commande, enveloppe de signature, courriel…"})


class QuoteRefuseSchema(Schema):
    reason = Text(required=True, pattern=NOT_BLANK, error="Indiquez la raison du refus.",
                  max_length=quotes.TEXT_LIMIT, metadata={"description": "Raison du refus (« Sans suite »…)"})


# --------------------------------------------------------------------------- endpoints


@bp.route("/quotes")
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the query
@bp.arguments(QuoteQuerySchema, location="query")
@bp.response(200, QuoteSummarySchema(many=True), headers=PAGE_HEADERS)
@error_responses(bp, 401, 403, 422, described={422: "Statut inconnu, ou page ou taille de page invalide"})
def list_quotes(query):
    """Devis, les plus récents d'abord ; « status » (draft, sent, accepted, refused, expired) et « search »
    (numéro, entreprise, contact) filtrent. Une page à la fois (« page », « per_page ») : l'en-tête X-Total-Count
    donne le nombre de devis de toute la sélection, l'en-tête Link les pages voisines."""
    page, per_page = query["page"], query["per_page"]
    rows, total = quotes.list_quotes(status=query.get("status"), search=query.get("search", ""), page=page,
                                     per_page=per_page)
    return rows, page_headers(Page(rows, total, page, per_page))


@bp.route("/quotes", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(QuoteCreateSchema)
@bp.response(201, QuoteSchema)
@error_responses(bp, 401, 403, 415, 422, described={
    422: "Données invalides, ou qui ne conviennent pas aux données enregistrées : formation, session ou entreprise "
         "inconnues, session d'une autre formation, intra ou qui ne prend pas d'inscriptions, places au-delà de sa "
         "capacité, session sans tarif et sans « seat_price », date de validité passée ou à plus d'un an"})
def create_quote(data):
    """Créer un devis (brouillon), numéroté aussitôt (DEV-2026-0001) : places dans une session inter-entreprises
    (« seats », au prix de la session par défaut) ou session intra-entreprise (« intra », forfait), avec ses frais
    annexes ; TVA à 20 %, ou 0 si l'organisme en est exonéré."""
    quote = quotes.create_quote(data, current_principal(), source="api")
    db.session.commit()
    return quote


@bp.route(QUOTE_PATH)
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, QuoteSchema)
@error_responses(bp, 401, 403, 404, described={404: UNKNOWN_QUOTE})
def get_quote(quote_id: int):
    """Un devis : lignes, personnes nommées, totaux HT, TVA et TTC, statut, et après son acceptation les
    inscriptions faites (« enrolment_ids ») ou la session intra créée (« session_id »)."""
    return quotes.get_quote(quote_id, current_principal())


@bp.route(QUOTE_PATH + "/send", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, QuoteSchema)
@error_responses(bp, 401, 403, 404, 409, 422, described={
    404: UNKNOWN_QUOTE, 409: "Devis qui n'est pas un brouillon",
    422: "Devis à 0 €, date de validité passée, ou session qui ne prend plus d'inscriptions"})
def send_quote(quote_id: int):
    """Envoyer un brouillon : le document Word (et PDF) en est produit, le contact le reçoit par e-mail avec le
    lien de sa page, où il peut l'accepter ou le refuser."""
    actor = current_principal()
    quote = quotes.send_quote(quotes.get_quote(quote_id, actor), actor)
    db.session.commit()
    return quote


@bp.route(QUOTE_PATH + "/accept", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(QuoteAcceptSchema)
@bp.response(200, QuoteAcceptedSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422, described={
    404: UNKNOWN_QUOTE,
    409: "Devis qui n'est pas envoyé (brouillon, déjà accepté, refusé, expiré), dont la date de validité est "
         "passée, ou dont la session ne prend plus d'inscriptions",
    422: "Nom du signataire absent, ou devis de places dont les stagiaires ne sont pas tous nommés avec leur e-mail"})
def accept_quote(data, quote_id: int):
    """Enregistrer l'acceptation d'un devis envoyé, sur la parole de l'appelant (le fichier signé, s'il y en a un,
    se joint dans l'application). Places : chaque personne nommée est inscrite au prix du devis (liste d'attente si
    la session s'est remplie entre-temps), la convention est proposée ; intra : la session est créée en brouillon."""
    actor = current_principal()
    quote = quotes.get_quote(quote_id, actor)
    evidence = {"recorded_by": actor.email, "recorded_at": utcnow().isoformat(), "name": data["accepted_by_name"],
                "reference": data.get("reference", "")}
    result = acceptance.accept_quote(quote, actor, accepted_by_name=data["accepted_by_name"], mode="api",
                                     evidence=evidence)
    db.session.commit()
    return result


@bp.route(QUOTE_PATH + "/refuse", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(QuoteRefuseSchema)
@bp.response(200, QuoteSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422, described={
    404: UNKNOWN_QUOTE, 409: "Devis déjà accepté, refusé ou expiré", 422: "Raison absente"})
def refuse_quote(data, quote_id: int):
    """Enregistrer le refus d'un devis avec sa raison ; un brouillon sans suite se clôt de même (« Sans suite »)."""
    actor = current_principal()
    quote = quotes.refuse_quote(quotes.get_quote(quote_id, actor), data["reason"], actor)
    db.session.commit()
    return quote
