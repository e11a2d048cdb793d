#!/usr/bin/env python3
"""systemd supervision, with this test as systemd: a datagram socket as NOTIFY_SOCKET and
WATCHDOG_USEC set. READY=1 and a STATUS= line arrive once the daemon runs, WATCHDOG=1 keeps
arriving, and stops while one PMD thread does not iterate (the thread alone is stopped with
ptrace's PTRACE_SEIZE + PTRACE_INTERRUPT, which halts only that thread: the control thread goes
on) or while the whole process is stopped (SIGSTOP); the pings resume when they run again, and
STOPPING=1 comes at SIGTERM."""

import ctypes
import os
import signal
import socket
import time
import unittest

from itlib import dp, rs

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000
WATCHDOG_USEC = 400000  # the daemon checks every 100 ms

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def ptrace(req, tid):
    if libc.ptrace(req, tid, None, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"ptrace({req:#x}, {tid}): {os.strerror(e)}")


def pmd_threads(pid):
    """Thread ids of the daemon's PMDs (EAL worker lcores the daemon names pmd-c<core>)."""
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip().startswith("pmd-c"):
                tids.append(int(tid))
    return tids


class Watchdog(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-watchdog")
        self.addCleanup(self.g.close)
        path = os.path.join(self.g.tmpdir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        self.addCleanup(self.notify.close)
        old = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        os.environ.update(NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        os.environ.pop("WATCHDOG_PID", None)
        try:
            self.sw = rs.Daemon(self.g, ports=["a type=vhostuser"])
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def messages(self, seconds):
        """Every notification received within `seconds`, as lists of KEY=VALUE lines."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.notify.settimeout(left)
            try:
                out.append(self.notify.recv(4096).decode().split("\n"))
            except socket.timeout:
                break
        return out

    @staticmethod
    def pings(msgs):
        return sum("WATCHDOG=1" in m for m in msgs)

    @staticmethod
    def statuses(msgs):
        return [line[7:] for m in msgs for line in m if line.startswith("STATUS=")]

    def test_ready_pings_and_stalls(self):
        first = self.messages(1.5)
        self.assertTrue(first and "READY=1" in first[0], first[:3])
        self.assertIn("running: 1 port (0 up), 1 PMD", self.statuses(first))
        # Every 100 ms nominally; a loaded 2-core machine may skip a few.
        self.assertGreaterEqual(self.pings(first), 5, first)

        # One PMD stops iterating; the control thread (and the RPC socket) go on.
        tids = pmd_threads(self.sw.pid)
        self.assertEqual(len(tids), 1)
        ptrace(PTRACE_SEIZE, tids[0])
        try:
            ptrace(PTRACE_INTERRUPT, tids[0])
            os.waitpid(tids[0], WALL)
            settling = self.messages(0.3)  # may hold a ping of a check begun before the stop
            stalled = self.messages(1.5)
            self.assertEqual(self.pings(stalled), 0, stalled)
            self.assertTrue(any(s.startswith("degraded: PMD 0 (core 1) not iterating")
                                for s in self.statuses(settling + stalled)), settling + stalled)
            self.assertIn("version", self.sw.rpc("version"))  # the control thread answers
        finally:
            ptrace(PTRACE_DETACH, tids[0])
        resumed = self.messages(1.5)
        self.assertGreaterEqual(self.pings(resumed), 3, resumed)
        self.assertIn("running: 1 port (0 up), 1 PMD", self.statuses(resumed))
        self.assertIn("has not iterated", self.sw.log())
        self.assertIn("every PMD iterates again", self.sw.log())

        # The whole process stopped: the control loop does not run, no pings.
        os.kill(self.sw.pid, signal.SIGSTOP)
        try:
            self.messages(0.3)
            self.assertEqual(self.pings(self.messages(1.0)), 0)
        finally:
            os.kill(self.sw.pid, signal.SIGCONT)
        self.assertGreaterEqual(self.pings(self.messages(1.0)), 2)

        self.assertEqual(self.sw.stop(), 0)
        self.assertTrue(any("STOPPING=1" in m for m in self.messages(0.5)))

    def test_no_watchdog_no_pings(self):
        # A second daemon without WATCHDOG_USEC: READY=1 and STATUS=, never WATCHDOG=1.
        self.sw.stop()
        os.environ["NOTIFY_SOCKET"] = self.notify.getsockname()
        try:
            self.messages(0.2)
            sw = rs.Daemon(self.g, ports=["b type=vhostuser"])
        finally:
            os.environ.pop("NOTIFY_SOCKET", None)
        msgs = self.messages(1.5)
        self.assertTrue(any("READY=1" in m for m in msgs), msgs)
        self.assertEqual(self.pings(msgs), 0)
        self.assertEqual(sw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
