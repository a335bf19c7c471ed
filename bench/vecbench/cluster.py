"""Scratch Postgres cluster with fixed, documented settings.

The cluster runs as the `postgres` OS user (Postgres refuses root): when this
tool runs as root, server commands go through `runuser -u postgres --`.
Its data directory is <workdir>/pgdata, its unix socket lives in /tmp and it
listens on no TCP address. An existing cluster is reused when its settings
match; otherwise the settings file is rewritten and the server restarted."""
import os
import pwd
import shutil
import socket
import subprocess
import time

# Fixed settings (documented in bench/README.md). Sized so that table + index
# of the `full` datasets stay in shared buffers; queries run single-threaded
# (no parallel query) to compare with the single-threaded references.
DEFAULT_SETTINGS = {
    "shared_buffers": "4GB",
    "maintenance_work_mem": "2GB",
    "work_mem": "64MB",
    "max_parallel_maintenance_workers": "0",
    "max_parallel_workers_per_gather": "0",
    "max_worker_processes": "8",
    "max_parallel_workers": "8",
    "jit": "off",
    "synchronous_commit": "off",
    "fsync": "on",
    "full_page_writes": "on",
    "wal_level": "replica",
    "max_wal_size": "20GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
    "random_page_cost": "1.1",
    "effective_cache_size": "8GB",
    "huge_pages": "try",
    "max_connections": "30",
    "listen_addresses": "''",
    "logging_collector": "off",
}

CONF_NAME = "vecdb_bench.conf"


def _run(cmd, check=True, capture=False, env=None):
    res = subprocess.run(cmd, check=False, text=True, env=env,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.STDOUT if capture else None)
    if check and res.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (res.returncode, " ".join(cmd), res.stdout or ""))
    return res


def pg_config_value(pg_config, flag):
    return subprocess.run([pg_config, flag], check=True, text=True, stdout=subprocess.PIPE).stdout.strip()


def install_extension(repo, pg_config, jobs=2, log=print):
    """`make -jN && make install` of the working tree into pg_config's install."""
    log("building and installing vecdb into %s" % pg_config_value(pg_config, "--pkglibdir"))
    t = time.time()
    for target in (["make", "-j%d" % jobs], ["make", "install"]):
        res = subprocess.run(target + ["PG_CONFIG=" + pg_config], cwd=repo, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if res.returncode != 0:
            raise RuntimeError("%s failed:\n%s" % (" ".join(target), res.stdout[-4000:]))
    log("  done in %.1f s" % (time.time() - t))


def free_port(socket_dir):
    """A TCP port nothing listens on, with no Unix socket of that number in socket_dir (--port 0)."""
    import socket
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not os.path.exists(os.path.join(socket_dir, ".s.PGSQL.%d" % port)):
            return port
    raise RuntimeError("no free port found")


class Cluster:
    def __init__(self, pg_config, workdir, port, settings=None, socket_dir="/tmp", log=print):
        self.bindir = pg_config_value(pg_config, "--bindir")
        self.workdir = os.path.abspath(workdir)
        self.datadir = os.path.join(self.workdir, "pgdata")
        self.logfile = os.path.join(self.workdir, "postgres.log")
        self.socket_dir = socket_dir
        self.port = int(port) or free_port(socket_dir)
        self.settings = dict(DEFAULT_SETTINGS)
        self.settings.update(settings or {})
        self.settings["port"] = str(self.port)
        self.settings["unix_socket_directories"] = "'%s'" % socket_dir
        self.log = log
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name

    # -- helpers
    def _server_cmd(self, args):
        cmd = [os.path.join(self.bindir, args[0])] + list(args[1:])
        return (["runuser", "-u", "postgres", "--"] + cmd) if self.as_root else cmd

    def conninfo(self, dbname="postgres"):
        return "host=%s port=%d user=%s dbname=%s" % (self.socket_dir, self.port, self.user, dbname)

    def conf_text(self):
        lines = ["# written by bench/run.py; edits are overwritten"]
        for k in sorted(self.settings):
            v = self.settings[k]
            if not (v.startswith("'") or v.replace(".", "").isdigit() or k in ("port",)):
                v = "'%s'" % v
            lines.append("%s = %s" % (k, v))
        return "\n".join(lines) + "\n"

    def running(self):
        res = _run(self._server_cmd(["pg_ctl", "status", "-D", self.datadir]), check=False, capture=True)
        return res.returncode == 0

    def _socket_taken(self):
        return os.path.exists(os.path.join(self.socket_dir, ".s.PGSQL.%d" % self.port))

    # -- lifecycle
    def ensure(self, fresh=False):
        """Start (or reuse) the cluster; returns 'reused', 'restarted' or 'started'."""
        if fresh and os.path.isdir(self.datadir):
            if self.running():
                self.stop()
            shutil.rmtree(self.datadir)
        os.makedirs(self.workdir, exist_ok=True)
        if self.as_root:
            shutil.chown(self.workdir, "postgres", "postgres")
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            if self._socket_taken():
                raise RuntimeError("port %d is in use by another server (socket %s); choose --port"
                                   % (self.port, self.socket_dir))
            self.log("initdb %s" % self.datadir)
            _run(self._server_cmd(["initdb", "-D", self.datadir, "-A", "trust", "-E", "UTF8",
                                   "--locale=C", "-U", self.user]), capture=True)
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("\ninclude_if_exists '%s'\n" % CONF_NAME)
        conf_path = os.path.join(self.datadir, CONF_NAME)
        want = self.conf_text()
        have = open(conf_path).read() if os.path.exists(conf_path) else None
        state = "reused"
        if have != want:
            with open(conf_path, "w") as f:
                f.write(want)
            if self.as_root:
                shutil.chown(conf_path, "postgres", "postgres")
            if self.running():
                self.log("settings changed: restarting the cluster")
                self.stop()
                state = "restarted"
        if not self.running():
            if self._socket_taken():
                raise RuntimeError("port %d is in use by another server; choose --port" % self.port)
            self.log("starting cluster on port %d (log %s)" % (self.port, self.logfile))
            _run(self._server_cmd(["pg_ctl", "start", "-w", "-t", "120", "-D", self.datadir,
                                   "-l", self.logfile]), capture=True)
            state = "started" if state == "reused" else state
        return state

    def stop(self):
        _run(self._server_cmd(["pg_ctl", "stop", "-m", "fast", "-w", "-D", self.datadir]), check=False, capture=True)

    def pgbench(self):
        return os.path.join(self.bindir, "pgbench")
