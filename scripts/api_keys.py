"""Manage the API keys of officials (header X-API-Key of the HTTP API).

    .venv/bin/python scripts/api_keys.py create 统计科-张三     # prints the key, once
    .venv/bin/python scripts/api_keys.py list
    .venv/bin/python scripts/api_keys.py revoke 统计科-张三

Keys are kept in a SQLite file: $NIANBAO_API_KEYS, default var/api_keys.db (or --file).
Only a salted SHA-256 hash of each key is stored, so a lost key cannot be shown again:
revoke it and create a new one. A running server sees new and revoked keys at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.settings import Settings  # noqa: E402
from web.api.keys import KeyStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create, list and revoke API keys of officials.")
    parser.add_argument("--file", help="key file (default $NIANBAO_API_KEYS, else var/api_keys.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create", help="create a key for NAME and print it (only once)").add_argument("name")
    sub.add_parser("revoke", help="revoke the active key of NAME").add_argument("name")
    sub.add_parser("list", help="list keys (names and dates, never the keys)")
    args = parser.parse_args(argv)
    store = KeyStore(args.file or Settings.from_env().api_keys)
    if args.command == "create":
        try:
            key = store.create(args.name)
        except ValueError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
        print(key)
        print(f"Key for {args.name} saved (hashed) in {store.path}. It is shown only now: "
              "send it as the X-API-Key header.", file=sys.stderr)
    elif args.command == "revoke":
        n = store.revoke(args.name)
        if not n:
            print(f"Error: {args.name!r} has no active key in {store.path}", file=sys.stderr)
            return 1
        print(f"Revoked {n} key(s) of {args.name}.")
    else:
        keys = store.list()
        if not keys:
            print(f"No keys in {store.path}.")
        for k in keys:
            state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
            print(f"{k['name']}\t{k['key_id']}\tcreated {k['created_at']}\t{state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
