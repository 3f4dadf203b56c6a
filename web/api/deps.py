"""What the routers ask for in their signatures (FastAPI dependencies).

    def handler(state: State, _official: Official): ...   # a valid key; rate-limited per key
    def handler(state: State, _who: Asker): ...           # open; rate-limited per key or IP

``State`` is the app's ApiState (the index folder, the key store, the limiters, the
settings); ``open_index``/``open_store`` give the served build of this request
(index.served), 503 when there is none or it cannot be read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from index import layout
from index.factstore import FactStore
from index.served import Index, served
from index.settings import ENV_KEYS, Settings
from qa.understand import LEVEL_NAMES

from . import models as M
from .errors import ApiError
from .keys import KeyFileError, KeyStore
from .ratelimit import RateLimiter

LEVELS = tuple(LEVEL_NAMES)
YEAR_MIN, YEAR_MAX = 1, 9999
MAX_OFFSET = 10**9  # paging: larger offsets overflow SQLite's integers: 422, not a 500


@dataclass
class ApiState:
    index_dir: Path
    keys: KeyStore
    limiter: RateLimiter
    ui: bool = False
    auth_failures: RateLimiter | None = None  # failed keys per client
    settings: Settings = field(default_factory=Settings)


def get_state(request: Request) -> ApiState:
    return request.app.state.api


State = Annotated[ApiState, Depends(get_state)]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="APIKey",
    description="An official's API key (scripts/api_keys.py create NAME).")


def throttle(state: ApiState, who: str) -> None:
    wait = state.limiter.take(who)
    if wait > 0:
        raise ApiError(429, "rate_limited",
                       f"too many requests: the limit is {state.limiter.capacity:g} per minute; "
                       f"retry in {wait:.1f} s", {"Retry-After": str(max(1, round(wait + 0.5)))})


def client_of(request: Request) -> str:
    return f"ip:{request.client.host if request.client else 'unknown'}"


def check_key(state: ApiState, key: str, client: str) -> str:
    """The key's owner; 401 for a wrong or revoked key, 429 once a client has sent too many
    wrong keys, 503 when the key file cannot be read."""
    failures = state.auth_failures
    if failures is not None:
        wait = failures.wait(client)
        if wait > 0:
            raise ApiError(429, "too_many_failed_keys",
                           f"too many wrong API keys from this client; retry in {wait:.0f} s",
                           {"Retry-After": str(max(1, round(wait + 0.5)))})
    try:
        check = state.keys.verify(key)
    except KeyFileError as error:
        raise ApiError(503, "keys_unavailable", f"{error}; ask the administrator to check {ENV_KEYS}")
    if check.status != "ok" and failures is not None:
        failures.take(client)
    if check.status == "revoked":
        raise ApiError(401, "api_key_revoked", f"this API key (of {check.name}) has been revoked")
    if check.status != "ok":
        raise ApiError(401, "invalid_api_key", "the X-API-Key header does not hold a valid API key")
    return check.name


def require_key(request: Request, state: State,
                key: Annotated[str | None, Security(api_key_header)] = None) -> str:
    """The name of the official whose key was sent; 401 without a valid key, 429 over the limit."""
    if not key:
        raise ApiError(401, "missing_api_key",
                       "this endpoint needs an API key in the X-API-Key header "
                       "(an administrator creates one with scripts/api_keys.py create NAME)")
    name = check_key(state, key, client_of(request))
    throttle(state, f"key:{name}")
    return name


def asker(request: Request, state: State,
          key: Annotated[str | None, Security(api_key_header)] = None) -> str:
    """Who is asking: the key's name when a key is sent (it must be valid), else the client IP."""
    if key:
        who = f"key:{check_key(state, key, client_of(request))}"
    else:
        who = client_of(request)
    throttle(state, who)
    return who


Official = Annotated[str, Depends(require_key)]
Asker = Annotated[str, Depends(asker)]


def open_index(state: ApiState) -> Index:
    """The served build, taken once per request (index.served)."""
    if layout.current_dir(state.index_dir) is None:
        raise ApiError(503, "no_index", "no index has been built yet: build one with scripts/build_index.py")
    try:
        return served(state.index_dir).get()
    except (FileNotFoundError, sqlite3.Error) as error:
        raise sqlite3.DatabaseError(str(error)) from error  # 503 index_unavailable (the handler)


def open_store(state: ApiState, index: Index | None = None) -> FactStore:
    try:
        return (index or open_index(state)).facts()
    except (FileNotFoundError, sqlite3.Error) as error:
        raise sqlite3.DatabaseError(str(error)) from error  # 503 index_unavailable (the handler)


def check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise ApiError(400, "bad_request", f"unknown level {level!r}: use one of {', '.join(LEVELS)}")


ERRORS = {code: {"model": M.ErrorResponse} for code in (400, 401, 404, 413, 422, 429, 503)}
# Years and numbers a request may give: SQLite integers are 64-bit and NaN/inf compare as
# nothing, so out-of-range values are a 422 before any query.
Year = Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX, description="year covered, e.g. 2021")]
FiniteNumber = Annotated[float, Query(allow_inf_nan=False, ge=-1e15, le=1e15)]
KEYED_ERRORS = {**ERRORS, 403: {"model": M.ErrorResponse}}
