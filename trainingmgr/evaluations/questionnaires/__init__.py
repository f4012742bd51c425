"""The questionnaire engine (building, answering, reading back), its forms and its editor."""
