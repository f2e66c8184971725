"""`make stack`: the production process model on this machine, from Debian's packages.

Every process is a line of the Procfile, run by honcho, as compose.yaml runs the same tiers on
a real host: PostgreSQL (a primary and a streaming replica), PgBouncer in transaction mode,
Redis, nginx, two gunicorns, two RQ workers, the relay and the scheduler. Before honcho starts,
this prepares what compose's volumes and `migrate` service would: the clusters under
instance/stack/ (initdb, then pg_basebackup for the replica), the migrated and seeded database
and the configuration files. The soak test (tests/stack/test_soak.py) builds the same stack in
a folder of its own and runs the services itself, to restart them as faults.

Plain HTTP and the simulated payment provider: APP_ENV=production needs TLS certificates and
Stripe keys this machine does not have (docs/operations.md, "Production settings").
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "communitylend"
SERVICES = ("postgres", "replica", "pgbouncer", "redis")  # the Procfile's lines for the data tier


@dataclass(frozen=True)
class Ports:
    nginx: int = 8080
    web1: int = 8001
    web2: int = 8002
    primary: int = 5433
    replica: int = 5434
    pgbouncer: int = 6432
    redis: int = 6380

    @classmethod
    def from_environment(cls) -> "Ports":
        """The ports a stack's processes were given (`WEB1_PORT`, `REDIS_PORT`, ...)."""
        given = {name: os.environ.get(f"{name.upper()}_PORT") for name in cls.__dataclass_fields__}
        return cls(**{name: int(port) for name, port in given.items() if port})


def _postgres_tool(name: str) -> str:
    """Debian keeps PostgreSQL's server programs out of PATH, one folder per major version."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major_version)
    return found[-1] if found else (shutil.which(name) or name)


def _major_version(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL and PgBouncer refuse to run as root: run them as Debian's postgres user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class Stack:
    folder: Path
    ports: Ports = field(default_factory=Ports)
    extra_environment: dict = field(default_factory=dict)

    @property
    def pg_folder(self) -> Path:  # owned by the postgres user when we are root
        return self.folder / "pg"

    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports.primary}/{DATABASE}"

    def environment(self) -> dict:
        """The environment every Procfile process runs with."""
        bin_folder = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": f"{bin_folder}:{os.environ.get('PATH', '')}",
            "APP_ENV": os.environ.get("APP_ENV", "development"),
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.ports.pgbouncer}/{DATABASE}",
            "DATABASE_REPLICA_URL": (
                f"postgresql://postgres@127.0.0.1:{self.ports.pgbouncer}/{DATABASE}_replica"
            ),
            "REDIS_URL": f"redis://127.0.0.1:{self.ports.redis}/0",
            "LOG_FORMAT": "json",
            "PROXY_COUNT": "1",
            "PUBLIC_URL": f"http://127.0.0.1:{self.ports.nginx}",
            "SEED_DEMO_BOOK": "false",
            **{
                f"{name.upper()}_PORT": str(getattr(self.ports, name))
                for name in Ports.__dataclass_fields__
            },  # fmt: skip
            "STACK_DIR": str(self.folder),
            **self.extra_environment,
        }

    # --- the services -------------------------------------------------------------------

    def start_services(self) -> None:
        self.pg_folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.pg_folder, "postgres", "postgres")
        self._start_primary()
        self._start_replica()
        self._start_pgbouncer()
        self.start_redis()

    def stop_services(self) -> None:
        for data in ("replica", "primary"):
            if (self.pg_folder / data / "postmaster.pid").exists():
                self._pg_ctl(data, "stop", "-m", "fast")
        self._signal_pidfile(self.pg_folder / "pgbouncer.pid")
        self.stop_redis()

    def restart_postgres(self) -> None:
        """The primary goes down and comes back (a fault the soak test injects)."""
        self._pg_ctl("primary", "restart", "-m", "fast")

    def start_redis(self) -> None:
        subprocess.run(  # noqa: S603 - our own arguments
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.ports.redis), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "yes",
             "--dir", str(self.folder), "--pidfile", str(self.folder / "redis.pid"),
             "--logfile", str(self.folder / "redis.log")],
            check=True,
        )  # fmt: skip
        _wait_for_port(self.ports.redis)

    def stop_redis(self) -> None:
        self._signal_pidfile(self.folder / "redis.pid")

    def _start_primary(self) -> None:
        data = self.pg_folder / "primary"
        if not (data / "PG_VERSION").exists():
            self._run_as_postgres([_postgres_tool("initdb"), "-D", str(data), "-U", "postgres",
                                   "-A", "trust", "-E", "UTF8", "--no-instructions"])  # fmt: skip
            settings = (
                f"listen_addresses = '127.0.0.1'\nport = {self.ports.primary}\n"
                f"unix_socket_directories = '{self.pg_folder}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                "max_connections = 200\nfsync = off\n"  # a machine of tests, not of records
            )
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(settings)
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write("host replication all 127.0.0.1/32 trust\n")
        self._ensure_running("primary")
        self._create_database()

    def _start_replica(self) -> None:
        data = self.pg_folder / "replica"
        if not (data / "standby.signal").exists():
            shutil.rmtree(data, ignore_errors=True)
            # -R writes standby.signal and primary_conninfo: a streaming replica.
            self._run_as_postgres([_postgres_tool("pg_basebackup"), "-h", "127.0.0.1",
                                   "-p", str(self.ports.primary), "-U", "postgres",
                                   "-D", str(data), "-R", "-X", "stream", "-c", "fast"])  # fmt: skip
            with (data / "postgresql.auto.conf").open("a") as conf:
                conf.write(f"port = {self.ports.replica}\n")
        self._ensure_running("replica")

    def _start_pgbouncer(self) -> None:
        ini = self.pg_folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{DATABASE} = host=127.0.0.1 port={self.ports.primary} dbname={DATABASE}\n"
            f"{DATABASE}_replica = host=127.0.0.1 port={self.ports.replica} dbname={DATABASE}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.ports.pgbouncer}\n"
            "unix_socket_dir =\nauth_type = trust\n"
            f"auth_file = {self.pg_folder / 'userlist.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = 40\n"
            # Check a server connection before lending it out: after PostgreSQL restarts,
            # pooled ones are dead, and each would fail one request before being dropped.
            "server_check_delay = 0\n"
            # After a failed login to PostgreSQL (it is restarting) try again within a second,
            # not the default 15 s during which every client is turned away.
            "server_login_retry = 1\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"pidfile = {self.pg_folder / 'pgbouncer.pid'}\n"
            f"logfile = {self.pg_folder / 'pgbouncer.log'}\n"
        )
        (self.pg_folder / "userlist.txt").write_text('"postgres" ""\n')
        self._signal_pidfile(self.pg_folder / "pgbouncer.pid")
        self._run_as_postgres(["pgbouncer", "-d", str(ini)])
        _wait_for_port(self.ports.pgbouncer)

    def _create_database(self) -> None:
        import psycopg2

        admin = f"postgresql://postgres@127.0.0.1:{self.ports.primary}/postgres"
        connection = psycopg2.connect(admin)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()

    def _ensure_running(self, data: str) -> None:
        """Start the cluster unless it is up (an earlier run that was killed left it so)."""
        status = subprocess.run(  # noqa: S603 - our own arguments
            _as_postgres([_postgres_tool("pg_ctl"), "-D", str(self.pg_folder / data), "status"]),
            capture_output=True, check=False,
        )  # fmt: skip
        if status.returncode != 0:
            self._pg_ctl(data, "start")

    def _pg_ctl(self, data: str, *action: str) -> None:
        self._run_as_postgres([_postgres_tool("pg_ctl"), "-D", str(self.pg_folder / data),
                               "-l", str(self.pg_folder / f"{data}.log"), "-w", *action])  # fmt: skip

    def _run_as_postgres(self, command: list[str]) -> None:
        subprocess.run(_as_postgres(command), check=True, stdout=subprocess.DEVNULL)  # noqa: S603

    @staticmethod
    def _signal_pidfile(pidfile: Path) -> None:
        """Stop the daemon whose pid the file holds, and wait until it has gone."""
        try:
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, 15)
        except (FileNotFoundError, ValueError, ProcessLookupError, IndexError):
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    # --- the services as the Procfile's processes -----------------------------------------

    def serve(self, name: str) -> None:
        """Become the service `name` in the foreground (a Procfile line; never returns)."""
        servers = {
            "postgres": [_postgres_tool("postgres"), "-D", str(self.pg_folder / "primary")],
            "replica": [_postgres_tool("postgres"), "-D", str(self.pg_folder / "replica")],
            "pgbouncer": [shutil.which("pgbouncer") or "pgbouncer",
                          str(self.pg_folder / "pgbouncer.ini")],
        }  # fmt: skip
        command = servers[name]
        if os.geteuid() == 0:  # they refuse to run as root; exec'd, not wrapped: signals reach them
            import pwd

            postgres = pwd.getpwnam("postgres")
            os.setgid(postgres.pw_gid)
            os.setuid(postgres.pw_uid)
        os.execv(command[0], command)  # noqa: S606 - our own server programs

    def wait_for_services(self, seconds: float = 60) -> None:
        """Block until the primary, PgBouncer and Redis accept connections (honcho starts
        every line at once; compose says the same with `depends_on`)."""
        for port in (self.ports.primary, self.ports.pgbouncer, self.ports.redis):
            _wait_for_port(port, seconds)

    # --- the application ----------------------------------------------------------------

    def prepare_database(self, *, seed: bool) -> None:
        """Migrations (straight to the primary: DDL does not go through the pooler), demo data."""
        environment = {**self.environment(), "DATABASE_URL": self.primary_url()}
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=environment, check=True)  # noqa: S603
        if seed:
            subprocess.run([*flask, "seed"], cwd=ROOT, env=environment, check=True)  # noqa: S603

    def write_nginx_config(self, *, tls: bool = False) -> Path:
        """deploy/nginx.conf with this machine's gunicorn ports, static folder and paths."""
        folder = self.folder / "nginx"
        folder.mkdir(parents=True, exist_ok=True)
        return write_nginx_config(folder, self.ports, tls=tls)


def write_nginx_config(folder: Path, ports: Ports, *, tls: bool = False) -> Path:
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("server web1:8000", f"server 127.0.0.1:{ports.web1}"),
        ("server web2:8000", f"server 127.0.0.1:{ports.web2}"),
        ("listen 80;", f"listen 127.0.0.1:{ports.nginx};"),
        ("/srv/communitylend/app/static/", f"{ROOT}/app/static/"),
        ("/tmp/nginx-communitylend.pid", str(folder / "nginx.pid")),  # noqa: S108 - replaced
        ("/tmp/nginx-", str(folder / "temp-")),  # noqa: S108 - replaced
        ("/etc/nginx/communitylend-tls*.conf", str(folder / "tls*.conf")),
    ):
        config = config.replace(old, new)
    if tls:
        tls_config = (ROOT / "deploy" / "tls.conf").read_text()
        (folder / "tls.conf").write_text(tls_config.replace("/etc/nginx/tls", str(folder)))
    path = folder / "nginx.conf"
    path.write_text(config)
    return path


def _wait_for_port(port: int, seconds: float = 20) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {seconds} s")


def main() -> None:
    # A Procfile line (serve, wait) finds its stack in the environment honcho passes on.
    stack = Stack(Path(os.environ.get("STACK_DIR", ROOT / "instance" / "stack")),
                  Ports.from_environment())  # fmt: skip
    if sys.argv[1:2] == ["serve"]:
        stack.serve(sys.argv[2])
    if sys.argv[1:2] == ["wait"]:
        stack.wait_for_services()
        return
    stack.folder.mkdir(parents=True, exist_ok=True)
    prepare(stack)
    print(f"\nCommunityLend's stack: http://127.0.0.1:{stack.ports.nginx} (nginx)\n", flush=True)
    # SIGTERM leaves through `finally` too, so honcho stops every process with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    command = [sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile")]
    # Its own session: Ctrl-C reaches us alone, and we stop honcho, which stops the rest.
    honcho = subprocess.Popen(  # noqa: S603 - our own arguments
        command, cwd=ROOT, env=stack.environment(), start_new_session=True
    )
    try:
        honcho.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if honcho.poll() is None:
            honcho.terminate()
            honcho.wait(timeout=60)


def prepare(stack: Stack) -> None:
    """What compose's volumes and `migrate` hold: the clusters, the replica's base backup, the
    migrated and seeded database, the configuration files. The services run only meanwhile."""
    stack.start_services()
    try:
        stack.prepare_database(seed=True)
        stack.write_nginx_config()
    finally:
        stack.stop_services()


if __name__ == "__main__":
    main()
