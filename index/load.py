"""Pick the loader for a file by its extension."""

from __future__ import annotations

from pathlib import Path

from .document import Document, IngestError

SUPPORTED = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "txt", ".md": "md"}


def is_supported(path: str | Path) -> bool:
    return Path(path).suffix.lower() in SUPPORTED


def load_document(path: str | Path, ocr: str = "auto") -> Document:
    """Load any supported file; raise IngestError with a one-line reason otherwise.
    ``ocr`` applies to PDFs (index.load_pdf): "auto", "off" or "force"."""
    path = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(path, f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}")
    if Path(path).stat().st_size == 0:
        raise IngestError(path, "empty file")
    kind = SUPPORTED[suffix]
    if kind == "pdf":
        from .load_pdf import load_pdf as loader
    elif kind == "docx":
        from .load_docx import load_docx as loader
    elif kind == "html":
        from .load_html import load_html as loader
    else:
        from .load_text import load_text as loader
    try:
        return loader(path, ocr=ocr) if kind == "pdf" else loader(path)
    except IngestError:
        raise
    except Exception as error:  # a library choking on a damaged file
        raise IngestError(path, f"cannot read {kind} file ({type(error).__name__}: {error})") from error
