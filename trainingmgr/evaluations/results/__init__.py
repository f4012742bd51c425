"""Results of the surveys and evaluations: aggregates, charts, spreadsheets, public indicators."""
