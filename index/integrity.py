"""Is the served index readable? One line saying why not, for the server's start and
/api/health, instead of a traceback or a 500 on every request.

    from index.integrity import index_problem
    problem = index_problem("var/index")     # None when it can be served
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from . import layout, store
from .layout import current_dir

# Every table the serving path reads: a truncated file fails on the first page it lacks.
_PROBES = ("SELECT COUNT(*) FROM reports", "SELECT key FROM build_info LIMIT 1",
           "SELECT report_id FROM facts LIMIT 1", "SELECT report_id FROM sections LIMIT 1",
           "SELECT report_id FROM checks LIMIT 1")


def index_problem(index_dir: str | Path, thorough: bool = False) -> str | None:
    """None when the index at ``index_dir`` has a readable store; else what is wrong.
    ``thorough`` adds SQLite's ``PRAGMA quick_check`` (reads every page: for the start)."""
    build = current_dir(index_dir)
    if build is None:
        return f"no index at {index_dir}: build one with scripts/build_index.py"
    path = Path(build) / store.DB_NAME
    if layout.facts_file(build).exists():
        return _facts_problem(build)
    if not path.is_file():
        return f"the index's store {path.name} is missing from {Path(build).name}"
    try:
        db = store.open_readonly(build)
    except (OSError, sqlite3.Error) as error:
        return f"the index's store {path.name} cannot be opened ({error})"
    try:
        for probe in _PROBES:
            db.execute(probe).fetchall()
        if thorough:
            result = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if result != "ok":
                return f"the index's store {path.name} is damaged ({result})"
    except sqlite3.Error as error:
        return f"the index's store {path.name} is damaged or not a database ({error})"
    finally:
        db.close()
    return None


def _facts_problem(build: Path) -> str | None:
    """The build's facts are in PostgreSQL (index.pgstore): can its schema be read?"""
    import psycopg

    from .factstore import open_build_facts

    try:
        with open_build_facts(build) as facts:
            facts.report_count()
            facts.build_info()
            facts.has_column("", "", "")
            facts.sections([""])
            facts.failed_checks([""])
    except (psycopg.Error, OSError, ValueError) as error:  # server gone, schema dropped, no access
        return f"the index's facts in PostgreSQL cannot be read ({str(error).strip() or type(error).__name__})"
    return None
