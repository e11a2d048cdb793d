#!/usr/bin/env python3
"""How often the daemon's control thread wakes and how much CPU it takes, on the housekeeping
core where QEMU's emulator threads and the vhost-user message thread live.

    scripts/control-wakeups.py [--binary build/switch/daemon/rtvswitch] [--seconds 10]

Phases: idle (no ports), idle with two vhost-user ports and a guest linked, and traffic (the
guest sends at --rate frames/s between two MACs, plus --macs new source MACs per second, which
the PMD posts as learn events). The figures come from /proc/<pid>/task/<pid>/schedstat (CPU
time, times scheduled in) of the control thread (the process's main thread)."""

import argparse
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402


def schedstat(pid):
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        cpu_ns, _wait_ns, slices = (int(x) for x in f.read().split())
    return cpu_ns, slices


def measure(pid, seconds):
    c0, s0 = schedstat(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    c1, s1 = schedstat(pid)
    dt = time.monotonic() - t0
    return (s1 - s0) / dt, 100.0 * (c1 - c0) / 1e9 / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", help="the rtvswitch binary (default: the build's)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=100000, help="frames/s in the traffic phase")
    ap.add_argument("--macs", type=int, default=20, help="new source MACs/s in the traffic phase")
    a = ap.parse_args()
    if a.binary:
        rs.daemon_binary = lambda: a.binary
    rows = []
    with dp.ProcessGroup("ctl-wakeups") as g:
        sw = rs.Daemon(g)
        time.sleep(1.0)
        rows.append(("idle, no ports",) + measure(sw.pid, a.seconds))
        for name in ("a", "b"):
            sw.rpc("port.add", {"name": name, "options": {"type": "vhostuser",
                                                          "path": f"{g.tmpdir}/{name}"}})
        guest = g.start_guest([f"path={g.tmpdir}/a,mac=52:54:00:00:00:0a",
                               f"path={g.tmpdir}/b,mac=52:54:00:00:00:0b"])
        guest.wait_link(0, 30)
        guest.wait_link(1, 30)
        time.sleep(1.0)
        rows.append(("idle, 2 ports linked",) + measure(sw.pid, a.seconds))
        stop = threading.Event()

        def traffic():
            n = 0
            while not stop.is_set():
                # One second of frames from a new source MAC each 1/macs s.
                per = max(1, a.rate // max(1, a.macs))
                for _ in range(max(1, a.macs)):
                    n += 1
                    guest.send(0, count=per, rate=a.rate, dst="52:54:00:00:00:0b",
                               src=f"52:54:00:01:{(n >> 8) & 255:02x}:{n & 255:02x}")
                    if stop.is_set():
                        break

        t = threading.Thread(target=traffic)
        t.start()
        time.sleep(1.0)
        rows.append((f"traffic {a.rate} fps, {a.macs} new MACs/s",) + measure(sw.pid, a.seconds))
        stop.set()
        t.join()
        sw.stop()
    print(f"{'phase':<40} {'wakeups/s':>10} {'CPU %':>8}")
    for name, wakeups, cpu in rows:
        print(f"{name:<40} {wakeups:>10.1f} {cpu:>8.3f}")


if __name__ == "__main__":
    main()
