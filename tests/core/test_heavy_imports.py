"""The heavy libraries load when their work is done, not at each start: the application starts without them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# openpyxl: the XLSX exports; facturx and docxtpl: an invoice's issue, a document's rendering.
DEFERRED = ("openpyxl", "facturx", "docxtpl")


def test_the_application_starts_without_the_heavy_libraries():
    script = ("import sys\nfrom trainingmgr import create_app\ncreate_app()\n"
              f"print(' '.join(name for name in {DEFERRED!r} if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
