"""Real QEMU test guests for end-to-end tests (Python 3 standard library only).

The guest image is built by scripts/guest-image.sh and started by scripts/qemu-guest.sh; each
guest prints one line per event on its serial console, ``RTVS-<KIND> <json>`` with KIND one of
BOOT (reached /init), NET (eth0 up), RESULT (a test finished: ``{"test": NAME, ...}``),
REPLY (one ping reply of the ``ping-stream`` test: ``{"seq": N, "ms": RTT}``), ERROR (bad
parameter or watchdog) and DONE (all tests finished, powering off)::

    import qemu_guests as qg

    with qg.Guests("ping") as guests:              # temp dir for sockets and logs
        a = guests.start("a", ip="10.0.0.1/24", peer="10.0.0.2", test="ping",
                         params={"count": 100, "interval": 0.05})
        b = guests.start("b", ip="10.0.0.2/24", test="idle")
        ...  # start a switch on a.sock and b.sock
        res = a.wait_result("ping", timeout=120)
        print(qg.percentile(res["rtt_ms"], 99))

API: ``Guests(label, image_dir=None)``: ``start(name, ip, test, peer, mac, duration, mtu, mem,
params, cpu, sock, host_sock, wrapper)`` -> ``Guest`` (``sock``: the socket path QEMU is given
instead of ``sock_path(name)``; ``wrapper``: a command QEMU's launcher runs under, e.g. one that
sets up a mount namespace, in which case ``host_sock`` is where the socket appears outside),
``restart(name)`` -> ``Guest`` (a reboot: QEMU killed and started again with the same arguments
on the same socket), ``sock_path(name)``, ``close()``. ``Guest``:
``pid``, ``sock``, ``log`` (console), ``accel``, ``events`` (``Event``: kind, data, seen),
``alive()``, ``died()`` (why it died: kernel panic, emulation failure, QEMU crash or exit, or
None), ``wait_event(kind, test, timeout, after)`` (fails at once when this guest or another of
its set dies), ``wait_result(test, timeout)`` -> dict, ``kill()``, ``stop()``.
The accelerator is the launcher's choice (``RTVS_QEMU_ACCEL=kvm|tcg`` overrides its probe).
``build_image(image_dir)``, ``percentile(values, p)``.

QEMU 7.2 waits for the switch to connect to its vhost-user socket before it starts the guest, so
a guest boots only once a switch is running on its socket.

Every guest is stopped by PID and its socket and logs are removed when the ``Guests`` closes,
also when the test raises, and at interpreter exit as a last resort. Set RTVS_KEEP_LOGS=1 to
keep the logs (their directory is printed).
"""

import atexit
import ctypes
import glob
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_IMAGE_SH = os.path.join(REPO_ROOT, "scripts", "guest-image.sh")
QEMU_GUEST_SH = os.path.join(REPO_ROOT, "scripts", "qemu-guest.sh")
EVENT_RE = re.compile(r"RTVS-(BOOT|NET|RESULT|REPLY|ERROR|DONE) (\{.*\})\s*$")
POLL_S = 0.02
# A guest that hits one of these is dead even if its QEMU lives on (KVM stops the vCPU on an
# emulation failure and QEMU waits forever): the test ends at once, not at its timeout.
FATAL_CONSOLE_RE = re.compile(r"Kernel panic - not syncing[^\n]*")
FATAL_QEMU_RE = re.compile(r"KVM internal error[^\n]*|[^\n]*emulation failure[^\n]*|"
                           r"[^\n]*(?:Segmentation fault|core dumped|Assertion [^\n]* failed)[^\n]*")


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when the test process dies, even by SIGKILL
    (a CTest timeout), so that no QEMU or DPDK process outlives its test."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class GuestError(RuntimeError):
    pass


def default_image_dir():
    return os.environ.get("RTVS_GUEST_IMAGE_DIR", os.path.join(REPO_ROOT, "build", "guest"))


_images = {}


def build_image(image_dir=None):
    """Builds (or reuses) the guest image, once per process; returns (vmlinux, initramfs)."""
    image_dir = image_dir or default_image_dir()
    if image_dir not in _images:
        r = subprocess.run([GUEST_IMAGE_SH, "--out", image_dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise GuestError(f"guest-image.sh failed: {r.stderr.strip()}")
        _images[image_dir] = tuple(r.stdout.split())
    return _images[image_dir]


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    s = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(s)))
    return s[rank - 1]


class Event:
    """One RTVS-* line: kind, data (dict) and when the host first saw it (time.monotonic())."""

    def __init__(self, kind, data, seen):
        self.kind, self.data, self.seen = kind, data, seen

    def __repr__(self):
        return f"RTVS-{self.kind} {json.dumps(self.data)}"


class Guest:
    """One running QEMU guest. QEMU's PID is ``pid`` (the launcher execs it)."""

    def __init__(self, name, sock, log, qemu_log, proc, started):
        self.name, self.sock, self.log, self.qemu_log = name, sock, log, qemu_log
        self.proc = proc
        self.pid = proc.pid
        self.started = started
        self.events = []
        self.fatal = None  # why the guest died (a FATAL_* line), once seen
        self.expect_exit = False  # set when the test stops or kills this guest itself
        self.siblings = ()  # the other guests of its set, checked while this one is waited on
        self._offset = 0
        self._partial = b""
        self._tail = ""  # the end of the console read so far, for lines split across reads
        self._lock = threading.Lock()

    def poll(self):
        """Reads new console output and records its events with the time they were seen."""
        with self._lock:
            try:
                with open(self.log, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read()
            except FileNotFoundError:
                return
            if not chunk and self.fatal is None:
                self._check_qemu_output()
            if not chunk:
                return
            now = time.monotonic()
            self._offset += len(chunk)
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            for raw in lines:
                m = EVENT_RE.search(raw.decode("utf-8", "replace"))
                if m:
                    try:
                        data = json.loads(m.group(2))
                    except ValueError:
                        data = {"unparsed": m.group(2)}
                    self.events.append(Event(m.group(1), data, now))
            text = self._tail + chunk.decode("utf-8", "replace")
            self._tail = text[-200:]
            m = FATAL_CONSOLE_RE.search(text)
            if m and self.fatal is None:
                self.fatal = f"guest kernel: {m.group(0).strip()}"
            self._check_qemu_output()

    def _check_qemu_output(self):
        if self.fatal is None:
            # The launcher's own lines quote the accelerator probe's failure: not this guest's.
            text = "\n".join(line for line in self.qemu_output(8000).splitlines()
                             if not line.startswith(("accel=", "qemu-guest.sh:")))
            m = FATAL_QEMU_RE.search(text)
            if m:
                self.fatal = f"QEMU: {m.group(0).strip()}"

    def died(self):
        """Why this guest died unexpectedly (a fatal console/QEMU line, or QEMU gone before the
        guest said DONE or ERROR and without the test stopping it), or None."""
        if self.fatal:
            return self.fatal
        if not self.expect_exit and not self.alive():
            if not any(ev.kind in ("DONE", "ERROR") for ev in self.events):
                return f"QEMU exited ({self.proc.returncode})"
        return None

    def alive(self):
        return self.proc.poll() is None

    @property
    def accel(self):
        """"kvm" or "tcg", as the launcher decided and printed."""
        m = re.search(r"^accel=(\w+)", self.qemu_output(), re.M)
        return m.group(1) if m else None

    def qemu_output(self, limit=4000):
        try:
            with open(self.qemu_log, errors="replace") as f:
                return f.read()[-limit:]
        except FileNotFoundError:
            return ""

    def console(self, limit=4000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-limit:]
        except FileNotFoundError:
            return ""

    def _describe(self):
        return (f"guest {self.name} (pid {self.pid}); console tail:\n{self.console(2000)}\n"
                f"qemu output:\n{self.qemu_output(1000)}")

    def wait_event(self, kind, test=None, timeout=120.0, after=None):
        """Waits for the first event of `kind` (and RESULT of `test`) seen after the monotonic
        time `after` (None: any); returns the Event.

        Raises GuestError at once on an RTVS-ERROR line, if QEMU exits first, or if this guest
        or one of its set dies (kernel panic, KVM/TCG emulation failure, QEMU crash)."""
        deadline = time.monotonic() + timeout
        while True:
            dead = not self.alive()  # before poll(): QEMU's last output is then read too
            self.poll()
            if self.fatal:
                raise GuestError(f"guest {self.name} died ({self.fatal}) before RTVS-{kind} "
                                 f"{test or ''}: {self._describe()}")
            for other in self.siblings:
                other.poll()
                why = other.died()
                if why:
                    raise GuestError(f"guest {other.name} died ({why}) while waiting for "
                                     f"{self.name}'s RTVS-{kind} {test or ''}: "
                                     f"{other._describe()}")
            for ev in self.events:
                if after is not None and ev.seen <= after:
                    continue
                if ev.kind == kind and (test is None or ev.data.get("test") == test):
                    return ev
                if ev.kind == "ERROR" and kind != "ERROR":
                    raise GuestError(f"{ev.data.get('error')}: {self._describe()}")
            if dead:
                raise GuestError(f"QEMU exited ({self.proc.returncode}) before "
                                 f"RTVS-{kind} {test or ''}: {self._describe()}")
            if time.monotonic() > deadline:
                raise GuestError(f"no RTVS-{kind} {test or ''} within {timeout} s: "
                                 f"{self._describe()}")
            time.sleep(POLL_S)

    def wait_result(self, test, timeout=120.0):
        """The data of the guest's RESULT for `test`; raises GuestError if it reports an error."""
        data = self.wait_event("RESULT", test, timeout).data
        if "error" in data:
            raise GuestError(f"guest {self.name}: test {test} failed: {data['error']}")
        return data

    def kill(self):
        """SIGKILLs QEMU by PID, as a crashed or reset host process would go."""
        self.expect_exit = True
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.poll()

    def stop(self, grace=5.0):
        """Stops QEMU by PID (SIGTERM, then SIGKILL); returns its exit code."""
        self.expect_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.poll()
        return self.proc.returncode


_live_sets = set()


def _sweep_stale():
    """Removes the work directories of tests that were killed (their PID is gone)."""
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "qemu-guests-*")):
        m = re.fullmatch(r"qemu-guests-[A-Za-z0-9_.-]+?-(\d+)-[^-]+", os.path.basename(path))
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            shutil.rmtree(path, ignore_errors=True)


@atexit.register
def _close_all():
    for guests in list(_live_sets):
        guests.close()


class Guests:
    """Starts guests in one temporary directory and cleans up all of them on close()."""

    def __init__(self, label, image_dir=None, workdir=None, keep_logs=None):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", label):
            raise ValueError(f"label: {label!r} must be letters, digits, _ . -")
        self.image_dir = image_dir or default_image_dir()
        if workdir is None:
            _sweep_stale()
            workdir = tempfile.mkdtemp(prefix=f"qemu-guests-{label}-{os.getpid()}-")
        self.workdir = workdir
        self.keep_logs = (os.environ.get("RTVS_KEEP_LOGS") == "1" if keep_logs is None
                          else keep_logs)
        self.guests = []
        self._retired = []  # guests replaced by restart(): already killed
        self._closed = False
        self._stop = threading.Event()
        build_image(self.image_dir)
        _live_sets.add(self)
        # Polls every console so that event times are right even while a test waits on another.
        self._poller = threading.Thread(target=self._poll_loop, daemon=True)
        self._poller.start()

    def _poll_loop(self):
        while not self._stop.wait(POLL_S):
            for g in list(self.guests):
                g.poll()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sock_path(self, name):
        return os.path.join(self.workdir, f"{name}.sock")

    def start(self, name, ip, test="idle", peer=None, mac=None, duration=60, mtu=1500,
              mem=256, params=None, cpu=None, ready_timeout=60.0, append=None, sock=None,
              host_sock=None, wrapper=()):
        """Starts a guest listening on <workdir>/<name>.sock; returns once QEMU listens.

        `params` become rtvs.KEY=VALUE kernel arguments (count, interval, size, bytes, port,
        ct_interval, ct_prio, stop_s, margin); `append` is a list of other kernel arguments."""
        if any(g.name == name for g in self.guests):
            raise ValueError(f"name: guest {name!r} already started")
        mac = mac or "52:54:00:00:00:%02x" % (len(self.guests) + 1)
        argv = ["--name", name, "--sock", sock or self.sock_path(name), "--image", self.image_dir,
                "--mac", mac, "--ip", ip, "--test", test, "--duration", str(duration),
                "--mtu", str(mtu), "--mem", str(mem)]
        if peer:
            argv += ["--peer", peer]
        if cpu is not None:
            argv += ["--cpu", str(cpu)]
        kernel_args = [f"rtvs.{k}={v}" for k, v in (params or {}).items()] + list(append or [])
        if kernel_args:
            argv += ["--append", " ".join(kernel_args)]
        return self._launch(name, argv, ready_timeout, host_sock or sock, wrapper)

    def restart(self, name, ready_timeout=60.0):
        """Reboots guest `name` the hard way: SIGKILLs its QEMU, removes the socket QEMU left
        and starts QEMU again with the same arguments on the same socket path. Returns the new
        Guest (its console log is a new file: <name>.<n>.log)."""
        old = next((g for g in self.guests if g.name == name), None)
        if old is None:
            raise ValueError(f"name: no guest {name!r}")
        old.kill()
        try:
            os.unlink(old.sock)
        except FileNotFoundError:
            pass
        self.guests.remove(old)
        self._retired.append(old)
        return self._launch(name, old.args, ready_timeout, old.sock, old.wrapper)

    def _launch(self, name, args, ready_timeout, sock=None, wrapper=()):
        sock = sock or self.sock_path(name)
        reboots = sum(1 for g in self._retired if g.name == name)
        suffix = f".{reboots}" if reboots else ""
        log = os.path.join(self.workdir, f"{name}{suffix}.log")
        qemu_log = os.path.join(self.workdir, f"{name}{suffix}.qemu.log")
        argv = list(wrapper) + [QEMU_GUEST_SH, "--foreground", "--log", log] + args
        with open(qemu_log, "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        guest = Guest(name, sock, log, qemu_log, proc, time.monotonic())
        guest.args = args
        guest.wrapper = tuple(wrapper)
        self.guests.append(guest)
        for g in self.guests:
            g.siblings = tuple(o for o in self.guests if o is not g)
        deadline = time.monotonic() + ready_timeout
        while not os.path.exists(sock):
            if proc.poll() is not None:
                raise GuestError(f"guest {name}: launcher exited ({proc.returncode}): "
                                 f"{guest.qemu_output()}")
            if time.monotonic() > deadline:
                raise GuestError(f"guest {name}: socket {sock} not created in {ready_timeout} s")
            time.sleep(POLL_S)
        return guest

    def close(self):
        """Stops every guest by PID, removes sockets and (unless keep_logs) the directory."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for g in self.guests:
            g.stop()
            try:
                os.unlink(g.sock)
            except FileNotFoundError:
                pass
        _live_sets.discard(self)
        if self.keep_logs:
            print(f"qemu_guests: logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
