"""The accounting exports made by an export task (messaging/exports.py): the sales and bank journal (CSV) of a
period, and a year's BPF (XLSX).

``flask exports run sales_journal --param du=2031-03-01 --param au=2031-03-31 --out journal.csv``;
``flask exports run bpf --param year=2031 --out bpf-2031.xlsx``."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ..core.formatting import date_fr
from ..messaging import exports
from .bpf import services as bpf
from .payments import services as payments


def parse_journal(args: Mapping[str, str], actor) -> dict:
    """du, au (AAAA-MM-JJ; the previous month when both are absent)."""
    start, end = payments.parse_period(args.get("du"), args.get("au"))
    return {"du": start.isoformat(), "au": end.isoformat()}


@exports.exporter("sales_journal", lambda p: (f"Export du journal des ventes et de banque du "
                                              f"{date_fr(dt.date.fromisoformat(p['du']))} au "
                                              f"{date_fr(dt.date.fromisoformat(p['au']))} (CSV)"), parse_journal)
def build_journal(params: dict, actor, rows) -> exports.Built:
    entries = payments.journal(dt.date.fromisoformat(params["du"]), dt.date.fromisoformat(params["au"]))
    return exports.Built(payments.journal_csv(entries, rows), payments.journal_filename(entries), exports.CSV)


def parse_bpf(args: Mapping[str, str], actor) -> dict:
    """year (2000–2100; 404 otherwise, as the BPF's pages)."""
    return {"year": bpf.check_year(args.get("year"))}


@exports.exporter("bpf", lambda p: f"Export du BPF {p['year']} (XLSX)", parse_bpf)
def build_bpf(params: dict, actor, rows) -> exports.Built:
    computed = bpf.compute_bpf(params["year"])
    return exports.Built(bpf.to_xlsx(computed, rows), bpf.export_filename(computed.year), exports.XLSX)
