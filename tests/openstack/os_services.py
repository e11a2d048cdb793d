"""Real OpenStack services for the openstack system test, started and stopped by PID.

Debian 12's packages, no systemd: each daemon runs in the foreground as a child of the test in
its own session (process group), with its files in the test's work directory, and is stopped
with SIGTERM (then SIGKILL) to that group. Every child also gets SIGTERM when the test dies
(PR_SET_PDEATHSIG).

    Service(name, argv, workdir, env)  one process group; stop(), alive(), log_tail()
    start_rabbitmq(workdir, services)  epmd + rabbitmq-server on free 127.0.0.1 ports
    start_mariadb(workdir, services)   mariadbd on a unix socket, database 'neutron'
    NeutronServer(workdir, ...)        neutron-server, ML2 + rtvswitch, noauth, MariaDB
    start_libvirtd(workdir, services)  virtlogd + libvirtd (qemu:///system), unless the host has one
Processes are started from the main thread: PR_SET_PDEATHSIG follows the thread that forked.
    Agent(workdir, ...)                rtvswitch-agent
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE_DIR = os.path.join(REPO_ROOT, "integrations", "openstack")
SYSTEM_PYTHON = "/usr/bin/python3"
_PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    pass


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def free_port():
    """A free TCP port below the ephemeral range, so that no outgoing connection takes it."""
    for _ in range(200):
        port = 20000 + int.from_bytes(os.urandom(2), "little") % 12000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ServiceError("no free TCP port in 20000-31999")


def wait_tcp(port, timeout, service):
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            s.settimeout(1)
            try:
                s.connect(("127.0.0.1", port))
                return
            except OSError:
                pass
        if not service.alive():
            raise ServiceError(f"{service.name} exited: {service.log_tail()}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{service.name}: port {port} not open in {timeout} s: "
                               f"{service.log_tail()}")
        time.sleep(0.2)


class Service:
    def __init__(self, name, argv, workdir, env=None, cwd=None):
        self.name = name
        self.log = os.path.join(workdir, f"{name}.out")
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=full_env,
                                         cwd=cwd or workdir, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, limit=1500):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-limit:]
        except OSError:
            return ""

    def stop(self, grace=15.0):
        """SIGTERM to the service's process group, SIGKILL after `grace` s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # Workers of a forking server may outlive their parent for a moment.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait()
        return self.proc.returncode


def start_rabbitmq(workdir, services):
    """Starts epmd and rabbitmq-server on 127.0.0.1 only; returns the transport URL and a
    function that waits until AMQP listens."""
    home = os.path.join(workdir, "rabbitmq")
    os.makedirs(home, exist_ok=True)
    epmd_port, amqp_port, dist_port = free_port(), free_port(), free_port()
    with open(os.path.join(home, "enabled_plugins"), "w") as f:
        f.write("[].\n")
    with open(os.path.join(home, "rabbitmq.conf"), "w") as f:
        f.write("loopback_users = none\n")
    env = {"HOME": home, "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(epmd_port),
           "RABBITMQ_NODENAME": "rabbit@localhost", "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
           "RABBITMQ_NODE_PORT": str(amqp_port), "RABBITMQ_DIST_PORT": str(dist_port),
           "RABBITMQ_MNESIA_BASE": os.path.join(home, "mnesia"),
           "RABBITMQ_LOG_BASE": os.path.join(home, "log"),
           "RABBITMQ_PID_FILE": os.path.join(home, "rabbitmq.pid"),
           "RABBITMQ_CONFIG_FILE": os.path.join(home, "rabbitmq"),
           "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(home, "advanced.config"),
           "RABBITMQ_CONF_ENV_FILE": os.path.join(home, "rabbitmq-env.conf"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(home, "enabled_plugins"),
           "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
               "-kernel inet_dist_use_interface {127,0,0,1}"}
    # Our own epmd in the foreground: rabbit's would daemonize and outlive the test.
    epmd = Service("epmd", ["epmd", "-address", "127.0.0.1", "-port", str(epmd_port)],
                   workdir, env)
    services.append(epmd)
    rabbit = Service("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server"], workdir, env)
    services.append(rabbit)
    return (f"rabbit://guest:guest@127.0.0.1:{amqp_port}/",
            lambda: wait_tcp(amqp_port, 120, rabbit))


def start_mariadb(workdir, services):
    """Starts a MariaDB server of its own (unix socket only, data in the work directory);
    returns the SQLAlchemy URL of database 'neutron' and a function that waits until it
    exists."""
    d = os.path.join(workdir, "mariadb")
    os.makedirs(d)
    data, sock = os.path.join(d, "data"), os.path.join(d, "mysql.sock")
    r = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                        "--auth-root-authentication-method=normal", "--skip-test-db",
                        "--user=root"], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise ServiceError(f"mariadb-install-db failed: {r.stdout[-800:]}{r.stderr[-800:]}")
    # A throw-away database: no fsync, no binary log.
    db = Service("mariadb", ["mariadbd", "--no-defaults", f"--datadir={data}",
                             f"--socket={sock}", "--skip-networking", "--user=root",
                             f"--pid-file={d}/mariadb.pid", f"--log-error={d}/error.log",
                             "--innodb-buffer-pool-size=64M", "--innodb-doublewrite=0",
                             "--innodb-flush-log-at-trx-commit=0",
                             "--innodb-flush-method=nosync", "--skip-log-bin"], workdir)
    services.append(db)

    def wait():
        deadline = time.monotonic() + 120
        while subprocess.run(["mariadb", "--no-defaults", f"--socket={sock}", "-uroot", "-e",
                              "CREATE DATABASE IF NOT EXISTS neutron"],
                             capture_output=True, timeout=60).returncode != 0:
            if not db.alive():
                raise ServiceError(f"mariadbd exited: {db.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceError("mariadbd not answering in 120 s")
            time.sleep(0.3)
    return f"mysql+pymysql://root@localhost/neutron?unix_socket={sock}", wait


def host_libvirtd_running():
    """True if the host already runs libvirtd (e.g. socket-activated by systemd)."""
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect("/run/libvirt/libvirt-sock")
            return True
        except OSError:
            return False


def start_libvirtd(workdir, services):
    """Starts virtlogd and libvirtd in the foreground and returns a function that waits until
    libvirtd answers; returns None (and starts nothing) if the host runs its own libvirtd."""
    if host_libvirtd_running():
        return None
    services.append(Service("virtlogd", ["/usr/sbin/virtlogd"], workdir))
    libvirtd = Service("libvirtd", ["/usr/sbin/libvirtd"], workdir)
    services.append(libvirtd)

    def wait():
        deadline = time.monotonic() + 120
        while subprocess.run(["virsh", "-c", "qemu:///system", "version"],
                             capture_output=True, timeout=60).returncode != 0:
            if not libvirtd.alive():
                raise ServiceError(f"libvirtd exited: {libvirtd.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceError(f"libvirtd not answering in 120 s: {libvirtd.log_tail()}")
            time.sleep(0.3)
    return wait


def package_env(workdir):
    """PYTHONPATH that makes networking-rtvswitch importable and its entry points visible
    (egg-info in the work directory), as an installed package would be."""
    egg_base = os.path.join(workdir, "egg")
    os.makedirs(egg_base, exist_ok=True)
    r = subprocess.run([SYSTEM_PYTHON, "setup.py", "-q", "egg_info", "--egg-base", egg_base],
                       cwd=PACKAGE_DIR, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if r.returncode != 0:
        raise ServiceError(f"setup.py egg_info failed: {r.stderr[-1500:]}")
    # setuptools leaves build files next to setup.py otherwise; none are written with -q here.
    return {"PYTHONPATH": f"{egg_base}:{PACKAGE_DIR}", "PYTHONDONTWRITEBYTECODE": "1"}


class NeutronServer:
    """Writes the configuration, migrates the database and starts neutron-server; wait()
    returns once the API answers (it retries RabbitMQ by itself)."""

    def __init__(self, workdir, transport_url, db_url, services, pkg_env, physnet,
                 vlan_range):
        self.dir = os.path.join(workdir, "neutron")
        os.makedirs(os.path.join(self.dir, "lock"), exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.conf = os.path.join(self.dir, "neutron.conf")
        self.log_file = os.path.join(self.dir, "server.log")
        with open(self.conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                [DEFAULT]
                core_plugin = ml2
                service_plugins =
                auth_strategy = noauth
                bind_host = 127.0.0.1
                bind_port = {self.port}
                api_workers = 1
                rpc_workers = 1
                rpc_state_report_workers = 0
                graceful_shutdown_timeout = 5
                transport_url = {transport_url}
                state_path = {self.dir}
                notify_nova_on_port_status_changes = false
                notify_nova_on_port_data_changes = false
                agent_down_time = 30
                debug = true
                log_file = {self.log_file}
                [database]
                connection = {db_url}
                [oslo_concurrency]
                lock_path = {self.dir}/lock
                [ml2]
                type_drivers = flat,vlan
                tenant_network_types =
                mechanism_drivers = rtvswitch
                extension_drivers = port_security
                [ml2_type_flat]
                flat_networks = *
                [ml2_type_vlan]
                network_vlan_ranges = {physnet}:{vlan_range}
                [securitygroup]
                firewall_driver = noop
                """))
        env = dict(pkg_env, XDG_CACHE_HOME=os.path.join(self.dir, "cache"))
        # Neutron's own migrations (sqlite cannot run them, nor serve concurrent writers).
        r = subprocess.run(["neutron-db-manage", "--config-file", self.conf, "upgrade", "heads"],
                           capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, **env), cwd=self.dir)
        if r.returncode != 0:
            raise ServiceError(f"neutron-db-manage upgrade heads failed: {r.stderr[-1500:]}")
        self.service = Service("neutron-server", [SYSTEM_PYTHON, "/usr/bin/neutron-server",
                                                  "--config-file", self.conf],
                               workdir, env)
        services.append(self.service)

    def wait(self):
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(self.url + "v2.0/networks", timeout=5).read()
                return
            except OSError:
                pass
            if not self.service.alive():
                raise ServiceError(f"neutron-server exited: {self.service.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceError("neutron-server not serving in 180 s")
            time.sleep(0.3)


class Agent:
    """rtvswitch-agent; start() again after stop() restarts it with the same configuration."""

    def __init__(self, workdir, transport_url, services, pkg_env, host, control_socket,
                 socket_dir, bridge_mappings):
        self.workdir = workdir
        self.services = services
        self.env = pkg_env
        self.conf = os.path.join(workdir, "rtvswitch_agent.ini")
        self.log_file = os.path.join(workdir, "rtvswitch-agent.log")
        with open(self.conf, "w") as f:
            f.write(textwrap.dedent(f"""\
                [DEFAULT]
                host = {host}
                transport_url = {transport_url}
                debug = true
                log_file = {self.log_file}
                [agent]
                polling_interval = 1
                report_interval = 5
                [securitygroup]
                firewall_driver = noop
                [rtvswitch]
                control_socket = {control_socket}
                socket_dir = {socket_dir}
                bridge_mappings = {bridge_mappings}
                """))
        self.service = None

    def start(self):
        self.service = Service("rtvswitch-agent",
                               [SYSTEM_PYTHON, "-m",
                                "networking_rtvswitch.cmd.eventlet.rtvswitch_agent",
                                "--config-file", self.conf], self.workdir, self.env)
        self.services.append(self.service)

    def stop(self):
        rc = self.service.stop()
        self.services.remove(self.service)
        return rc

    def log_tail(self, limit=3000):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()[-limit:]
        except OSError:
            return ""


def stop_all(services):
    for s in reversed(services):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            print(f"stopping {s.name}: {e}", file=sys.stderr)
    services.clear()
