"""The demo's quality registers (demo/registers.py), kept through the registers' services: a watch entry of each
domain (one leading to an improvement action, done), a needs analysis by interview, two disability partners, an
adaptation checked at the end of last week's DUME session. Loaded once; the Qualiopi board of the demo year then has
no « hors logiciel » note for indicators 4 and 23–26, and the demo year's audit pack holds the entries."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from sqlalchemy import func, select

from trainingmgr.core.timeutil import paris_today
from trainingmgr.demo.registers import ADAPTED_TRAINEE, PARTNERS, WATCH
from trainingmgr.demo.services import load_demo
from trainingmgr.extensions import db
from trainingmgr.quality import audit_pack
from trainingmgr.quality.board.services import NOTHING_OUTSIDE, build_board, one_year_before
from trainingmgr.quality.models import ImprovementAction
from trainingmgr.quality.registers.models import Adaptation, DisabilityPartner, NeedsAnalysis, WatchEntry

REGISTERS = (WatchEntry, NeedsAnalysis, DisabilityPartner, Adaptation, ImprovementAction)


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in REGISTERS}


def demo_year() -> tuple[dt.date, dt.date]:
    today = paris_today()
    return one_year_before(today) + dt.timedelta(days=1), today


def test_the_registers_hold_the_demo_entries(full_demo):
    entries = list(db.session.scalars(select(WatchEntry).order_by(WatchEntry.day)))
    assert [e.domain for e in entries] == [data["domain"] for _, data in WATCH]
    since, today = demo_year()
    assert all(since <= e.day < today for e in entries)
    (led,) = [e for e in entries if e.action is not None]
    assert (led.domain, led.action.source, led.action.status) == ("technological", "watch", "done")
    assert led.action.effect
    (needs,) = db.session.scalars(select(NeedsAnalysis)).all()
    assert (needs.channel, needs.company.name) == ("interview", "Bureau d'études Occitanie Structures")
    assert needs.session.course.slug == "marches-publics-dume-et-chorus-pro" and needs.session.status == "open"
    partners = db.session.scalars(select(DisabilityPartner).order_by(DisabilityPartner.name)).all()
    assert [(p.name, p.active) for p in partners] == [(data["name"], True) for data in PARTNERS]
    assert all(p.email.endswith((".example", ".example.fr")) for p in partners)
    (adaptation,) = db.session.scalars(select(Adaptation)).all()
    assert adaptation.status == "checked" and adaptation.partner.name == "Cap emploi 31"
    assert adaptation.enrolment.trainee.email == ADAPTED_TRAINEE["email"]
    session = adaptation.enrolment.session
    assert session.status == "completed" and session.course.slug == "marches-publics-dume-et-chorus-pro"
    assert (adaptation.requested_on < adaptation.decided_on < adaptation.carried_out_on
            <= adaptation.checked_on == session.last_date <= today)


def test_loading_twice_duplicates_nothing(full_demo):
    before = counts()
    assert before == {"WatchEntry": 4, "NeedsAnalysis": 1, "DisabilityPartner": 2, "Adaptation": 1,
                      "ImprovementAction": 2}  # the complaint's action (demo/quality.py) and the watch's
    assert load_demo() == []
    assert load_demo() == []
    assert counts() == before


def test_the_bare_demo_leaves_the_registers_empty(demo):
    """Without its paperwork (the ``demo`` fixture) the demo has no register entry: tests count them from none."""
    assert {name: n for name, n in counts().items() if name != "ImprovementAction"} == {
        "WatchEntry": 0, "NeedsAnalysis": 0, "DisabilityPartner": 0, "Adaptation": 0}


def test_the_board_of_the_demo_year_has_nothing_left_outside_the_application(full_demo):
    since, today = demo_year()
    board = build_board(since, today, today)
    for number in (4, 23, 24, 25, 26):
        assert not any(NOTHING_OUTSIDE in note for note in board.indicator(number).notes), number
    assert board.gap("adaptations_unchecked") is None
    assert board.fact("needs_register").value == 1
    assert [board.fact(f"watch_entries_{n}").value for n in (23, 24, 25)] == [1, 1, 2]
    assert board.fact("watch_actions_25").value == 1
    assert board.fact("disability_partners").value == 2
    assert board.fact("adaptations_requested").detail == "vérifiée en fin de session : 1"


def test_the_audit_pack_of_the_demo_year_holds_the_registers_entries(full_demo):
    pack = audit_pack.build_pack(audit_pack.plan_pack(*demo_year()))
    archive = zipfile.ZipFile(io.BytesIO(pack.data))
    sections = {s.number: s for s in pack.index.indicators}

    def text(number: int, name: str) -> str:
        path = f"indicateurs/{number:02d}/{name}"
        assert path in sections[number].files
        return archive.read(path).decode("utf-8-sig")

    assert "Marc Vidal, directeur" in text(4, "analyses-des-besoins.csv")
    assert "modèle de certificat de réalisation" in text(23, "veille-legale-et-reglementaire.csv")
    assert "DUME électronique" in text(24, "veille-competences-metiers-emplois.csv")
    teaching = text(25, "veille-innovations-pedagogiques-et-technologiques.csv")
    assert "Quiz courts" in teaching and "Facturation électronique obligatoire" in teaching
    assert "(réalisée)" in teaching  # the action the reform led to
    partners = text(26, "reseau-partenaires-handicap.csv")
    assert "Agefiph Occitanie" in partners and "Cap emploi 31" in partners
    adaptations = text(26, "adaptations-des-stagiaires.csv")
    assert "Hugo Lefèvre" in adaptations and "Vérifiée en fin de session" in adaptations
