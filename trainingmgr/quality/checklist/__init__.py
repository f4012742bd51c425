"""The per-session administrative checklist: items and their due dates, the evidence, manual ticks.

See docs/checklist.md."""
