"""Per-file limits of a build, and the worker process that parses under them.

A build must not hang or eat the machine on one bad file (measured before these limits:
a 355 KB .docx inflating to 180 MB of XML ran > 300 s at 6 GB; a 50 MB text file took
135 s and 5.1 GB and became one "report" of 59,921 passages). Each file is refused, with
the reason, and the build goes on, when:

- the file is larger than ``max_mb`` (``NIANBAO_MAX_FILE_MB``, default 50), or a .docx
  would inflate past it (the sizes in its zip directory: a zip bomb is refused unread);
- its extracted text is longer than ``max_chars`` (``NIANBAO_MAX_TEXT_CHARS``, default
  1,000,000; the longest real report in tests/fixtures has ≈ 40,000);
- its parse runs longer than ``timeout`` seconds (``NIANBAO_PARSE_TIMEOUT``, default 120;
  0 = parse in the build's own process, no time or memory limit): ``ParseWorker`` parses
  in a child process that is killed at the limit, with its address space capped at
  ``memory_mb`` (``NIANBAO_PARSE_MEMORY_MB``, default 4096), so a runaway parse ends as a
  reject, not as the build's death.

    from index.limits import FileLimits, ParseWorker
    with ParseWorker(Settings.from_env().limits) as worker:
        parsed = worker.parse(path, source_file="a.pdf")     # or IngestError(reason)
"""

from __future__ import annotations

import os
import pickle
import selectors
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

from .document import IngestError

from .settings import LIMIT_ENV as ENV, FileLimits  # noqa: F401 - the limits are settings (index.settings)


def check_size(path: str | Path, limits: FileLimits) -> None:
    """IngestError when the file is over the size limit (one stat)."""
    size = Path(path).stat().st_size
    if size > limits.max_bytes:
        raise IngestError(str(path), f"file is {size / 1048576:.1f} MB; the limit is {limits.max_mb:g} MB "
                                     f"({ENV['max_mb']})")


def check_file(path: str | Path, limits: FileLimits) -> None:
    """IngestError when the file (or a .docx once inflated) is over the size limit."""
    check_size(path, limits)
    if Path(path).suffix.lower() == ".docx":
        try:
            with zipfile.ZipFile(path) as z:
                inflated = sum(info.file_size for info in z.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return  # the loader says what is wrong with it
        if inflated > limits.max_bytes:
            raise IngestError(str(path), f"the .docx inflates to {inflated / 1048576:.0f} MB; the limit is "
                                         f"{limits.max_mb:g} MB ({ENV['max_mb']})")


def check_text(path: str | Path, text: str, limits: FileLimits) -> None:
    if len(text) > limits.max_chars:
        raise IngestError(str(path), f"extracted text is {len(text):,} characters; the limit is "
                                     f"{limits.max_chars:,} ({ENV['max_chars']})")


# ------------------------------------------------------------------ the worker
# A plain child process (``python -c``), not multiprocessing: spawn re-runs the caller's
# main module (a script without a __main__ guard would recurse), and fork would copy the
# build's threads (torch, chromadb) mid-lock. Messages are length-prefixed pickles over
# the child's stdin/stdout; the child's own prints go to stderr.
def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _recv(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


OCR_TIME_FACTOR = 5  # a PDF that may need OCR gets this many times the time limit


def worker_main() -> None:
    """The child's loop: (path, source_file, limits) in, ('ok', ParsedReport) or
    ('reject', reason) out, until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints must not corrupt the replies
    inp = os.fdopen(0, "rb")
    from . import load_docx, load_html, load_pdf, load_text, ocr  # noqa: F401 - imported before the cap
    from .parse import parse_report

    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0  # python -c "…" MEMORY_MB
    if memory_mb:  # after the imports: the cap is for parsing, never fails the start
        try:
            import resource

            cap = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ImportError, ValueError, OSError):
            pass
    out_of_memory = f"parsing needed more than {memory_mb} MB of memory ({ENV['memory_mb']})"
    _send(out, ("ready", None))  # imports done: the time limit counts parsing only
    while True:
        try:
            path, source, limits, ocr = _recv(inp)
        except EOFError:
            return
        try:
            reply = ("ok", parse_report(path, source_file=source, limits=limits, ocr=ocr))
        except IngestError as error:  # a loader that met the cap reports it as a damaged file
            short_of_memory = isinstance(error.__cause__, MemoryError) or "MemoryError" in error.reason \
                or "failed to map segment" in error.reason  # a library loaded lazily under the cap
            reply = ("reject", out_of_memory if short_of_memory else error.reason)
        except MemoryError:
            reply = ("reject", out_of_memory)
        except Exception as error:  # noqa: BLE001 - a library choking on a damaged file
            reply = ("reject", f"cannot parse the file ({type(error).__name__}: {error})")
        _send(out, reply)


class ParseWorker:
    """Parses files in one child process (started on first use, reused, killed and
    restarted when a parse passes the time limit). ``timeout`` 0: in this process."""

    def __init__(self, limits: FileLimits | None = None):
        self.limits = limits or FileLimits()
        self._process: subprocess.Popen | None = None
        self._started = False  # the child said it is ready

    def __enter__(self) -> ParseWorker:
        # The child imports the loaders (≈ 0.3 s CPU, seconds on a busy machine) while the
        # build hashes its files; parse() waits for it only when a file needs parsing (a
        # build with nothing to parse starts it for nothing: ≈ 0.3 s CPU, on the other core).
        if self.limits.timeout:
            self._spawn()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from index.limits import worker_main; worker_main()", str(self.limits.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._started = False

    def _start(self) -> None:
        if self._process is None or self._process.poll() is not None:
            self._spawn()
        if self._started:
            return
        if not self._ready(120) or _recv(self._process.stdout)[0] != "ready":
            self._kill()
            raise RuntimeError("the parse worker process did not start")
        self._started = True

    def _ready(self, timeout: float) -> bool:
        # a selector, not select.select(): that refuses a descriptor numbered past 1,023,
        # and a process that has loaded a large index holds thousands (index.lexical)
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            return bool(selector.select(timeout))

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._kill()
        self._process, self._started = None, False

    def _kill(self) -> None:
        self._started = False
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self._process, self._started = None, False

    def check(self, path: str | Path) -> None:
        """IngestError when the file is over the size limit (before anything reads it).
        A .docx's inflated size is checked by parse(): opening every .docx's zip
        directory on each build cost 1 s per 2,000 unchanged files."""
        check_size(path, self.limits)

    def parse(self, path: str | Path, source_file: str | None = None, ocr: str = "auto"):
        """The ParsedReport of ``path``; IngestError with the reason when it is refused.
        A PDF that may be read by OCR gets OCR_TIME_FACTOR times the time limit (≈ 4 s a
        scanned page on 2 cores: a 40-page scan needs minutes, not a hung parser)."""
        from .parse import parse_report

        check_file(path, self.limits)
        if not self.limits.timeout:
            return parse_report(path, source_file=source_file, limits=self.limits, ocr=ocr)
        timeout = self.limits.timeout * (OCR_TIME_FACTOR if ocr != "off" and str(path).lower().endswith(".pdf")
                                         else 1)
        self._start()
        try:
            _send(self._process.stdin, (str(path), source_file, self.limits, ocr))
            if not self._ready(timeout):
                self._kill()
                raise IngestError(str(path), f"parsing took longer than {timeout:g} s "
                                             f"({ENV['timeout']}); stopped")
            kind, value = _recv(self._process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            self._kill()
            raise IngestError(str(path), "the parser stopped on this file (out of memory or crashed)")
        if kind == "reject":
            raise IngestError(str(path), value)
        return value
