"""Run DPDK processes from Python tests and always clean up after them.

Python 3 standard library only. A test owns one ``ProcessGroup``; everything it starts through
the group is stopped by PID, and its vhost-user sockets, hugepage files
(``/dev/hugepages/<prefix>map_*``) and EAL runtime directory (``/var/run/dpdk/<prefix>``) are
removed when the group closes, also when the test fails or raises::

    import dpdk_procs as dp

    with dp.ProcessGroup("mytest") as g:          # every prefix starts with "mytest-"
        a, b = g.socket("a"), g.socket("b")       # unique paths in the group's temp dir
        g.start_testpmd([a, b], lcores="0,1")     # reference switch: io forwarding, server
        guest = g.start_guest([f"path={a}", f"path={b}"], lcore=0)
        guest.wait_link(0, 10); guest.wait_link(1, 10)
        dp.wait_forwarding(guest, 0, guest, 1)     # the path really carries frames
        assert guest.send(0, count=1000)["sent"] == 1000
        st = guest.stats_settled(1, expect_rx=1000)

API
---
``ProcessGroup(name, tmpdir=None)``
    ``socket(label)``: a socket path in the group's temporary directory (removed on close).
    ``prefix(label)``: a unique EAL ``--file-prefix`` ``<name>-<label>-<pid>-<n>``.
    ``start_guest(ports, lcore=0, mem=128, extra=(), ready_timeout=30)`` -> ``Guest``.
    ``start_testpmd(sockets, lcores="0,1", client=False, mem=512, queues=1, extra=())``
    -> ``Testpmd``.
    ``start(argv, prefix, name)`` -> ``DpdkProcess`` for any other DPDK program (e.g. the
    switch); the group stops and cleans it like the others.
    ``run(argv, prefix, timeout)`` -> ``subprocess.CompletedProcess``: runs a DPDK program to
    completion (e.g. ``rtvswitch-probe``), killing it on timeout, then cleans its prefix.
    ``close()``: stops every process (SIGTERM, then SIGKILL after a grace period), removes
    sockets and hugepage files. Idempotent; ``with`` calls it.

``DpdkProcess``: ``pid``, ``prefix``, ``alive()``, ``stop(grace=5)`` -> exit code,
    ``stderr_text()`` (its stderr is kept in a log file for error messages).

``Guest`` (an ``rtvs-guest`` process; see tools/guest/README.md for the protocol)
    ``ports``: the ready line's port list (``index``, ``mac``, ``path``).
    ``cmd(line, timeout=30)`` -> the reply dict; raises ``GuestError`` if it is ``{"error"}``.
    ``try_cmd(line, timeout=30)`` -> the reply dict, errors included.
    ``send(port, count, **kw)``, ``sendraw(port, count, hex=None, random=None)``, ``stats()``,
    ``port_stats(port)``, ``clear()``, ``link(port)``, ``wait_link(port, timeout)``,
    ``detach(port)``, ``attach(port)``, ``quit()``.
    ``stats_settled(port, expect_rx=None, timeout=5)``: polls ``stats`` until the port's rx count
    reaches ``expect_rx`` (or stops changing for 0.3 s) and returns that port's stats.

``wait_forwarding(src, src_port, dst, dst_port, timeout=15, flow=0xFFFFFF00)``
    Sends one marked frame every 50 ms until the destination counts one, then clears the
    counters of both guests. A vhost-user link is "up" as soon as the socket is connected, but the
    switch may not forward yet; call this before counting frames exactly.

Counting exactly on a noisy host: a guest process can be descheduled for milliseconds while the
switch keeps delivering. Give the receiving port a larger ring than the sending one (e.g.
``path=A,queue_size=256`` and ``path=B,queue_size=1024``), so everything the sender can have in
flight fits, and send to a receiver in another process on the same CPU at a modest ``rate``.

``cleanup_prefix(prefix)``: removes the hugepage files and runtime directory of a prefix.
``find_binary(name)``: locates rtvs-guest or rtvswitch-probe under ``$RTVS_BUILD_DIR/tools/``
    (CTest sets ``RTVS_BUILD_DIR`` to the build directory).
"""

import ctypes
import glob
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time

HUGEPAGE_DIR = "/dev/hugepages"
RUNTIME_DIR = "/var/run/dpdk"
TESTPMD = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"


class GuestError(RuntimeError):
    """A guest answered {"error": ...} or did not answer in time."""


def cleanup_prefix(prefix):
    """Removes the hugepage files and EAL runtime directory left by a process with `prefix`."""
    if not prefix or "/" in prefix:
        raise ValueError(f"prefix: {prefix!r} is not a file prefix")
    for path in glob.glob(os.path.join(HUGEPAGE_DIR, glob.escape(prefix) + "map_*")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    shutil.rmtree(os.path.join(RUNTIME_DIR, prefix), ignore_errors=True)


def find_binary(name):
    """Path of a tool built in this tree: $RTVS_BUILD_DIR/tools/<dir>/<name>."""
    build = os.environ.get("RTVS_BUILD_DIR")
    if not build:
        raise GuestError(f"{name}: set RTVS_BUILD_DIR to the build directory")
    for path in glob.glob(os.path.join(build, "tools", "*", name)):
        if os.access(path, os.X_OK):
            return path
    raise GuestError(f"{name}: not found under {build}/tools (is it built?)")


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when the thread that started it ends, even by
    SIGKILL (a CTest timeout), so that no busy-polling DPDK process outlives its test."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class DpdkProcess:
    """One DPDK process started by a ProcessGroup. Lines of its stdout go to a queue."""

    def __init__(self, argv, prefix, name, log_dir, stdin=True, die_with_parent=False):
        self.prefix = prefix
        self.name = name
        self.argv = list(argv)
        self._log_path = os.path.join(log_dir, f"{prefix}.stderr")
        self._log = open(self._log_path, "wb")
        self._lines = queue.Queue()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,  # a Ctrl-C of the test runner does not hit it mid-command
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self._lines.put(raw.decode(errors="replace").rstrip("\n"))
        self._lines.put(None)  # EOF

    def alive(self):
        return self.proc.poll() is None

    def read_line(self, timeout):
        """The next stdout line, or None at EOF. Raises GuestError on timeout."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise GuestError(f"{self.name} (pid {self.pid}): no output in {timeout} s") from None

    def drain_output(self):
        """Every stdout line queued so far (without waiting), e.g. what a process printed
        on its way out after stop()."""
        lines = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return lines
            if line is not None:
                lines.append(line)

    def stderr_text(self, limit=4000):
        if not self._log.closed:
            self._log.flush()
        try:
            with open(self._log_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return ""
        return data[-limit:].decode(errors="replace")

    def stop(self, grace=5.0):
        """Closes stdin, sends SIGTERM, then SIGKILL after `grace` s; returns the exit code."""
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=min(grace, 1.0))
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(timeout=2)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode


class Guest(DpdkProcess):
    """An rtvs-guest process: one line command in, one JSON line out."""

    def __init__(self, argv, prefix, name, log_dir):
        super().__init__(argv, prefix, name, log_dir)
        self.ports = None

    def wait_ready(self, timeout):
        """Reads the ready line; raises GuestError with the guest's reason if it failed."""
        line = self._next_json(timeout)
        if not line.get("ready"):
            raise GuestError(f"{self.name}: not ready: {line.get('error', line)}")
        self.ports = line["ports"]

    def _next_json(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"{self.name} (pid {self.pid}): no reply in {timeout} s")
            line = self.read_line(left)
            if line is None:
                raise GuestError(
                    f"{self.name} (pid {self.pid}) exited ({self.proc.wait()}): "
                    f"{self.stderr_text().strip()[-800:]}"
                )
            if line.startswith("{"):
                return json.loads(line)

    def try_cmd(self, line, timeout=30):
        """Sends one command line; returns the reply dict (an error reply included)."""
        if "\n" in line:
            raise ValueError("one command per call")
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise GuestError(f"{self.name} (pid {self.pid}): cannot write: {e}") from None
        return self._next_json(timeout)

    def cmd(self, line, timeout=30):
        """Like try_cmd, but raises GuestError if the reply is an error."""
        reply = self.try_cmd(line, timeout)
        if "error" in reply:
            raise GuestError(f"{self.name}: {line!r}: {reply['error']}")
        return reply

    @staticmethod
    def _kv(kw):
        return "".join(f" {k}={v}" for k, v in kw.items() if v is not None)

    def send(self, port, count, timeout=60, **kw):
        """send PORT count=N [dst= src= size= rate= vlan= flow=] -> {"sent", "failed"}."""
        return self.cmd(f"send {port} count={count}{self._kv(kw)}", timeout)

    def sendraw(self, port, count, hex=None, random=None, timeout=60):
        return self.cmd(f"sendraw {port} count={count}{self._kv({'hex': hex, 'random': random})}",
                        timeout)

    def stats(self):
        return self.cmd("stats")["ports"]

    def port_stats(self, port):
        return self.stats()[port]

    def clear(self):
        return self.cmd("clear")

    def link(self, port):
        return self.cmd(f"link {port}")["link"]

    def wait_link(self, port, timeout):
        """Waits (the guest keeps polling) until the port's link is up; returns True if it is."""
        return self.cmd(f"wait-link {port} {timeout}", timeout + 30)["link"] == "up"

    def detach(self, port):
        return self.cmd(f"detach {port}")

    def attach(self, port):
        return self.cmd(f"attach {port}")

    def quit(self):
        reply = self.cmd("quit")
        self.proc.wait(timeout=10)
        return reply

    def stats_settled(self, port, expect_rx=None, timeout=5.0):
        """Polls until the port's rx reaches expect_rx (or, without it, stops changing for 0.3 s);
        returns that port's stats. Frames still in flight when a send returns are counted."""
        deadline = time.monotonic() + timeout
        last, last_change = None, time.monotonic()
        while True:
            st = self.port_stats(port)
            now = time.monotonic()
            if expect_rx is not None and st["rx"] >= expect_rx:
                time.sleep(0.05)  # duplicates would arrive right behind
                return self.port_stats(port)
            if st["rx"] != last:
                last, last_change = st["rx"], now
            elif expect_rx is None and now - last_change >= 0.3:
                return st
            if now >= deadline:
                return st
            time.sleep(0.02)


class Testpmd(DpdkProcess):
    """dpdk-testpmd io-forwarding between net_vhost ports: the reference switch."""


class ProcessGroup:
    """Owns processes, sockets and prefixes of one test; close() cleans up all of them."""

    _counter = itertools.count()

    def __init__(self, name, tmpdir=None):
        if not name or "/" in name:
            raise ValueError(f"name: {name!r} is not usable in a file prefix")
        self.name = name
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix=f"{name}-")
        self.procs = []
        self.sockets = []
        self.prefixes = []
        # start(): the process gets SIGTERM when the starting thread dies (PR_SET_PDEATHSIG).
        # Only for processes started from the main thread (the e2e tests' switch).
        self.die_with_parent = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def prefix(self, label):
        p = f"{self.name}-{label}-{os.getpid()}-{next(self._counter)}"
        self.prefixes.append(p)
        return p

    def socket(self, label):
        path = os.path.join(self.tmpdir, f"{label}.sock")
        self.sockets.append(path)
        return path

    def start(self, argv, prefix, name=None, stdin=True):
        """Starts any DPDK program whose EAL prefix is `prefix` (made with prefix())."""
        p = DpdkProcess(argv, prefix, name or os.path.basename(argv[0]), self.tmpdir, stdin,
                        self.die_with_parent)
        self.procs.append(p)
        return p

    def start_guest(self, ports, lcore=0, mem=128, extra=(), ready_timeout=30, binary=None):
        prefix = self.prefix("guest")
        argv = [binary or find_binary("rtvs-guest"), "--file-prefix", prefix,
                "--mem", str(mem), "--lcore", str(lcore)]
        for spec in ports:
            argv += ["--port", spec]
        argv += list(extra)
        g = Guest(argv, prefix, f"rtvs-guest[{prefix}]", self.tmpdir)
        self.procs.append(g)  # before waiting: a guest that fails to start is cleaned up too
        g.wait_ready(ready_timeout)
        return g

    def start_testpmd(self, sockets, lcores="0,1", client=False, mem=512, queues=1, extra=(),
                      ready_timeout=30):
        """net_vhost ports on `sockets` (server unless client=True) with `queues` queue pairs,
        io forwarding, started. In server mode, waits until every socket exists."""
        prefix = self.prefix("testpmd")
        argv = [TESTPMD, "-l", lcores, "--file-prefix", prefix, "--no-pci",
                "--single-file-segments", "-m", str(mem), "--no-telemetry"]
        for i, path in enumerate(sockets):
            argv += ["--vdev",
                     f"net_vhost{i},iface={path},client={1 if client else 0},queues={queues}"]
            if path not in self.sockets:
                self.sockets.append(path)
        argv += ["--", "--forward-mode=io", "--auto-start", "--nb-cores=1",
                 f"--rxq={queues}", f"--txq={queues}", "--stats-period=3600"] + list(extra)
        t = Testpmd(argv, prefix, f"testpmd[{prefix}]", self.tmpdir, stdin=False)
        self.procs.append(t)
        deadline = time.monotonic() + ready_timeout
        while not client and not all(os.path.exists(s) for s in sockets):
            if not t.alive() or time.monotonic() > deadline:
                raise GuestError(f"testpmd did not create its sockets: {t.stderr_text()[-800:]}")
            time.sleep(0.05)
        return t

    def run(self, argv, prefix, timeout):
        """Runs a DPDK program to completion; kills it (by PID) on timeout; cleans its prefix."""
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise GuestError(f"{argv[0]} timed out after {timeout} s: "
                             f"{err.decode(errors='replace')[-800:]}") from None
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            cleanup_prefix(prefix)
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"),
                                           err.decode(errors="replace"))

    def close(self):
        """Stops guests first (they are clients of the switch), then the rest, then cleans."""
        for p in sorted(self.procs, key=lambda p: not isinstance(p, Guest)):
            try:
                p.stop()
            except Exception:  # keep cleaning up the others
                pass
        self.procs = []
        for s in self.sockets:
            try:
                os.unlink(s)
            except FileNotFoundError:
                pass
        self.sockets = []
        for prefix in self.prefixes:
            cleanup_prefix(prefix)
        self.prefixes = []
        if self._own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def wait_forwarding(src, src_port, dst, dst_port, timeout=15.0, flow=0xFFFFFF00):
    """Sends a marked frame every 50 ms from src/src_port until dst/dst_port counts one; then
    clears both guests' counters. Raises GuestError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        src.send(src_port, count=1, flow=flow)
        time.sleep(0.05)
        if dst.port_stats(dst_port)["rx_by_flow"].get(str(flow), 0) > 0:
            break
        if time.monotonic() > deadline:
            raise GuestError(f"no frame from port {src_port} reached port {dst_port} "
                             f"in {timeout} s")
    time.sleep(0.1)  # let the remaining marked frames land before clearing
    src.clear()
    if dst is not src:
        dst.clear()
