"""Demo quality register: a complaint about the past DUME session, answered and closed, with the improvement
action it led to, and a suggestion just received from the public form. Loaded once (skipped when the register
already holds a request)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..core.timeutil import paris_today
from ..extensions import db
from ..quality.actions.services import create_action, update_action
from ..quality.complaints.services import file_public_request, record_request, transition
from ..quality.models import QualityRequest
from ..sessions.models import TrainingSession


def load_quality(advisor: User, past_session: TrainingSession | None, today: dt.date | None = None) -> list[str]:
    if db.session.scalar(select(QualityRequest.id).limit(1)) is not None:
        return []
    today = today or paris_today()
    complaint = record_request({
        "kind": "complaint", "channel": "phone", "requester_role": "trainee",
        "requester_name": "Camille Fabre", "requester_email": "camille.fabre@atelier-garonne.example",
        "organisation_name": "Atelier Garonne Architectes",
        "session_id": past_session.id if past_session else None,
        "subject": "Support de formation non reçu",
        "description": "Le support PDF annoncé en fin de journée ne m'est pas parvenu.",
    }, advisor)
    transition(complaint, "acknowledge", {"note": "Nous avons bien reçu votre appel et revenons vers vous."},
               advisor)
    transition(complaint, "analyse", {"note": "Envoi du support oublié après la session."}, advisor)
    transition(complaint, "answer", {
        "answer": "Le support vous a été envoyé ce jour par e-mail ; veuillez nous excuser de cet oubli.",
        "analysis": "Aucune étape « envoi du support » dans le déroulé de fin de session.",
    }, advisor)
    transition(complaint, "close", {"note": "Support reçu, confirmé par la stagiaire."}, advisor)
    action = create_action(
        advisor, None, "Envoyer le support de formation avec l'enquête à chaud",
        "Le support était envoyé à la main, après la session.",
        "Joindre le lien du support au message de l'enquête à chaud et l'ajouter à la check-list de fin de session.",
        advisor.id, today + dt.timedelta(days=30), request_id=complaint.id)
    update_action(action, advisor, {"status": "in_progress", "title": action.title, "analysis": action.analysis,
                                    "description": action.description, "owner_id": advisor.id,
                                    "due_date": action.due_date.isoformat()})
    suggestion = file_public_request({
        "kind": "suggestion", "requester_role": "company", "requester_name": "Louis Martin",
        "requester_email": "louis.martin@bureau-etudes.example", "organisation_name": "Bureau d'études Martin",
        "subject": "Session à Montauban", "consent": True,
        "description": "Une session à Montauban éviterait le trajet à nos deux collaborateurs.",
    })
    return [f"Réclamation {complaint.reference} traitée et close, action d'amélioration n° {action.id} en cours.",
            f"Suggestion {suggestion.reference} reçue par le formulaire en ligne."]
