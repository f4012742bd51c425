"""The WSGI application (``gunicorn app:app``, ``flask --app app …``). A configuration the application cannot run
with stops the process with one French line and exit code 3 (gunicorn's "worker cannot boot", which stops the whole
server instead of restarting the worker forever)."""
import sys

from trainingmgr import create_app
from trainingmgr.config import ConfigurationError

try:
    app = create_app()
except ConfigurationError as exc:
    print(f"trainingmgr : {exc}", file=sys.stderr, flush=True)
    raise SystemExit(3) from None
