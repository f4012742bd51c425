"""The trainer's continuous evaluation of the objectives (acquis)."""
