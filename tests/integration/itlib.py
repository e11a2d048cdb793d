"""Shared set-up of the integration tests: import path, MAC helpers, counting assertions."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402


def mac(n):
    """A locally administered unicast MAC whose last byte is n."""
    return f"52:54:00:00:00:{n:02x}"


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def learn(sw, guest, ports_macs, flow=0xFFFFFF01):
    """Each (guest port, mac) sends one broadcast frame from `mac`; waits until all are learned,
    then clears the guest's counters and the switch's stats."""
    for port, m in ports_macs:
        guest.send(port, count=1, src=m, flow=flow)
    want = {m for _, m in ports_macs}
    wait_until(lambda: want <= {e["mac"] for e in sw.rpc("fdb.show")["entries"]}, 10,
               f"MACs {sorted(want)} learned")
    time.sleep(0.2)
    guest.clear()
    sw.rpc("stats.clear")


def assert_no_mbuf_leak(test, sw, base, timeout=5.0):
    """The pool's in-use count returns to `base` once traffic has drained."""
    deadline = time.monotonic() + timeout
    while True:
        now = sw.mempool_in_use()
        if now == base or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    test.assertEqual(now, base, "mbufs in use did not return to the start value (leak)")
