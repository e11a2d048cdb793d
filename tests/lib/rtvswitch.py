"""Start the real rtvswitch daemon from Python tests, talk JSON-RPC to it, run vswitchctl.

Python 3 standard library only; builds on dpdk_procs (the daemon is one more process of a
ProcessGroup, stopped by PID and cleaned up with the group)::

    import dpdk_procs as dp, rtvswitch as rs
    with dp.ProcessGroup("it-fwd") as g:
        sw = rs.Daemon(g, ports=["a type=vhostuser"])
        sw.rpc("port.list")
        sw.ctl("port", "list", "--json")          # runs vswitchctl against this daemon

``Daemon(group, ports=(), args=(), pmd_cores="1", housekeeping="0", memory_mb=256, mbufs=8192,
socket_dirs=(), state_file=None, control=None, socket_dir=None)``
    Starts ``rtvswitch`` with a control socket and a vhost socket directory (by default in the
    group's temporary directory) and waits until the control socket answers. ``ports`` are
    ``--port`` values ("NAME key=value ..."). vhost-user socket paths must lie in the socket
    directory or in one of ``socket_dirs`` (``--allowed-socket-dir``; the daemon refuses others).
    Without ``state_file`` the daemon keeps no state (``--no-state``); with it, run-time ports are
    saved there and come back at ``restart()``.
    ``rpc(method, params=None)`` -> result; raises ``RpcError`` (with ``.code``) on an error reply.
    ``ctl(*args, check=True)`` -> ``subprocess.CompletedProcess`` of vswitchctl.
    ``stop(grace=10)`` (SIGTERM, returns the exit code), ``kill()`` (SIGKILL), ``restart()``
    (starts it again with the same arguments), ``log()`` (its stderr so far),
    ``mempool_in_use()``, ``port_stats(name)``, ``wait_link(name, timeout)``.
"""

import json
import os
import signal
import socket
import subprocess
import time

import dpdk_procs as dp


class RpcError(RuntimeError):
    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


def build_dir():
    d = os.environ.get("RTVS_BUILD_DIR")
    if not d:
        raise RuntimeError("set RTVS_BUILD_DIR to the build directory")
    return d


def daemon_binary():
    return os.path.join(build_dir(), "switch", "daemon", "rtvswitch")


def ctl_binary():
    return os.path.join(build_dir(), "control", "vswitchctl")


def call(sock_path, method, params=None, timeout=30.0, req_id=1):
    """One JSON-RPC request on a fresh connection; returns the result or raises RpcError."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while True:
            # With a timeout the socket is non-blocking inside: a full listen backlog is EAGAIN
            # at once, where a blocking client (vswitchctl) would wait. Wait like it.
            try:
                s.connect(sock_path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        req = {"jsonrpc": "2.0", "id": req_id, "method": method}
        if params is not None:
            req["params"] = params
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                raise RuntimeError(f"{method}: connection closed without a reply")
            buf += chunk
    finally:
        s.close()
    reply = json.loads(buf)
    if "error" in reply:
        raise RpcError(reply["error"]["code"], reply["error"]["message"])
    return reply["result"]


class Daemon:
    def __init__(self, group, ports=(), args=(), pmd_cores="1", housekeeping="0",
                 memory_mb=256, ready_timeout=60, mbufs=8192, socket_dirs=(), state_file=None,
                 control=None, socket_dir=None, wrapper=()):
        self.group = group
        self.control = control or os.path.join(group.tmpdir, "rtvswitch.ctl")
        self.socket_dir = socket_dir or group.tmpdir
        self.prefix = group.prefix("sw")
        # `wrapper`: a command the daemon runs under (e.g. setpriv dropping a capability).
        self.argv = list(wrapper) + [
            daemon_binary(), "--pmd-cores", pmd_cores, "--housekeeping-cores", housekeeping,
            "--control-socket", self.control, "--socket-dir", self.socket_dir, "--file-prefix",
            self.prefix, "--memory-mb", str(memory_mb), "--mbufs", str(mbufs), "--no-mlockall"]
        for d in socket_dirs:
            self.argv += ["--allowed-socket-dir", d]
        self.state_file = state_file
        self.argv += ["--state-file", state_file] if state_file else ["--no-state"]
        for p in ports:
            self.argv += ["--port", p]
        self.argv += list(args)
        self.ready_timeout = ready_timeout
        self._start()

    def _start(self):
        self.proc = self.group.start(self.argv, self.prefix, "rtvswitch", stdin=False)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if not self.proc.alive():
                raise RuntimeError(f"rtvswitch exited with {self.proc.proc.returncode}: "
                                   f"{self.log()[-2000:]}")
            try:
                call(self.control, "version", timeout=2)
                return
            except (OSError, RuntimeError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"rtvswitch not ready in {self.ready_timeout} s: "
                                       f"{self.log()[-2000:]}")
                time.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        return self.proc.stderr_text(limit=200000)

    def rpc(self, method, params=None, timeout=30.0):
        return call(self.control, method, params, timeout)

    def ctl(self, *args, check=True, timeout=30):
        r = subprocess.run([ctl_binary(), "--socket", self.control] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"vswitchctl {' '.join(map(str, args))} failed "
                               f"({r.returncode}): {r.stderr.strip()}")
        return r

    def stop(self, grace=10.0):
        return self.proc.stop(grace=grace)

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.proc.wait()

    def restart(self):
        self._start()

    def port_stats(self, name):
        return self.rpc("stats.show", {"port": name})["ports"][0]

    def mempool_in_use(self):
        return self.rpc("stats.show")["mempool"]["in_use"]

    def wait_link(self, name, timeout=20.0, up=True):
        deadline = time.monotonic() + timeout
        want = "up" if up else "down"
        while True:
            if self.port_stats(name)["link"] == want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {name}: link not {want} in {timeout} s")
            time.sleep(0.05)

    def wait_settled(self, timeout=5.0):
        """Waits until no port's rx/tx counters move for 0.3 s (in-flight frames landed)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            cur = [(p["rx_packets"], p["tx_packets"]) for p in self.rpc("stats.show")["ports"]]
            if cur == last:
                return
            last = cur
            time.sleep(0.3)
