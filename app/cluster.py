"""Private PostgreSQL + PostGIS cluster for `make run` and `make test`.

Stdlib only: it runs before anything else is imported. When DATABASE_URL is set the cluster
is not touched. Otherwise a cluster lives in `.data/pg`, owned by the `postgres` OS user when
we are root (initdb and postgres refuse to run as root), listening on 127.0.0.1 at a free port
recorded in `.data/pg.port`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PGDATA = DATA / "pg"
PORT_FILE = DATA / "pg.port"
URL_FILE = DATA / "database_url"
DEFAULT_DB = "distritos"


def _pg_bin(name: str) -> str:
    for version in ("17", "16", "15"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        sys.exit(f"No se encontró {name}: instale PostgreSQL (make system-deps).")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    """Prefix a command so it runs as the postgres OS user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _running() -> bool:
    if not (PGDATA / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(PGDATA), "status"]),
        capture_output=True,
    )
    return result.returncode == 0


def server_url(database: str = "postgres") -> str:
    """URL of the private cluster for one database."""
    port = int(PORT_FILE.read_text().strip())
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def start() -> str:
    """Initialise (first time) and start the private cluster; return the server URL."""
    DATA.mkdir(exist_ok=True)
    if not (PGDATA / "PG_VERSION").exists():
        PGDATA.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(PGDATA, "postgres", "postgres")
        PGDATA.chmod(0o700)
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(PGDATA),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if _running():
        return server_url()
    port = int(PORT_FILE.read_text()) if PORT_FILE.exists() else 0
    if not port or _port_in_use(port):
        port = _free_port()
    PORT_FILE.write_text(str(port))
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp "
        "-c max_connections=200 -c shared_buffers=512MB -c fsync=on"
    )
    subprocess.run(
        _as_postgres(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(PGDATA),
                "-o",
                options,
                "-l",
                str(PGDATA / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return server_url()


def stop() -> None:
    """Stop the private cluster if it runs."""
    if _running():
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(PGDATA), "-m", "fast", "stop"]),
            check=True,
        )


def _psql(url: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql], capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(result.stderr.strip())
    return result.stdout.strip()


def ensure_database(name: str = DEFAULT_DB) -> str:
    """Make sure the database exists with PostGIS; return its URL and remember it."""
    if os.environ.get("DATABASE_URL"):
        url = os.environ["DATABASE_URL"]
        _psql(url, "CREATE EXTENSION IF NOT EXISTS postgis")
        return url
    admin = start()
    for _ in range(50):
        if _port_in_use(int(PORT_FILE.read_text())):
            break
        time.sleep(0.1)
    if not _psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        _psql(admin, f'CREATE DATABASE "{name}"')
    url = server_url(name)
    _psql(url, "CREATE EXTENSION IF NOT EXISTS postgis")
    if name == DEFAULT_DB:
        URL_FILE.write_text(url)
    return url


def database_url() -> str | None:
    """The URL the service and CLI use: DATABASE_URL, else the one `make run` recorded."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if URL_FILE.exists():
        return URL_FILE.read_text().strip()
    return None


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "ensure"
    if command == "ensure":
        print(ensure_database(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_DB))
    elif command == "start":
        print(start())
    elif command == "stop":
        stop()
    else:
        sys.exit(f"orden desconocida: {command}")
