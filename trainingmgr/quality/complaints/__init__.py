"""Complaints, mediation requests, difficulties, suggestions and hazards (Qualiopi 31): « réclamations ».

The register and its workflow (services.py), the staff pages (views.py) and the public form (public.py)."""
