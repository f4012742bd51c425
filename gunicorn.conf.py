"""gunicorn's settings file, read from the working directory by every ``gunicorn`` command started here (``make
serve`` and ``gunicorn app:app`` alike). Before any worker starts, the master checks that the application can
serve (configuration, a mail server or MAIL_BACKEND=console in production, database reachable and migrated,
files directory writable, see trainingmgr/ops/readiness.py)
and stops with one French line per problem otherwise."""


def on_starting(server):
    from trainingmgr.ops.readiness import check_or_exit

    check_or_exit()
