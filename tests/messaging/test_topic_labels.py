"""Every e-mail topic the application sends shows in French on the outbox page."""
import trainingmgr.documents.services  # noqa: F401 - names the "document_" topics
import trainingmgr.evaluations.surveys.services  # noqa: F401 - names the "survey_" topics
from trainingmgr.messaging.services import topic_label


def test_topics_have_french_labels():
    assert topic_label("complaint_ack") == "Réclamation : accusé de réception"
    assert topic_label("attendance_link") == "Lien d'émargement"
    assert topic_label("document_convocation").startswith("Document : ")
    assert topic_label("survey_hot") == "Enquête : Satisfaction à chaud"
    assert topic_label("document_nope") == "document_nope"
    assert topic_label("") == "–"
