"""Messages about a document agree with its type's gender: « Certificat de réalisation … généré », « Convention …
générée », « … mis en envoi » / « … mise en envoi » (documents.catalogue.DocType.feminine)."""
from __future__ import annotations

from sqlalchemy import select

from trainingmgr.documents import services
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db

from tests.helpers import page


def _flash(client, path: str, data: dict | None = None) -> str:
    response = client.post(path, data=data or {})
    assert response.status_code == 302, page(response)[-2000:]
    return page(client.get(response.headers["Location"]))


def test_generating_agrees_with_the_document_type(delivered, advisor_web):
    d = delivered
    julie = d.enrolments["Julie"]
    text = _flash(advisor_web, f"/sessions/{d.chorus.id}/documents/generate",
                  {"doc_type": "certificate", "enrolment_id": julie.id})
    certificate = db.session.scalars(select(GeneratedDocument).where(GeneratedDocument.doc_type == "certificate")
                                     .order_by(GeneratedDocument.id.desc())).first()
    assert f"Certificat de réalisation n° {certificate.number} généré (version {certificate.version})." in text
    assert "générée" not in text
    text = _flash(advisor_web, f"/sessions/{d.chorus.id}/documents/generate", {"doc_type": "attendance_sheet"})
    assert "Feuille d'émargement n° " in text and "générée (version " in text


def test_sending_agrees_with_the_document_type(delivered, advisor_web):
    d = delivered
    julie = d.enrolments["Julie"]
    certificate = services.generate("certificate", d.chorus, d.advisor, enrolment=julie, pdf=False)
    convention = services.generate("convention", d.chorus, d.advisor, company=julie.company, pdf=False)
    db.session.commit()
    text = _flash(advisor_web, f"/documents/{certificate.id}/send")
    assert "Certificat de réalisation mis en envoi pour" in text and "mis(e)" not in text
    text = _flash(advisor_web, f"/documents/{convention.id}/send")
    assert "Convention de formation professionnelle mise en envoi pour" in text
