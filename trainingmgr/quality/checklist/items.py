"""The checklist's items: each ``Item`` of the ``ITEMS`` table holds the function that checks it.

A check fills the item's ``ItemStatus`` from the loaded ``Evidence`` and returns the reason when the item does
not apply to the session. See docs/checklist.md.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, url_for

from ...attendance.models import SETTLED_CELLS, UNSIGNED_CELLS
from ...attendance.services import build_grid
from ...billing.invoices.planning import uninvoiced
from ...core.formatting import count_fr, date_fr, plural_fr
from ...core.timeutil import utcnow
from ...enrolments.models import OpcoStatus
from ...sessions.models import SlotModality, TrainingSession
from ..models import DONE_ITEMS, TO_DO_ITEMS, ChecklistTick, ItemState
from .evidence import Evidence

STATE_LABELS = {
    ItemState.DONE.value: "Fait",
    ItemState.MANUAL.value: "Fait (coché à la main)",
    ItemState.PENDING.value: "À faire",
    ItemState.OVERDUE.value: "En retard",
    ItemState.NA.value: "Sans objet",
}


Check = Callable[["ItemStatus", TrainingSession, list, Evidence], "str | None"]


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    help: str
    indicator: int | None  # Qualiopi indicator the item evidences, if any
    reference: str  # the rule behind it, for the page
    auto: bool  # whether the data can tick it
    check: Check = field(repr=False, compare=False)  # fills the status; returns the reason when not applicable


@dataclass
class ItemStatus:
    item: Item
    due: dt.date | None
    due_rule: str  # "15 jours avant le début"
    state: str = ItemState.PENDING.value
    evidence: str = ""
    done_count: int | None = None
    total: int | None = None
    tick: ChecklistTick | None = None
    link: tuple[str, dict] | None = None  # (endpoint, values) of the evidence page

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def is_overdue(self) -> bool:
        return self.state == ItemState.OVERDUE.value

    @property
    def is_applicable(self) -> bool:
        return self.state != ItemState.NA.value

    @property
    def is_done(self) -> bool:
        return self.state in DONE_ITEMS

    @property
    def can_tick(self) -> bool:
        return self.state in TO_DO_ITEMS and self.tick is None

    @property
    def can_untick(self) -> bool:
        return self.tick is not None and self.state != ItemState.DONE.value

    @property
    def url(self) -> str | None:
        return url_for(self.link[0], **self.link[1]) if self.link else None


# --------------------------------------------------------------------------- due dates


def _fraction(done: int, total: int, singular: str, plural: str | None = None) -> str:
    """« 0/1 convention envoyée », « 1/3 conventions envoyées »: the words agree with the total, the set counted."""
    return f"{done}/{total} {plural_fr(total, singular, plural)}"


def due_rule(days: int, anchor: str) -> str:
    """« 15 jours avant le début », « le lendemain de la fin »: how the page words a due date."""
    where = "début" if anchor == "start" else "fin"
    if days == 0:
        return "le premier jour" if anchor == "start" else "le dernier jour"
    if days == -1:
        return f"la veille du {where}" if anchor == "start" else "la veille de la fin"
    if days == 1:
        return "le lendemain du début" if anchor == "start" else "le lendemain de la fin"
    if days < 0:
        return f"{count_fr(-days, 'jour')} avant le {where}" if anchor == "start" else \
            f"{count_fr(-days, 'jour')} avant la fin"
    return f"{count_fr(days, 'jour')} après le {where}" if anchor == "start" else \
        f"{count_fr(days, 'jour')} après la fin"


def offsets(session: TrainingSession) -> dict[str, tuple[str, int]]:
    """Each item's (anchor, days): "start" counts from the first slot's date, "end" from the last one's."""
    config = current_app.config
    convention = -int(config["CHECKLIST_CONVENTION_DAYS_BEFORE"])
    cold = session.course.cold_survey_days or int(config["SURVEY_COLD_DAYS"])
    return {
        "convention_sent": ("start", convention),
        "convention_signed": ("start", convention),
        "opco_agreement": ("start", -1),
        "positioning": ("start", -1),
        "convocations": ("start", -int(config["CONVOCATION_DAYS_BEFORE"])),
        "attendance": ("end", 1),
        "distance_evidence": ("end", 1),
        "hot_survey": ("end", 0),
        "certificates": ("end", int(config["CHECKLIST_CERTIFICATES_DAYS_AFTER"])),
        "cold_survey": ("end", cold),
        "invoice": ("end", int(config["CHECKLIST_INVOICE_DAYS_AFTER"])),
    }


# --------------------------------------------------------------------------- checking the items


def _company_of(enrolment) -> int | None:
    return enrolment.company_id or enrolment.trainee.company_id


def _last(dates) -> str:
    dates = [d for d in dates if d is not None]
    return date_fr(max(dates)) if dates else ""


def _count(status: ItemStatus, done: int, total: int, text: str) -> None:
    status.done_count, status.total = done, total
    status.evidence = text
    if total and done >= total:
        status.state = ItemState.DONE.value


def _conventions(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence,
                 signed: bool = False) -> str | None:
    """Sent (or, with ``signed``, signed by everyone) conventions and contracts. Returns the reason when not
    applicable."""
    if session.format == "intra" and session.client_company_id is not None:
        companies, individuals = {session.client_company_id}, []
    else:
        companies = {_company_of(e) for e in enrolments} - {None}
        individuals = [e for e in enrolments if _company_of(e) is None]
    if not companies and not individuals:
        return "Aucun stagiaire inscrit."
    evidence = found.signed if signed else found.documents
    conventions = evidence.get((session.id, "convention"), {})
    contracts = evidence.get((session.id, "contract"), {})
    sent_conventions = [conventions[c] for c in companies if c in conventions]
    sent_contracts = [contracts[e.id] for e in individuals if e.id in contracts]
    parts = []
    verb, noun = ("signé", "signature") if signed else ("envoyé", "envoi")
    if companies:
        parts.append(_fraction(len(sent_conventions), len(companies), f"convention {verb}e"))
    if individuals:
        parts.append(_fraction(len(sent_contracts), len(individuals), f"contrat {verb}"))
    last = _last(sent_conventions + sent_contracts)
    _count(status, len(sent_conventions) + len(sent_contracts), len(companies) + len(individuals),
           ", ".join(parts) + (f" (dernière {noun} le {last})" if last and signed else
                               f" (dernier {noun} le {last})" if last else ""))
    status.link = ("documents.session_documents", {"session_id": session.id})
    return None


def _opco(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    lines = found.opco_lines.get(session.id, [])
    if not lines:
        return "Aucune prise en charge à attendre (OPCO, France Travail, financeur public…)."
    agreed = [on for line_status, on in lines if line_status == OpcoStatus.AGREED.value]
    refused = sum(1 for line_status, _ in lines if line_status == OpcoStatus.REFUSED.value)
    last = _last(agreed)
    text = _fraction(len(agreed), len(lines), "accord reçu") + (f", le dernier le {last}" if last else "")
    if refused:
        text += f" ; {refused} refus à régler"
    _count(status, len(agreed), len(lines), text)
    status.link = ("enrolments.board", {})
    return None


def _positioning(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    if not enrolments:
        return "Aucun stagiaire inscrit."
    done = [e for e in enrolments if e.positioning_decision or e.id in found.positioned]
    _count(status, len(done), len(enrolments),
           _fraction(len(done), len(enrolments), "positionnement")
           + " (questionnaire envoyé ou décision du conseiller)")
    return None


def _convocations(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    if not enrolments:
        return "Aucun stagiaire inscrit."
    sent = [e.convocation_sent_at for e in enrolments if e.convocation_sent_at is not None]
    last = _last(sent)
    _count(status, len(sent), len(enrolments),
           _fraction(len(sent), len(enrolments), "convocation envoyée") + (f", la dernière le {last}" if last else ""))
    return None


def _attendance(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    if not session.slots:
        status.evidence = "Aucune demi-journée planifiée."
        return None
    if not enrolments:
        return "Aucun stagiaire inscrit."
    grid = build_grid(session, enrolments, found.records.get(session.id, []), evidence=found.remote)
    countersigned = sum(1 for slot in grid.slots if slot.id in grid.countersignatures)
    cells = [cell for row in grid.rows for cell in row.cells]
    complete = sum(1 for cell in cells if cell.status in SETTLED_CELLS)
    _count(status, countersigned + complete, len(grid.slots) + len(cells),
           f"{_fraction(countersigned, len(grid.slots), 'demi-journée contresignée')} par le formateur, "
           f"{_fraction(complete, len(cells), 'émargement')} (signés, corrigés ou absences relevées)")
    status.link = ("attendance.verify", {"session_id": session.id})
    return None


GAPS_SHOWN = 5  # the distance gaps named in the evidence; the others counted


def _half_day(slot) -> str:
    return f"{date_fr(slot.date)} {slot.half_day_label.lower()}"


def _remote_gaps(slot, column: list, reported: set[int]) -> list[str]:
    """What a distance half-day that has ended still lacks: the meeting report of a virtual one, each trainee's
    flag (docs/distance.md), the time an asynchronous one's trainees have not declared."""
    gaps = []
    if slot.modality == SlotModality.VIRTUAL.value and slot.id not in reported:
        gaps.append(f"{_half_day(slot)} : rapport de connexion à importer")
    for enrolment, cell in column:
        flags = [text for _code, text, gap in cell.remote_notes if gap]
        if slot.modality == SlotModality.ASYNC.value and cell.declared_minutes is None \
                and cell.status in UNSIGNED_CELLS:
            flags.append("temps non déclaré")
        if flags:
            gaps.append(f"{enrolment.trainee.full_name}, {_half_day(slot)} : {', '.join(flags)}")
    return gaps


def _distance(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    """The evidence of the virtual and asynchronous half-days once each has ended (R6313-3): the meeting report
    imported, both signatures and the report agreeing, the time declared and the quiz done."""
    remote = [slot for slot in session.slots if slot.is_remote]
    if not remote:
        return "Aucune demi-journée à distance."
    if not enrolments:
        return "Aucun stagiaire inscrit."
    now = utcnow()
    grid = build_grid(session, enrolments, found.records.get(session.id, []), now, evidence=found.remote)
    ended = [slot for slot in grid.slots if slot.is_remote and slot.ends_at <= now]
    gaps_by_slot = {slot.id: _remote_gaps(slot, grid.column(slot.id), found.remote.reported_slots) for slot in ended}
    complete = sum(1 for gaps in gaps_by_slot.values() if not gaps)
    gaps = [gap for slot_gaps in gaps_by_slot.values() for gap in slot_gaps]
    text = _fraction(complete, len(remote), "demi-journée à distance aux preuves complètes",
                     "demi-journées à distance aux preuves complètes")
    if gaps:
        text += f" ; {count_fr(len(gaps), 'point')} à régler : " + " ; ".join(gaps[:GAPS_SHOWN]) \
            + (" ; …" if len(gaps) > GAPS_SHOWN else "")
    _count(status, complete, len(remote), text)
    status.link = ("attendance.verify", {"session_id": session.id})
    return None


def _after_session(status: ItemStatus, session: TrainingSession, enrolments: list, sent: dict[int, object],
                   noun: tuple[str, str], link: tuple[str, dict] | None, waiting: str) -> str | None:
    """Hot survey, cold survey, certificates: one per trainee who attended, known once the session ended."""
    if not session.has_ended:
        if not enrolments:
            return "Aucun stagiaire inscrit."
        status.evidence = waiting
        return None
    attended = [e for e in enrolments if e.has_attended]
    if not attended:
        return "Aucun stagiaire n'a suivi la formation."
    dates = [sent[e.id] for e in attended if e.id in sent]
    last = _last(dates)
    _count(status, len(dates), len(attended),
           _fraction(len(dates), len(attended), *noun) + (f", le dernier envoi le {last}" if last else ""))
    status.link = link
    return None


def _invoice(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
    """Done when every payer of the session has an issued invoice not fully credited (billing.invoices decides who
    must be invoiced). Returns the reason when not applicable."""
    status.link = ("billing.session", {"session_id": session.id})
    if not session.has_ended:
        if not enrolments and session.format != "intra":
            return "Aucun stagiaire inscrit."
        status.evidence = "À émettre une fois la session terminée (page Facturation de la session)."
        return None
    issued = found.invoices.get(session.id, [])
    remaining = uninvoiced(session, [e for e in enrolments if e.is_expected], issued,
                           found.vat_rate)
    if not issued and not remaining.invoices and not remaining.unknown:
        return "Rien à facturer : aucune inscription facturable (ou des prix nuls)."
    numbers = [invoice.number for invoice in issued]
    parts = [count_fr(len(issued), "facture émise")
             + (f" ({', '.join(numbers[:5])}{', …' if len(numbers) > 5 else ''})" if numbers else "")]
    if remaining.invoices:
        parts.append(f"reste à facturer : {', '.join(p.label for p in remaining.invoices)}")
    if remaining.unknown:
        count = len(remaining.unknown)
        parts.append(f"payeur inconnu pour {count_fr(count, 'inscription')} (accord OPCO à enregistrer, "
                     "taux horaire ou heures manquants, entreprise à rattacher)")
    status.evidence = " ; ".join(parts)
    status.done_count, status.total = len(issued), len(issued) + len(remaining.invoices)
    if not remaining.invoices and not remaining.unknown:
        status.state = ItemState.DONE.value
    return None


def _signed_conventions(status: ItemStatus, session: TrainingSession, enrolments: list,
                        found: Evidence) -> str | None:
    return _conventions(status, session, enrolments, found, signed=True)


def _sent_after_session(sent: Callable[[Evidence, int], dict], noun: tuple[str, str], endpoint: str,
                        waiting: str) -> Check:
    """The check of an item sent to each trainee who attended (``sent`` picks the dates from the evidence)."""
    def check(status: ItemStatus, session: TrainingSession, enrolments: list, found: Evidence) -> str | None:
        return _after_session(status, session, enrolments, sent(found, session.id), noun,
                              (endpoint, {"session_id": session.id}), waiting)

    return check


_hot_survey = _sent_after_session(lambda found, session_id: found.invitations.get((session_id, "hot"), {}),
                                  ("enquête envoyée (ou remplie sur place)",
                                   "enquêtes envoyées (ou remplies sur place)"),
                                  "results.session", "Envoi automatique à la fin de la session.")
_certificates = _sent_after_session(lambda found, session_id: found.documents.get((session_id, "certificate"), {}),
                                    ("certificat envoyé", "certificats envoyés"), "documents.session_documents",
                                    "À produire et envoyer une fois la session terminée (page Documents).")
_cold_survey = _sent_after_session(lambda found, session_id: found.invitations.get((session_id, "cold"), {}),
                                   ("évaluation à froid envoyée", "évaluations à froid envoyées"),
                                   "results.session",
                                   "Envoi automatique après la session, au délai prévu pour le cours.")


# --------------------------------------------------------------------------- the table


ITEMS: tuple[Item, ...] = (
    Item("convention_sent", "Convention de formation envoyée (ou contrat pour un particulier)",
         "Cochée d'après les envois : la convention archivée de chaque entreprise cliente (ou le contrat de chaque "
         "stagiaire à ses frais) a été envoyée par e-mail depuis la page Documents de la session.",
         None, "Code du travail L6353-1 (convention), L6353-3 (contrat)", True, _conventions),
    Item("convention_signed", "Convention (ou contrat) signée en retour",
         "Cochée quand la convention de chaque entreprise cliente (ou le contrat de chaque stagiaire à ses frais) est "
         "signée électroniquement par tous ses signataires (« Envoyer pour signature », page Documents). Un "
         "exemplaire papier signé se coche à la main : indiquez où il est classé.",
         None, "Code du travail L6353-1 (convention), L6353-3 (contrat)", True, _signed_conventions),
    Item("convocations", "Convocations envoyées à tous",
         "Coché quand la convocation de chaque stagiaire est partie (date d'envoi enregistrée sur l'inscription).",
         9, "Qualiopi, indicateur 9", True, _convocations),
    Item("opco_agreement", "Accord de prise en charge reçu (OPCO, France Travail, financeur public…)",
         "Coché quand toutes les prises en charge des stagiaires (OPCO, France Travail, région ou autre financeur "
         "public, fonds des non-salariés qui paie l'organisme) sont « accordée » (fiche de l'inscription, "
         "financement).",
         None, "Conditions de prise en charge des financeurs", True, _opco),
    Item("positioning", "Positionnement fait pour tous les stagiaires",
         "Coché quand chaque stagiaire a envoyé son questionnaire de positionnement ou que le conseiller a "
         "enregistré sa décision (admis, admis avec adaptation).",
         8, "Qualiopi, indicateur 8", True, _positioning),
    Item("hot_survey", "Enquête de satisfaction à chaud envoyée",
         "Cochée quand chaque stagiaire ayant suivi la formation a reçu l'enquête à chaud (ou l'a remplie sur "
         "place) : elle part seule à la fin de la session.",
         30, "Qualiopi, indicateur 30", True, _hot_survey),
    Item("attendance", "Émargement complet et contresigné",
         "Coché quand chaque demi-journée est contresignée par le formateur et que chaque stagiaire a signé, "
         "a été corrigé ou relevé absent.",
         10, "Qualiopi, indicateur 10 ; preuve de réalisation (R6332-26)", True, _attendance),
    Item("distance_evidence", "Preuves des demi-journées à distance",
         "Coché quand chaque demi-journée en classe virtuelle ou en activité asynchrone est terminée avec ses "
         "preuves : le rapport de connexion importé, les deux signatures de chaque stagiaire présent et le rapport "
         "d'accord avec elles, le temps déclaré et le quiz fait. Sans objet pour une session tout en salle.",
         10, "Code du travail R6313-3 (action à distance : tout élément probant) ; R6332-26", True, _distance),
    Item("certificates", "Certificats de réalisation envoyés",
         "Coché quand le certificat de réalisation de chaque stagiaire ayant suivi la formation lui a été envoyé "
         "par e-mail depuis la page Documents.",
         None, "Certificat de réalisation (modèle du ministère), L6353-1", True, _certificates),
    Item("invoice", "Facture émise",
         "Cochée quand chaque payeur de la session (entreprise, OPCO en subrogation, acheteur public, stagiaire "
         "à ses frais) a sa facture émise, non annulée par un avoir : rien ne reste à facturer sur la page "
         "Facturation de la session et chaque prise en charge OPCO est accordée.",
         None, "Facturation (client, OPCO en subrogation)", True, _invoice),
    Item("cold_survey", "Évaluation à froid envoyée",
         "Cochée quand chaque stagiaire ayant suivi la formation a reçu l'évaluation à froid (envoi automatique "
         "au délai du cours).",
         30, "Qualiopi, indicateur 30", True, _cold_survey),
)
ITEMS_BY_KEY = {item.key: item for item in ITEMS}
