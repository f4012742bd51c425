"""Run the real ``flask --app app …`` command in a subprocess, as an operator or cron would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import seal_key_dir

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))  # .venv/bin/flask
SECRET_KEY = "clé-de-test-des-commandes-0123456789-abcdefghij"


def flask_env(database_url: str, files_dir: str | os.PathLike) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "APP_ENV": "development",
           "FILES_DIR": str(files_dir), "SEAL_KEY_DIR": seal_key_dir(), "MAIL_BACKEND": "console",
           "PYTHONUNBUFFERED": "1"}
    env.pop("MAIL_SERVER", None)
    return env


def run_flask(*args: str, database_url: str, files_dir: str | os.PathLike,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``flask --app app ARGS`` from the project folder, stdin closed (as under cron)."""
    return subprocess.run([FLASK, "--app", "app", *args], cwd=ROOT, env=flask_env(database_url, files_dir),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
