"""API keys of officials, kept in their own SQLite file (``Settings.api_keys``, from
NIANBAO_API_KEYS; default var/api_keys.db), managed with scripts/api_keys.py.

    store = KeyStore(settings.api_keys)
    key = store.create("统计科-张三")       # shown once
    store.verify(key)                      # KeyCheck("ok", "统计科-张三")

A running server reads the file on each request, so new and revoked keys count at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

KEY_PREFIX = "nb"
_KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, salt TEXT NOT NULL, hash TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS api_keys_by_name ON api_keys (name);
"""


@dataclass
class KeyCheck:
    status: Literal["ok", "unknown", "revoked"]
    name: str | None = None


def _hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


class KeyFileError(Exception):
    """The key file exists but cannot be read (the server answers 503 ``keys_unavailable``)."""


class KeyStore:
    """API keys of officials: ``nb_<key id>_<secret>``; the file keeps the key id, the name,
    a random salt and sha256(salt + secret), never the key. Keys are 192-bit random, so a
    fast salted hash is enough (no password stretching needed)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.executescript(_KEYS_SCHEMA)
        self.secure()
        return db

    def secure(self) -> None:
        """Mode 600 for the key file (only its owner reads the hashes), whatever it had."""
        try:
            if self.path.is_file() and (self.path.stat().st_mode & 0o777) != 0o600:
                os.chmod(self.path, 0o600)
        except OSError as error:  # not its owner: say so, the server still starts
            logging.getLogger("web.api.keys").warning("cannot make %s mode 600: %s", self.path, error)

    def create(self, name: str) -> str:
        """A new key for ``name`` (shown once: only its hash is kept)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValueError("a key name must be 1-100 characters")
        db = self._connect()
        try:
            if db.execute("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
                raise ValueError(f"{name!r} already has an active key: revoke it first")
            key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(24), secrets.token_hex(16)
            db.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,NULL)",
                       (key_id, name, salt, _hash_secret(salt, secret), time.strftime("%Y-%m-%dT%H:%M:%S%z")))
            db.commit()
        finally:
            db.close()
        return f"{KEY_PREFIX}_{key_id}_{secret}"

    def revoke(self, name: str) -> int:
        """Revoke every active key of ``name``; returns how many were revoked."""
        db = self._connect()
        try:
            n = db.execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                           (time.strftime("%Y-%m-%dT%H:%M:%S%z"), name)).rowcount
            db.commit()
        finally:
            db.close()
        return n

    def list(self) -> list[dict]:
        if not self.path.exists():
            return []
        db = self._connect()
        try:
            return [dict(r) for r in db.execute(
                "SELECT name, key_id, created_at, revoked_at FROM api_keys ORDER BY created_at, name")]
        finally:
            db.close()

    def verify(self, key: str) -> KeyCheck:
        parts = (key or "").strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not self.path.exists():
            return KeyCheck("unknown")
        try:
            db = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=10)
        except (sqlite3.Error, OSError) as error:
            raise KeyFileError(f"the API key file cannot be opened ({error})") from error
        try:
            row = db.execute("SELECT name, salt, hash, revoked_at FROM api_keys WHERE key_id = ?",
                             (parts[1],)).fetchone()
        except sqlite3.Error as error:
            raise KeyFileError(f"the API key file cannot be read ({error})") from error
        finally:
            db.close()
        if row is None or not hmac.compare_digest(_hash_secret(row[1], parts[2]), row[2]):
            return KeyCheck("unknown")
        return KeyCheck("revoked" if row[3] else "ok", row[0])
