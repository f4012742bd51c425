from __future__ import annotations

from flask import Blueprint, abort, send_file

from ..accounts.permissions import staff_required
from ..extensions import db
from ..organisation.services import get_organisation
from .models import StoredFile
from .services import path_for

bp = Blueprint("files", __name__, url_prefix="/files")


def _send(stored: StoredFile, as_attachment: bool):
    path = path_for(stored)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=stored.content_type, as_attachment=as_attachment,
                     download_name=stored.original_name, max_age=3600)


@bp.route("/logo")
def logo():
    """The organisation's logo is public: it heads the catalogue."""
    org = get_organisation()
    if org.logo is None:
        abort(404)
    return _send(org.logo, as_attachment=False)


@bp.route("/<int:file_id>")
@staff_required
def download(file_id: int):
    stored = db.get_or_404(StoredFile, file_id)
    return _send(stored, as_attachment=True)
