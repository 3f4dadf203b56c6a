"""Issue 12: the server is assembled at the top. ``web/`` (the API, the hardening, the
server) imports the layers below it (index, qa, ui); nothing below imports ``web``,
except the CLI edge (``qa/__main__.py``) inside its ``serve`` command; and no module of
``web/`` or ``ui/`` reads or writes the environment (the edge passes a Settings)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BELOW_WEB = ("index", "qa", "ui")
EDGE = ROOT / "qa" / "__main__.py"


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _imported(path: Path) -> list[tuple[int, str, ast.AST]]:
    """(line, module, the function it is inside or None) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                out.extend((child.lineno, a.name, function) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                out.append((child.lineno, child.module, function))
            visit(child, inner)

    visit(tree, None)
    return out


def _is(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_nothing_below_web_imports_web():
    bad = []
    for path in _modules(*BELOW_WEB):
        for line, module, function in _imported(path):
            if not _is(module, "web"):
                continue
            if path == EDGE and function is not None and function.name == "run_server":
                continue  # the CLI edge starts the server
            bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, bad


def test_the_page_and_question_answering_do_not_import_each_other_upwards():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}"
           for p in _modules("index", "qa") for line, m, _ in _imported(p) if _is(m, "ui")]
    assert not bad, bad


def test_web_and_the_page_neither_read_nor_write_the_environment():
    bad = []
    for path in _modules("web", "ui"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{node.attr}")
    assert not bad, bad

