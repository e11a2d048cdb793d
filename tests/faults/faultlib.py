"""Shared helpers of the fault tests: import path, raw control-socket connections, /proc."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import dpdk_procs as dp  # noqa: E402,F401  (re-exported for the tests)
import rtvswitch as rs  # noqa: E402,F401


def connect(path, timeout=10.0):
    """A connection to the control socket. A full listen backlog (the daemon accepts slower
    than a storm connects) makes a connect with a timeout fail with EAGAIN: retried."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def read_lines(s, n):
    """Reads until `n` complete lines arrived or the peer closed; returns the lines (bytes)."""
    buf = b""
    while buf.count(b"\n") < n:
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n")[:-1] if buf.endswith(b"\n") else buf.split(b"\n")


def status_kib(pid, key):
    """A kB field of /proc/<pid>/status, e.g. VmRSS."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def hugepages(kind):
    """nr_hugepages or free_hugepages of the 2 MiB pool."""
    with open(f"/sys/kernel/mm/hugepages/hugepages-2048kB/{kind}") as f:
        return int(f.read())
