"""The switch that end-to-end tests put between QEMU guests (Python 3 standard library only).

The guests' QEMU is the vhost-user socket server; the switch connects to their sockets as a
vhost-user client. Tests are written against ``SwitchUnderTest`` and pick the implementation
from the command line, so the same test runs against the reference and against rtvswitch::

    parser = argparse.ArgumentParser()
    switch_under_test.add_arguments(parser)
    args = parser.parse_args()
    with switch_under_test.create(args, "ping") as sw:
        sw.start({"a": a.sock, "b": b.sock})       # port name -> socket, in port order
        ...
        sw.port_stats("b")["tx_dropped"]

Implementations:
- ``testpmd``: dpdk-testpmd io forwarding between two net_vhost client ports (port 0 <-> 1),
  exactly what two guests need. Ports are fixed at start.
- ``rtvswitch`` (the default): the daemon, started by tests/lib/rtvswitch.py's ``Daemon`` with
  ``--port "NAME type=vhostuserclient path=SOCK"`` per port and ``--allowed-socket-dir`` for
  the directories of those sockets (``add_port`` paths must lie in one); ``rpc()``, ``ctl()``,
  ``add_port``/``del_port`` (vswitchctl), ``port_show``, ``mempool_in_use``, ``kill()`` (SIGKILL)
  and ``restart()`` (same arguments).

Each instance stops its process by PID and removes its hugepage files and EAL runtime
directory on stop(), on ``with`` exit and at interpreter exit.
"""

import abc
import atexit
import ctypes
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import dpdk_procs as dp
import rtvswitch as rs

RUNTIME_DIR = dp.RUNTIME_DIR
KINDS = ("testpmd", "rtvswitch")

_live = set()


@atexit.register
def _stop_all():
    for sw in list(_live):
        sw.stop()


def add_arguments(parser):
    """Adds --switch and the options its implementations need to an argparse parser."""
    parser.add_argument("--switch", choices=KINDS, default="rtvswitch",
                        help="switch under test (default rtvswitch; testpmd is the reference)")
    parser.add_argument("--build-dir", default=os.environ.get("RTVS_BUILD_DIR"),
                        help="build tree with switch/daemon/rtvswitch and control/vswitchctl")
    parser.add_argument("--switch-arg", action="append", default=[],
                        help="extra argument for the switch (repeatable; use --switch-arg=-x)")


def create(args, label):
    """The SwitchUnderTest chosen by parsed `args` (see add_arguments)."""
    if args.switch == "testpmd":
        return TestpmdSwitch(label, extra=args.switch_arg)
    if not args.build_dir:
        raise ValueError("--build-dir: needed for --switch rtvswitch (or set RTVS_BUILD_DIR)")
    return RtvswitchSwitch(label, args.build_dir, extra=args.switch_arg)


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when the test process dies, even by SIGKILL
    (a CTest timeout), so that no QEMU or DPDK process outlives its test."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def sweep_stale():
    """Removes what tests killed by SIGKILL left: EAL runtime dirs, hugepage files and work
    dirs of our prefixes (qemu-<kind>-<label>-<pid>) whose test process is gone."""
    # rtvswitch's EAL prefix has the ProcessGroup's "-sw-<pid>-<n>" after ours.
    prefix = r"qemu-(?:%s)-[A-Za-z0-9_-]+?-(\d+)(?:-sw-\d+-\d+)?" % "|".join(KINDS)
    for path in glob.glob(os.path.join(RUNTIME_DIR, "qemu-*")):
        m = re.fullmatch(prefix, os.path.basename(path))
        if m and not _pid_alive(int(m.group(1))):
            dp.cleanup_prefix(os.path.basename(path))
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "qemu-*")):
        m = re.fullmatch(prefix + r"-[^-]+", os.path.basename(path))  # mkdtemp adds -XXXXXXXX
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)


class SwitchError(RuntimeError):
    pass


class SwitchUnderTest(abc.ABC):
    """Base: one switch process with its own --file-prefix and log file."""

    kind = None

    def __init__(self, label):
        if not re.fullmatch(r"[A-Za-z0-9_-]+", label):
            raise ValueError(f"label: {label!r} must be letters, digits, _ -")
        sweep_stale()
        self.prefix = f"qemu-{self.kind}-{label}-{os.getpid()}"
        self.workdir = tempfile.mkdtemp(prefix=f"{self.prefix}-")
        self.log_path = os.path.join(self.workdir, "switch.log")
        self.proc = None
        self.ports = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _spawn(self, argv):
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        _live.add(self)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self, limit=200000):
        """The switch's output so far (its last `limit` characters; None: all)."""
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
                return text if limit is None else text[-limit:]
        except FileNotFoundError:
            return ""

    @abc.abstractmethod
    def start(self, ports, mtu=None):
        """Starts the switch with `ports` (dict name -> vhost-user socket path, in order);
        `mtu`: the largest IP MTU the ports must carry (None: the switch's default)."""

    @abc.abstractmethod
    def port_stats(self, name):
        """{"rx_packets", "rx_bytes", "tx_packets", "tx_dropped"} of a port, as the switch
        counts them."""

    def stop(self, grace=10.0):
        """Stops the switch by PID (SIGTERM, then SIGKILL) and removes its hugepage files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        dp.cleanup_prefix(self.prefix)
        _live.discard(self)
        if os.environ.get("RTVS_KEEP_LOGS") == "1":
            print(f"switch_under_test: log kept in {self.log_path}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return self.proc.returncode if self.proc else None


class TestpmdSwitch(SwitchUnderTest):
    kind = "testpmd"

    def __init__(self, label, extra=()):
        super().__init__(label)
        self.extra = list(extra)

    def start(self, ports, mtu=None):
        # testpmd io forwarding has no MTU check: net_vhost chains mbufs for jumbo frames.
        if len(ports) != 2:
            raise ValueError(f"ports: testpmd io forwarding needs exactly 2, got {len(ports)}")
        self.ports = dict(ports)
        if not os.access(dp.TESTPMD, os.X_OK):
            raise SwitchError("dpdk-testpmd not found (install the dpdk package)")
        argv = [dp.TESTPMD]
        for i, path in enumerate(self.ports.values()):
            argv += ["--vdev", f"net_vhost{i},iface={path},client=1"]
        # Main lcore 0 only prints stats; lcore 1 forwards. --no-pci: never touch host NICs.
        argv += ["--file-prefix", self.prefix, "--no-pci", "-l", "0,1", "-m", "512",
                 "--single-file-segments"] + self.extra
        # Without --stats-period a testpmd with stdin at /dev/null exits at once.
        argv += ["--", "--forward-mode=io", "--auto-start", "--stats-period=1"]
        self._spawn(argv)
        deadline = time.monotonic() + 30
        # testpmd flushes only its periodic statistics, printed once forwarding runs.
        while "NIC statistics for port" not in self.log(None):
            if not self.alive():
                raise SwitchError(f"testpmd exited ({self.proc.returncode}): {self.log(3000)}")
            if time.monotonic() > deadline:
                raise SwitchError(f"testpmd did not start forwarding in 30 s: {self.log(3000)}")
            time.sleep(0.1)

    def _nic_stats(self, index):
        block = None
        for m in re.finditer(r"NIC statistics for port (\d+)\s+#+\s+(.*?)#####",
                             self.log(None), re.S):
            if int(m.group(1)) == index:
                block = m.group(2)
        if block is None:
            raise SwitchError(f"port {index}: no testpmd statistics printed yet")

        def num(key):
            m = re.search(key + r":\s+(\d+)", block)
            return int(m.group(1)) if m else 0
        return {k: num(k) for k in ("RX-packets", "RX-bytes", "TX-packets")}

    def port_stats(self, name):
        """From the first periodic statistics printed after the call (every second)."""
        index = list(self.ports).index(name)
        printed = self.log(None).count("Port statistics ====")
        deadline = time.monotonic() + 5
        while self.log(None).count("Port statistics ====") <= printed:
            if not self.alive() or time.monotonic() > deadline:
                raise SwitchError(f"testpmd printed no statistics in 5 s: {self.log(1000)}")
            time.sleep(0.1)
        own, other = self._nic_stats(index), self._nic_stats(1 - index)
        # net_vhost does not count frames its guest's ring had no room for, but io forwarding
        # sends every frame received on the other port to this one: the difference is dropped.
        return {"rx_packets": own["RX-packets"], "rx_bytes": own["RX-bytes"],
                "tx_packets": own["TX-packets"],
                "tx_dropped": max(0, other["RX-packets"] - own["TX-packets"])}


class RtvswitchSwitch(SwitchUnderTest):
    """rtvswitch from the build tree, run by tests/lib/rtvswitch.py's Daemon (in a
    dpdk_procs.ProcessGroup that owns its PID, prefix and log)."""

    kind = "rtvswitch"

    def __init__(self, label, build_dir, extra=()):
        super().__init__(label)
        self.build_dir = os.path.abspath(build_dir)
        self.extra = list(extra)
        self.daemon = None
        self._group = None

    @property
    def pid(self):
        return self.daemon.pid if self.daemon else None

    @property
    def control(self):
        return self.daemon.control

    def alive(self):
        return self.daemon is not None and self.daemon.proc.alive()

    def log(self, limit=200000):
        if self.daemon is None:
            return ""
        text = self.daemon.log()
        return text if limit is None else text[-limit:]

    def start(self, ports, mtu=None):
        # rtvswitch.py and dpdk_procs.py find the binaries through RTVS_BUILD_DIR.
        os.environ["RTVS_BUILD_DIR"] = self.build_dir
        for b in (rs.daemon_binary(), rs.ctl_binary()):
            if not os.access(b, os.X_OK):
                raise SwitchError(f"--build-dir: {b} is not built")
        self.ports = dict(ports)
        self._group = dp.ProcessGroup(self.prefix, tmpdir=self.workdir)
        self._group.die_with_parent = True
        _live.add(self)
        specs = [f"{name} type=vhostuserclient path={path}" + (f" mtu={mtu}" if mtu else "")
                 for name, path in self.ports.items()]
        try:
            # The guests' sockets live in their own directories: allow those (the daemon
            # confines vhost-user socket paths to the directories it is given).
            self.daemon = rs.Daemon(self._group, ports=specs, args=self.extra,
                                    socket_dirs=self._socket_dirs())
        except RuntimeError as e:
            raise SwitchError(str(e)) from None

    def _socket_dirs(self):
        return sorted({os.path.dirname(os.path.abspath(p)) for p in self.ports.values()})

    def use_runtime_ports(self, state_file, external_ids=True):
        """Replaces the daemon by one with no ports on its command line and `state_file` as its
        state file, then adds the same ports at run time with vswitchctl (as an orchestrator
        does), each with external id iface-id=NAME."""
        old = self.daemon
        old.kill()
        dp.cleanup_prefix(old.prefix)
        try:
            self.daemon = rs.Daemon(self._group, args=self.extra, state_file=state_file,
                                    socket_dirs=self._socket_dirs())
        except RuntimeError as e:
            raise SwitchError(str(e)) from None
        for name, path in self.ports.items():
            ids = [f"external-ids:iface-id={name}"] if external_ids else []
            self.ctl("port", "add", name, "type=vhostuserclient", f"path={path}", *ids)

    def rpc(self, method, params=None, timeout=30.0):
        """One JSON-RPC request (docs/api.md); returns the result or raises SwitchError."""
        try:
            return self.daemon.rpc(method, params, timeout)
        except (rs.RpcError, RuntimeError, OSError) as e:
            raise SwitchError(f"{method}: {e}") from None

    def ctl(self, *args):
        """Runs vswitchctl against the daemon; returns its stdout, raises SwitchError."""
        try:
            return self.daemon.ctl(*args).stdout
        except RuntimeError as e:
            raise SwitchError(str(e)) from None

    def add_port(self, name, path):
        self.ctl("port", "add", name, "type=vhostuserclient", f"path={path}")
        self.ports[name] = path

    def del_port(self, name):
        self.ctl("port", "del", name)
        self.ports.pop(name, None)

    def port_show(self, name):
        return self.rpc("port.show", {"name": name})

    def mempool_in_use(self):
        return self.rpc("stats.show")["mempool"]["in_use"]

    def kill(self):
        """SIGKILL, as a crash would: no clean-up by the daemon itself."""
        self.daemon.kill()

    def restart(self):
        """Starts the daemon again with the same arguments; returns once it answers."""
        try:
            self.daemon.restart()
        except RuntimeError as e:
            raise SwitchError(str(e)) from None

    def port_stats(self, name):
        st = self.rpc("stats.show", {"port": name})["ports"][0]
        return {"rx_packets": st["rx_packets"], "rx_bytes": st["rx_bytes"],
                "tx_packets": st["tx_packets"], "tx_dropped": st["drops"]["tx_full"]}

    def stop(self, grace=10.0):
        """Stops the daemon by PID (the group's SIGTERM, then SIGKILL) and cleans its prefix."""
        code = None
        if self._group is not None:
            if self.daemon is not None and self.daemon.proc.alive():
                code = self.daemon.stop(grace)
            elif self.daemon is not None:
                code = self.daemon.proc.proc.returncode
            keep = os.environ.get("RTVS_KEEP_LOGS") == "1"
            if keep and self.daemon is not None:
                with open(self.log_path, "w") as f:
                    f.write(self.daemon.log())
            # The group removes its own temporary directory only if it made it.
            self._group.close()
            self._group = None
        super().stop(grace)
        return code
