"""The index the page shows (index.served): one build per request."""

from __future__ import annotations

from pathlib import Path

from index.served import Index, IndexNotFound, served


class IndexView:
    """The index being served (index.served): each request takes the current build once
    and reads everything it shows from that one build."""

    def __init__(self, index_dir: str | Path):
        self.served = served(index_dir)

    def index(self) -> Index | None:
        try:
            return self.served.get()
        except IndexNotFound:
            return None

    def reports(self, index: Index | None = None) -> list[dict]:
        """Every report's id, names, level and year, by name (made once per build)."""
        index = index or self.index()
        if index is None:
            return []

        def make():
            with index.facts() as store:
                return [dict(r) for r in store.reports_by_name()]
        return index.cached("page_reports", make)

    def short_names(self, index: Index | None = None) -> dict[str, dict]:
        return {r["id"]: r for r in self.reports(index)}


def report_label(r: dict) -> str:
    name = r.get("short_name") or r.get("body") or r["id"]
    year = f"{r['year']}年" if r.get("year") else "年份不详"
    return f"{name} {year}（{r['id']}）"
