"""The layers only look down (issue 12): read from the imports themselves (ast).

    core       index.errors, document, normalize, template, layout, settings
    storage    index.store, factstore, served, passages, lexical, vectors, embeddings (with onnx_export,
               onnx_encoder), integrity, feedback
    ingestion  the rest of index/ (loaders, parse, sections, tables, checks, metadata, build, …)
    qa         qa/ (question answering)                 -- ingestion and qa never import each other
    ui         ui/ (the citizens' page)
    web        web/ (the API and the server, assembled on top)

Edges (``__main__`` modules, scripts/, tests/) may import anything. No library module
reads or writes the environment: index.settings.Settings.from_env is the one reader."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = {"index.errors", "index.document", "index.normalize", "index.template", "index.layout", "index.settings"}
STORAGE = {"index.store", "index.factstore", "index.served", "index.passages", "index.lexical", "index.vectors",
           "index.embeddings", "index.onnx_export", "index.onnx_encoder", "index.integrity", "index.feedback",
           "index.pgstore"}
# which layers each layer may import from
ALLOWED = {
    "core": {"core"},
    "storage": {"core", "storage"},
    "ingestion": {"core", "storage", "ingestion"},
    "qa": {"core", "storage", "qa"},
    "ui": {"core", "storage", "qa", "ui"},
    "web": {"core", "storage", "qa", "ui", "web"},
}
# library modules allowed to touch os.environ, and why
ENVIRONMENT = {
    "index.settings": "the one reader of the NIANBAO_* settings",
    "index.limits": "hands the environment on to the parse worker process (with its PYTHONPATH)",
}


def layer_of(module: str) -> str | None:
    if "." not in module:
        return None  # a package itself ('from index import template'): its module decides
    if module in CORE:
        return "core"
    if module in STORAGE:
        return "storage"
    top = module.split(".")[0]
    return {"index": "ingestion", "qa": "qa", "ui": "ui", "web": "web"}.get(top)


def library_modules() -> list[tuple[str, Path]]:
    out = []
    for package in ("index", "qa", "ui", "web"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue  # the command line is an edge
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out.append((name, path))
    return out


def imported(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import a, b
                    names |= {f"{target}.{a.name}" for a in node.names}
                else:
                    names.add(target)
            elif node.module:
                names.add(node.module)
                names |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] in ("index", "qa", "ui", "web")}


def _resolve(name: str) -> str:
    """'index.template.T' -> 'index.template' (a module, not a name inside it)."""
    parts = name.split(".")
    while len(parts) > 1 and not ((ROOT.joinpath(*parts).with_suffix(".py")).exists()
                                  or (ROOT.joinpath(*parts) / "__init__.py").exists()):
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize("module, path", library_modules(), ids=lambda x: x if isinstance(x, str) else "")
def test_imports_only_look_down(module, path):
    mine = layer_of(module)
    bad = []
    for name in sorted(imported(module, path)):
        target = _resolve(name)
        theirs = layer_of(target)
        if theirs is not None and theirs not in ALLOWED[mine]:
            bad.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert not bad, "\n".join(bad)


# the modules that may run SQL: the storage layer, and the API key store (its own file)
SQL = STORAGE | {"web.api.keys"}


@pytest.mark.parametrize("module, path", library_modules(), ids=lambda x: x if isinstance(x, str) else "")
def test_sql_runs_only_in_the_storage_layer(module, path):
    if module in SQL:
        return
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\.execute(many|script)?\(", text), \
        f"{module} runs SQL: ingestion writes and question answering reads through index.store / index.factstore"


@pytest.mark.parametrize("module, path", library_modules(), ids=lambda x: x if isinstance(x, str) else "")
def test_library_modules_leave_the_environment_alone(module, path):
    if module in ENVIRONMENT:
        return
    text = path.read_text(encoding="utf-8")
    assert "os.environ" not in text and "os.getenv" not in text, \
        f"{module} reads or writes the environment: settings come from index.settings.Settings"
