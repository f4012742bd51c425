"""A session's documents through the API (advisor token): the archive of generated versions with their SHA-256,
the generation of one type for the session, an enrolment or a client company, and the archived files."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import fields, pre_dump

from ..accounts.permissions import current_principal, staff_required
from ..companies.services import get_company
from ..core.errors import NotFoundError, ValidationError
from ..core.links import external_url
from ..core.responses import attachment
from ..documents import services
from ..documents.catalogue import DOC_TYPES
from ..enrolments.services import get_enrolment
from ..extensions import db
from ..resources.dossier import get_trainer
from ..sessions.services import get_session
from .docs import STAFF_ONLY, error_responses
from .schemas import DOCUMENT_TYPES, DocumentCreateSchema, ModelSchema

bp = Blueprint("documents_api", __name__, description="Documents des sessions (conseiller formation)")

FILE_TYPES = {"docx": services.DOCX_TYPE, "pdf": "application/pdf"}
SCOPES = list(dict.fromkeys(doc_type.scope for doc_type in DOCUMENT_TYPES.values()))
STATUSES = ["current", "superseded"]


class DocumentLinksSchema(ModelSchema):
    """Dumps the document itself: the addresses of its files."""

    docx = fields.String(required=True, metadata={"description": "Le document Word archivé"})
    pdf = fields.String(required=True, allow_none=True,
                        metadata={"description": "Le PDF archivé ; null : convertisseur indisponible à la génération"})

    def get_docx(self, document) -> str:
        return _file_url(document, "docx")

    def get_pdf(self, document) -> str | None:
        return _file_url(document, "pdf") if document.pdf_file_id else None


class DocumentSchema(ModelSchema):
    """A version of a generated document (a ``GeneratedDocument``) and whether it is its subject's latest."""

    id = fields.Integer(required=True)
    doc_type = fields.String(required=True, metadata={"enum": list(DOCUMENT_TYPES)})
    label = fields.String(required=True, metadata={"example": "Convocation"})
    scope = fields.String(required=True, metadata={
        "enum": SCOPES, "description": "Sujet du document : la session, une inscription, une entreprise cliente ou un "
                                       "formateur sous-traitant"})
    session_id = fields.Integer(required=True)
    enrolment_id = fields.Integer(required=True, allow_none=True)
    trainee_name = fields.String(required=True, allow_none=True, metadata={"description": "Document par stagiaire"})
    company_id = fields.Integer(required=True, allow_none=True)
    company_name = fields.String(required=True, allow_none=True, metadata={
        "description": "L'entreprise cliente (convention, devis) ou celle du stagiaire"})
    trainer_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Le formateur d'un contrat de sous-traitance ou d'une lettre de mission"})
    version = fields.Integer(required=True, metadata={"description": "1, 2… : chaque génération fait une version"})
    number = fields.String(required=True, metadata={"example": "CONVOC-0012-34-1"})
    docx_sha256 = fields.String(required=True, metadata={"pattern": "^[0-9a-f]{64}$"})
    pdf_sha256 = fields.String(required=True, allow_none=True, metadata={"description": "null : pas de PDF"})
    status = fields.String(required=True, metadata={
        "enum": STATUSES, "description": "current : la dernière version de ce sujet ; superseded : remplacée"})
    verify_code = fields.String(required=True, allow_none=True, metadata={
        "description": "Code de vérification publique (certificat de réalisation) ; null pour les autres types"})
    reason = fields.String(required=True, metadata={
        "description": "Pourquoi cette version a été émise", "example": "Première émission"})
    template_label = fields.String(required=True, metadata={"example": "modèle par défaut"})
    created_at = fields.DateTime(required=True)
    links = fields.Nested(DocumentLinksSchema, required=True)

    @pre_dump(pass_collection=True)
    def _find_current(self, documents, many: bool, **kwargs):
        """The current versions among the documents of this dump: of a list, its latest; one alone, asked."""
        if many:
            g.api_current_documents = services.current_versions(documents)
        else:
            g.api_current_documents = {documents.id} if services.is_current(documents) else set()
        return documents

    def get_scope(self, document) -> str:
        return DOC_TYPES[document.doc_type].scope

    def get_trainee_name(self, document) -> str | None:
        return document.enrolment.trainee.full_name if document.enrolment else None

    @staticmethod
    def company(document):
        enrolment = document.enrolment
        return document.company or (enrolment.company or enrolment.trainee.company if enrolment else None)

    def get_company_id(self, document) -> int | None:
        company = self.company(document)
        return company.id if company else None

    def get_company_name(self, document) -> str | None:
        company = self.company(document)
        return company.name if company else None

    def get_status(self, document) -> str:
        return "current" if document.id in g.api_current_documents else "superseded"

    def get_links(self, document):
        return document


def _file_url(document, kind: str) -> str:
    return external_url("documents_api.document_file", document_id=document.id, kind=kind)


def _subject(data: dict, session, actor):
    """The enrolment, the company and the trainer the body names, when the type needs them; an unknown id or an
    enrolment of another session is refused on its field (422)."""
    scope = DOC_TYPES[data["doc_type"]].scope
    enrolment = company = trainer = None
    if scope == "enrolment":
        try:
            enrolment = get_enrolment(data["enrolment_id"], actor)
        except NotFoundError:
            raise ValidationError("Inscription introuvable.", field="enrolment_id") from None
        if enrolment.session_id != session.id:
            raise ValidationError("Cette inscription est celle d'une autre session.", field="enrolment_id")
    elif scope == "client":
        try:
            company = get_company(data["company_id"])
        except NotFoundError:
            raise ValidationError("Entreprise introuvable.", field="company_id") from None
    elif scope == "trainer":
        try:
            trainer = get_trainer(data["trainer_id"])
        except NotFoundError:
            raise ValidationError("Formateur introuvable.", field="trainer_id") from None
    return enrolment, company, trainer


@bp.route("/sessions/<int:session_id>/documents")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, DocumentSchema(many=True))
@error_responses(bp, 401, 403, 404, described={404: "Session inconnue"})
def list_documents(session_id: int):
    """Les documents générés pour une session, toutes versions, par type et par sujet, la plus récente
    d'abord : empreintes SHA-256, statut (current, superseded) et liens vers les fichiers."""
    session = get_session(session_id, current_principal())
    return services.session_documents(session)


@bp.route("/sessions/<int:session_id>/documents", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(DocumentCreateSchema)
@bp.response(201, DocumentSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422, described={
    404: "Session inconnue",
    409: "Document qui ne s'applique pas encore (session non commencée, stagiaire qui n'a pas suivi la "
         "formation, stagiaire inscrit par une entreprise pour un contrat, formateur salarié ou sans numéro de "
         "déclaration d'activité pour un contrat de sous-traitance) ou données manquantes : le message et "
         "« fields » disent quoi",
    422: "Données invalides, inscription ou entreprise inconnues, inscription d'une autre session, ou données "
         "manquantes : le message et « fields » disent quoi"})
def generate_document(data, session_id: int):
    """Générer un document de la session avec le modèle en vigueur : une nouvelle version, archivée avec son
    empreinte SHA-256 (et son PDF quand le convertisseur est disponible). Les refus sont ceux de la page
    Documents de la session, avec le même message."""
    actor = current_principal()
    session = get_session(session_id, actor)
    enrolment, company, trainer = _subject(data, session, actor)
    document = services.generate(data["doc_type"], session, actor, enrolment=enrolment, company=company,
                                 trainer=trainer)
    db.session.commit()
    return document


@bp.route("/documents/<int:document_id>")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, DocumentSchema)
@error_responses(bp, 401, 403, 404, described={404: "Document inconnu"})
def get_document(document_id: int):
    """Une version d'un document généré, son statut et les liens vers ses fichiers."""
    return services.get_document(document_id, current_principal())


@bp.route("/documents/<int:document_id>/files/<kind>")
@bp.doc(**STAFF_ONLY, responses={"200": {"description": "Le fichier (docx ou pdf)", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}} for content_type in FILE_TYPES.values()}}},
    parameters=[{"in": "path", "name": "kind", "required": True,
                 "schema": {"type": "string", "enum": list(FILE_TYPES)}}])
@staff_required
@error_responses(bp, 401, 403, 404, 409, described={
    404: "Document inconnu, ou pas de PDF pour ce document",
    409: "Le fichier archivé ne correspond plus à son empreinte SHA-256"})
def document_file(document_id: int, kind: str):
    """Le fichier archivé d'une version, vérifié par son empreinte SHA-256 : « docx » ou « pdf »."""
    if kind not in FILE_TYPES:
        raise NotFoundError("Format inconnu : docx ou pdf.")
    document = services.get_document(document_id, current_principal())
    return attachment(services.read_file(document, kind), f"{document.number}.{kind}", FILE_TYPES[kind])
