"""Shared set-up of the integration tests: import path, MAC helpers, counting assertions."""

import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402


def mac(n):
    """A locally administered unicast MAC whose last byte is n."""
    return f"52:54:00:00:00:{n:02x}"


def numa_nodes():
    """The host's NUMA nodes (sysfs; [0] without NUMA)."""
    base = "/sys/devices/system/node"
    nodes = sorted(int(n[4:]) for n in (os.listdir(base) if os.path.isdir(base) else ())
                   if n.startswith("node") and n[4:].isdigit())
    return nodes or [0]


def cpu_node(cpu):
    """The NUMA node of a cpu (sysfs; 0 without NUMA)."""
    d = f"/sys/devices/system/cpu/cpu{cpu}"
    for n in os.listdir(d) if os.path.isdir(d) else ():
        if n.startswith("node") and n[4:].isdigit():
            return int(n[4:])
    return 0


def guest_node_expected(test, node, pmd_node):
    """A connected guest's memory node: that of the PMD on a single-node host, else any node."""
    if len(numa_nodes()) == 1:
        test.assertEqual(node, pmd_node)
    else:
        test.assertIn(node, numa_nodes())


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


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


class Namespace:
    """A network namespace of the test's own (deleted by close()); run() runs a command in it."""

    def __init__(self, prefix):
        self.name = f"{prefix}-{os.getpid() % 100000}"
        sh("ip", "netns", "add", self.name)

    def run(self, *args, check=True):
        return sh("ip", "netns", "exec", self.name, *args, check=check)

    def take(self, ifname):
        """Moves a host interface into the namespace and brings it up there."""
        sh("ip", "link", "set", ifname, "netns", self.name)
        self.run("ip", "link", "set", ifname, "up")

    def close(self):
        sh("ip", "netns", "del", self.name, check=False)


class SwitchAndGuest(unittest.TestCase):
    """A daemon whose vhostuser ports all lead to one DPDK guest, shared by a class's tests.

    A subclass sets GROUP (the process group's name) and PORTS: (name, switch options, guest
    options, MAC) per port, guest port i being PORTS[i]; optionally DAEMON_ARGS, GUEST_MEM,
    FORWARDING (guest port pairs to wait for; default the first two) and LEARN (each port's MAC
    learned before the tests; default True). The class gets g, sw, guest and base (the mbufs in
    use before the guest came)."""

    GROUP = "it"
    PORTS = ()
    DAEMON_ARGS = ()
    GUEST_MEM = 256
    FORWARDING = ((0, 1),)
    LEARN = True

    @classmethod
    def setUpClass(cls):
        cls.g = dp.ProcessGroup(cls.GROUP)
        try:
            cls.sw = rs.Daemon(cls.g, ports=[f"{n} type=vhostuser {o}".rstrip()
                                             for n, o, _, _ in cls.PORTS],
                               args=list(cls.DAEMON_ARGS))
            cls.base = cls.sw.mempool_in_use()
            d = cls.sw.socket_dir
            cls.guest = cls.g.start_guest(
                [f"path={d}/{n},mac={m}" + (f",{go}" if go else "") for n, _, go, m in cls.PORTS],
                mem=cls.GUEST_MEM)
            for i in range(len(cls.PORTS)):
                cls.guest.wait_link(i, 30)
            for n, *_ in cls.PORTS:
                cls.sw.wait_link(n)
            for a, b in cls.FORWARDING:
                dp.wait_forwarding(cls.guest, a, cls.guest, b)
            if cls.LEARN:
                learn(cls.sw, cls.guest, [(i, m) for i, (*_, m) in enumerate(cls.PORTS)])
        except BaseException:
            cls.g.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.g.close()
