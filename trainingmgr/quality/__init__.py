"""Quality: complaints and mediation, improvement actions, per-session checklist, Qualiopi board."""
