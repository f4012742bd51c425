"""The client-company space and the company's activity: portals/company/space.py, views.py, activity.py."""
