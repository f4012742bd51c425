"""The organisation's sealing keys (Ed25519), kept outside the database in ``SEAL_KEY_DIR``.

See docs/evidence-chain.md for the key ring, the rotation and the backups."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from .timeutil import utcnow

KEYRING = "keyring.json"
FORMAT = 1
ALGORITHM = "Ed25519"


class KeyringError(Exception):
    """The key directory cannot be read or written; the message is French and meant for the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PublicKey:
    id: str
    public_key: bytes  # the 32 raw bytes
    valid_from: dt.datetime
    valid_until: dt.datetime | None

    @property
    def text(self) -> str:
        """The public key as printed on documents: base64 of its 32 raw bytes."""
        return base64.b64encode(self.public_key).decode("ascii")

    @property
    def pem(self) -> str:
        """The SubjectPublicKeyInfo PEM (for ``openssl pkeyutl -verify``)."""
        return Ed25519PublicKey.from_public_bytes(self.public_key).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def valid_at(self, moment: dt.datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)


def key_dir() -> Path:
    return Path(current_app.config["SEAL_KEY_DIR"])


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def load_keyring(directory: Path | None = None) -> list[PublicKey]:
    """Every key of the ring, oldest first (an empty list when there is no ring yet)."""
    path = (directory or key_dir()) / KEYRING
    try:
        raw = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KeyringError(f"Le trousseau des clés de scellement ({path}) ne peut pas être lu : "
                           f"{exc.strerror or exc}.") from None
    try:
        data = json.loads(raw)
        keys = [PublicKey(entry["id"], base64.b64decode(entry["public_key"], validate=True),
                          _parse_iso(entry["valid_from"]),
                          _parse_iso(entry["valid_until"]) if entry.get("valid_until") else None)
                for entry in data["keys"]]
    except (ValueError, KeyError, TypeError):
        raise KeyringError(f"Le trousseau des clés de scellement ({path}) est illisible : restaurez-le depuis "
                           "sa sauvegarde.") from None
    for key in keys:
        if len(key.public_key) != 32 or key_id_of(key.public_key) != key.id:
            raise KeyringError(f"Le trousseau des clés de scellement ({path}) est altéré : la clé {key.id} ne "
                               "correspond pas à son identifiant.")
    return keys


def _write_keyring(directory: Path, keys: list[PublicKey]) -> None:
    data = {"format": FORMAT, "keys": [
        {"id": k.id, "algorithm": ALGORITHM, "public_key": k.text, "valid_from": _iso(k.valid_from),
         "valid_until": _iso(k.valid_until) if k.valid_until else None} for k in keys]}
    temporary = directory / (KEYRING + ".tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(temporary, directory / KEYRING)


def active_key(directory: Path | None = None) -> PublicKey | None:
    """The key that seals now: the ring's open one whose private part is there."""
    directory = directory or key_dir()
    for key in reversed(load_keyring(directory)):
        if key.valid_until is None and (directory / f"{key.id}.key").is_file():
            return key
    return None


def _private(directory: Path, key: PublicKey) -> Ed25519PrivateKey:
    path = directory / f"{key.id}.key"
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyringError(f"La clé privée de scellement {path} ne peut pas être lue : "
                           f"{getattr(exc, 'strerror', None) or exc}.") from None
    if not isinstance(private, Ed25519PrivateKey) or private.public_key().public_bytes_raw() != key.public_key:
        raise KeyringError(f"La clé privée {path} ne correspond pas à la clé publique {key.id} du trousseau.")
    return private


def _new_key(directory: Path, now: dt.datetime) -> PublicKey:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes_raw()
    key = PublicKey(key_id_of(public), public, now, None)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    descriptor = os.open(directory / f"{key.id}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def create_key(directory: Path | None = None, now: dt.datetime | None = None) -> tuple[PublicKey, bool]:
    """The active key, created first when there is none: (key, created)."""
    directory = directory or key_dir()
    current = active_key(directory)
    if current is not None:
        return current, False
    keys = load_keyring(directory)
    if any(k.valid_until is None for k in keys):
        opened = next(k for k in keys if k.valid_until is None)
        raise KeyringError(f"La clé {opened.id} est ouverte dans le trousseau mais sa clé privée "
                           f"({directory / (opened.id + '.key')}) est absente : restaurez-la depuis sa sauvegarde, "
                           "ou clôturez-la avec « flask attendance rotate-key ».")
    key = _new_key(directory, now or utcnow())
    _write_keyring(directory, [*keys, key])
    return key, True


def rotate_key(directory: Path | None = None, now: dt.datetime | None = None) -> tuple[PublicKey, list[PublicKey]]:
    """A new active key; the open ones end now and their private parts are destroyed. Returns (new, closed)."""
    directory = directory or key_dir()
    now = now or utcnow()
    keys = load_keyring(directory)
    key = _new_key(directory, now)
    closed = [k for k in keys if k.valid_until is None]
    keys = [PublicKey(k.id, k.public_key, k.valid_from, now) if k.valid_until is None else k for k in keys]
    _write_keyring(directory, [*keys, key])
    for old in closed:
        (directory / f"{old.id}.key").unlink(missing_ok=True)
    return key, closed


@dataclass(frozen=True)
class Signer:
    key: PublicKey
    _private: Ed25519PrivateKey

    def sign(self, message: bytes) -> str:
        """The signature of ``message``, in base64."""
        return base64.b64encode(self._private.sign(message)).decode("ascii")


def active_signer(directory: Path | None = None) -> Signer | None:
    """What seals now (the active key with its private part), None when there is no key yet."""
    directory = directory or key_dir()
    key = active_key(directory)
    return Signer(key, _private(directory, key)) if key is not None else None


def check_signature(keys: list[PublicKey], key_id: str, message: bytes, signature: str,
                    at: dt.datetime) -> str:
    """Why ``signature`` does not prove ``message`` (French), or "" when it does."""
    key = next((k for k in keys if k.id == key_id), None)
    if key is None:
        return (f"clé de scellement {key_id} inconnue du trousseau (SEAL_KEY_DIR) : restaurez le répertoire des "
                "clés sauvegardé avec la base")
    try:
        raw = base64.b64decode(signature or "", validate=True)
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(raw, message)
    except (ValueError, InvalidSignature):
        return f"signature invalide pour la clé {key_id} (scellement modifié, ou fait sans la clé de l'organisme)"
    if not key.valid_at(at):
        return f"daté d'un moment où la clé {key_id} n'était pas en service"
    return ""
