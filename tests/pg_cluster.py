"""A throw-away PostgreSQL cluster for the tests and benchmarks (NIANBAO_FACTS_URL).

    with PostgresCluster() as url:   # postgresql://nianbao@127.0.0.1:<port>/postgres
        ...

Runs Debian's server binaries (``make postgres`` installs the ``postgresql`` package):
``initdb`` a cluster in a fresh temp dir, ``pg_ctl start`` it on a free loopback port
(no Unix socket outside that dir, trust authentication for the superuser ``nianbao``,
durability off: the cluster dies with the run), ``pg_ctl stop`` and remove the dir at the
end. As root (CI), the server runs as the ``postgres`` user the package creates: the
server refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "nianbao"


def server_bin() -> Path | None:
    """The folder of initdb/pg_ctl/postgres (the newest installed), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, settings: dict[str, str] | None = None):
        self.bin = server_bin()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL's server is not installed: `make postgres` installs Debian's package")
        self.settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                         "max_connections": "100", **(settings or {})}
        self.dir: Path | None = None
        self.url = ""

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        as_user = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        return subprocess.run([str(self.bin / args[0]), *args[1:]], check=True, capture_output=True, text=True,
                              cwd=self.dir, **as_user, **kwargs)

    def start(self) -> str:
        self.dir = Path(tempfile.mkdtemp(prefix="nianbao-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = self.dir / "data"
        try:
            self._run("initdb", "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8",
                      "--locale=C.UTF-8", "--no-sync")
            port = _free_port()
            options = " ".join([f"-p {port}", "-c listen_addresses=127.0.0.1",
                                f"-c unix_socket_directories={self.dir}"] +
                               [f"-c {k}={v}" for k, v in self.settings.items()])
            self._options = options
            self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "server.log"), "-o", options, "-w",
                      "-t", "60", "start")
        except subprocess.CalledProcessError as error:
            log = self.dir / "server.log"
            detail = (error.stderr or "") + (log.read_text(errors="replace")[-1000:] if log.exists() else "")
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {detail}") from error
        self.url = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        return self.url

    def restart(self) -> None:
        """Stop the server (dropping every connection) and start it again on the same port."""
        data = str(self.dir / "data")
        self._run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        self._run("pg_ctl", "-D", data, "-l", str(self.dir / "server.log"), "-o", self._options, "-w", "-t", "60",
                  "start")

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.dir / "data" / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
