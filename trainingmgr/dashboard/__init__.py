"""The advisor's dashboard figures (figures.py): the top layer, which may read every domain; nothing imports it but
the dashboard view."""
