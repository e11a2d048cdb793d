#!/usr/bin/env python3
"""vswitchctl, the real binary, against the real daemon with a real DPDK guest on two vhostuser
ports: every command in its human form (the table's rows and values) and its --json form (fields
checked against the traffic actually sent), and its errors (one line on stderr starting
"vswitchctl: ", the documented exit code: 1 daemon error, 2 usage, 3 unreachable; nothing changed
afterwards)."""

import json
import os
import re
import subprocess
import unittest

from itlib import SwitchAndGuest, cpu_node, guest_node_expected, learn, mac, rs, wait_until

A, B = 0, 1
MA, MB = mac(0x0A), mac(0x0B)
BUDGET_US = 1000000  # on port b: nothing on this host takes a second, so over_budget stays 0
METHODS = ["version", "list-commands", "port.add", "port.del", "port.set", "port.list", "port.show",
           "fdb.show", "fdb.flush", "pmd.show", "pmd.perf", "stats.show", "stats.clear",
           "latency.show", "latency.clear", "control.show"]


def rows(text):
    """The lines of a table as lists of cells (split on runs of two or more spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def key_values(text):
    """The "key : value" lines of port show."""
    return {k.strip(): v for k, v in (line.split(" : ", 1) for line in text.splitlines())}


def row_of(text, *first):
    """The table row whose first cells are `first`."""
    for r in rows(text):
        if r[:len(first)] == list(first):
            return r
    raise AssertionError(f"no row starting {first} in:\n{text}")


class Vswitchctl(SwitchAndGuest):
    GROUP = "ctl-vswitchctl"
    PORTS = (("a", "", "queue_size=256", MA),
             ("b", f"latency-budget-us={BUDGET_US}", "queue_size=1024", MB))

    # ---- helpers ----

    def ctl(self, *args):
        """vswitchctl that must succeed; returns its stdout."""
        r = self.sw.ctl(*args, check=False)
        self.assertEqual(r.returncode, 0, f"vswitchctl {' '.join(args)}: {r.stderr}")
        self.assertEqual(r.stderr, "")
        return r.stdout

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "--json"))

    def port_names(self):
        return [p["name"] for p in self.ctl_json("port", "list")["ports"]]

    def assert_fails(self, args, code, message, socket=None):
        """vswitchctl fails with `code` and one stderr line "vswitchctl: ...`message`...", prints
        nothing on stdout, and the port list is unchanged."""
        before = self.port_names()
        argv = [rs.ctl_binary(), "--socket", socket or self.sw.control] + list(args)
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        what = f"vswitchctl {' '.join(args)}"
        self.assertEqual(r.returncode, code, f"{what}: {r.stderr}")
        self.assertEqual(r.stdout, "", what)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"{what}: {r.stderr!r}")
        self.assertTrue(lines[0].startswith("vswitchctl: "), lines[0])
        self.assertIn(message, lines[0])
        self.assertEqual(self.port_names(), before, f"{what} changed the ports")

    def send_a_to_b(self, n, flow):
        """Sends n frames a → b (known unicast); returns how many b's guest received once settled,
        after checking every sent frame was received or counted as tx_full."""
        sent = self.guest.send(A, count=n, dst=MB, flow=flow, rate=50000)["sent"]
        self.guest.stats_settled(B, expect_rx=sent, timeout=10)
        self.sw.wait_settled()
        got = self.guest.port_stats(B)["rx_by_flow"].get(str(flow), 0)
        self.assertEqual(got + self.sw.port_stats("b")["drops"]["tx_full"], sent)
        return sent, got

    # ---- the read-only verbs ----

    def test_version(self):
        out = self.ctl("version")
        daemon = self.sw.rpc("version")
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[0], r"^vswitchctl \d+\.\d+\.\d+$")
        self.assertEqual(lines[1], f"rtvswitch {daemon['version']} ({daemon['dpdk']})")
        j = self.ctl_json("version")
        self.assertEqual(j["rtvswitch"], daemon)
        self.assertEqual(j["vswitchctl"], lines[0].split()[1])

    def test_list_commands(self):
        out = self.ctl("list-commands")
        self.assertEqual(rows(out)[0], ["METHOD", "ROLE", "PARAMS", "HELP"])
        listed = [r[0] for r in rows(out)[1:]]
        j = self.ctl_json("list-commands")
        self.assertEqual([c["method"] for c in j["commands"]], listed)
        for m in METHODS:
            self.assertIn(m, listed)
        for c in j["commands"]:
            self.assertTrue(c["help"], c)
            self.assertEqual(c["role"], "admin" if c["method"] in (
                "port.add", "port.del", "port.set", "log.set", "fdb.flush", "stats.clear",
                "latency.clear") else "read")
        self.assertEqual(row_of(out, "port.show")[1:3], ["read", "name"])
        self.assertEqual(row_of(out, "port.add")[1], "admin")

    def test_port_list(self):
        out = self.ctl("port", "list")
        self.assertEqual(rows(out)[0][:5], ["NAME", "INDEX", "TYPE", "STATE", "QUEUES"])
        for i, name in enumerate(("a", "b")):
            r = row_of(out, name)
            self.assertEqual(r[1:6], [str(i), "vhostuser", "up", "1", "1500"])
            self.assertEqual(r[-2:], [os.path.join(self.sw.socket_dir, name), "-"])
        self.assertEqual(rows(out)[0][-2:], ["PATH/DEVARGS", "EXTERNAL-IDS"])
        self.assertEqual(len(rows(out)), 3, out)
        j = self.ctl_json("port", "list")
        self.assertEqual([p["name"] for p in j["ports"]], ["a", "b"])
        for p in j["ports"]:
            self.assertEqual((p["type"], p["state"], p["queues"], p["mtu"]),
                             ("vhostuser", "up", 1, 1500))

    def test_port_show(self):
        out = self.ctl("port", "show", "b")
        kv = key_values(out)
        self.assertEqual(kv["name"], "b")
        self.assertEqual(kv["type"], "vhostuser")
        self.assertEqual(kv["state"], "up")
        self.assertEqual(kv["link"], "up")
        self.assertEqual(kv["path"], os.path.join(self.sw.socket_dir, "b"))
        self.assertIn(f"latency-budget-us={BUDGET_US}", kv["options"])
        self.assertEqual(kv["rxqs"], "queue 0 on pmd 0 (core 1)")
        j = self.ctl_json("port", "show", "b")
        self.assertEqual(j["name"], "b")
        self.assertEqual(j["rxqs"], [{"queue": 0, "pmd": 0, "core": 1}])
        self.assertEqual(j["options"]["latency-budget-us"], str(BUDGET_US))
        self.assertEqual(j["stats"]["link"], "up")

    def test_pmd_show(self):
        out = self.ctl("pmd", "show")
        r = row_of(out, "0", "1")
        node = str(cpu_node(1))
        self.assertEqual(r[2], node)  # NUMA
        self.assertEqual(r[3], "SCHED_OTHER")
        self.assertGreater(int(r[4]), 0)
        self.assertRegex(r[5], r"^\d+\.\d %$")
        # The guest is connected: each queue's node is its memory's (one node here: the PMD's).
        for port in ("a", "b"):
            q = row_of(out, "0", port)
            self.assertEqual(q[2], "0")
            guest_node_expected(self, int(q[3]), int(node))
        j = self.ctl_json("pmd", "show")
        self.assertEqual(len(j["pmds"]), 1)
        p = j["pmds"][0]
        self.assertEqual((p["id"], p["core"], p["numa"]), (0, 1, cpu_node(1)))
        for q in p["rxqs"]:
            guest_node_expected(self, q["numa"], p["numa"])
        self.assertEqual(sorted(q["port"] for q in p["rxqs"]), ["a", "b"])
        self.assertGreater(p["iterations"], 0)

    def test_pmd_perf(self):
        j = self.ctl_json("pmd", "perf")
        self.assertGreater(j["tsc_hz"], 0)
        p = j["pmds"][0]
        for key in ("iteration", "poll_gap"):
            s = p[key]
            self.assertGreater(s["count"], 0, key)
            self.assertLessEqual(s["p50_ns"], s["p99_ns"], key)
            self.assertLessEqual(s["p99_ns"], s["max_ns"], key)
        self.assertGreaterEqual(p["longest_stall_ns"], p["poll_gap"]["max_ns"] * 0.999)
        self.assertRegex(p["longest_stall_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        out = self.ctl("pmd", "perf")
        self.assertEqual(rows(out)[0], ["PMD", "CORE", "SCHED", "ITERATIONS", "BUSY",
                                        "LONGEST-STALL", "STALL-AT"])
        r = row_of(out, "0", "1")
        self.assertRegex(r[5], r"^\d+(\.\d+)?$")
        self.assertRegex(r[6], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(row_of(out, "PMD", "TIME")[2:],
                         ["COUNT", "MEAN", "P50", "P90", "P99", "P99.9", "P99.99", "MAX"])
        for name in ("iteration", "poll gap"):
            r = row_of(out, "0", name)
            self.assertGreater(int(r[2]), 0)
            for cell in r[3:]:
                self.assertRegex(cell, r"^\d+(\.\d+)?$", name)
        self.assertIn("times in µs", out)
        self.assertNotIn("e+", out)

    def test_host_check(self):
        args = ["host", "check", "--pmd-cores", "1", "--housekeeping-cores", "0"]
        r = subprocess.run([rs.ctl_binary()] + args, capture_output=True, text=True, timeout=60)
        self.assertIn(r.returncode, (0, 1), r.stderr)  # 1: some check FAILs on this host
        self.assertTrue(r.stdout.strip(), r.stderr)
        j = subprocess.run([rs.ctl_binary()] + args + ["--json"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(j.returncode, r.returncode, j.stderr)
        report = json.loads(j.stdout)
        self.assertTrue(report)
        # No daemon is needed: an unreachable socket does not matter.
        u = subprocess.run([rs.ctl_binary(), "--socket", "/nonexistent.ctl"] + args,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(u.returncode, r.returncode, u.stderr)

    # ---- traffic: stats and latency against what was sent ----

    def test_stats_and_latency_count_the_traffic(self):
        self.ctl("latency", "clear")
        out = self.ctl("stats", "--clear")
        for name in ("a", "b"):
            self.assertEqual(row_of(out, name, "up")[2:6], ["0", "0", "0", "0"], out)
        self.guest.clear()
        sent, got = self.send_a_to_b(5000, flow=1)
        tx_full = sent - got

        j = self.ctl_json("stats")
        st = {p["name"]: p for p in j["ports"]}
        self.assertEqual(st["a"]["rx_packets"], sent)
        self.assertEqual(st["b"]["tx_packets"], got)
        self.assertEqual(st["b"]["drops"]["tx_full"], tx_full)
        self.assertEqual(st["a"]["tx_packets"], 0)
        self.assertEqual(self.ctl_json("stats", "b")["ports"][0]["tx_packets"], got)
        out = self.ctl("stats")
        self.assertEqual(row_of(out, "PORT", "LINK")[2], "RX-PKTS")
        ra, rb = row_of(out, "a", "up"), row_of(out, "b", "up")
        self.assertEqual((ra[2], ra[4]), (str(sent), "0"))
        self.assertEqual((rb[2], rb[4], rb[7]), ("0", str(got), str(tx_full)))
        by_reason = out.split("drops by reason (packets):\n", 1)[1]
        self.assertEqual(row_of(by_reason, "PORT")[1], "TX_FULL")
        self.assertEqual(row_of(by_reason, "b")[1], str(tx_full))
        self.assertIn("mempool: ", out)

        j = self.ctl_json("latency", "show")
        lat = {p["name"]: p for p in j["ports"]}
        self.assertEqual(lat["a"]["ingress"]["count"], got)
        self.assertEqual(lat["b"]["egress"]["count"], got)
        self.assertEqual(lat["a"]["egress"]["count"], 0)
        self.assertEqual(lat["b"]["ingress"]["count"], 0)
        self.assertEqual(lat["b"]["latency_budget_us"], BUDGET_US)
        self.assertEqual(lat["b"]["over_budget"], 0)
        self.assertEqual(lat["a"]["latency_budget_us"], 0)
        s = lat["a"]["ingress"]
        self.assertTrue(0 < s["p50_ns"] <= s["p99_ns"] <= s["p9999_ns"] <= s["max_ns"], s)
        self.assertNotIn("ingress_buckets", lat["a"])

        out = self.ctl("latency", "show")
        self.assertEqual(rows(out)[0], ["PORT", "DIR", "COUNT", "MEAN", "P50", "P90", "P99",
                                        "P99.9", "P99.99", "MAX", "BUDGET", "OVER-BUDGET"])
        r = row_of(out, "a", "ingress")
        self.assertEqual(r[2], str(got))
        for cell in r[3:10]:
            self.assertRegex(cell, r"^\d+(\.\d+)?$")
        # MAX in µs, as the JSON's max_ns (three significant digits at least).
        self.assertAlmostEqual(float(r[9]), s["max_ns"] / 1000,
                               delta=max(0.005, s["max_ns"] / 1000 * 0.01))
        egress_rows = [x for x in rows(out) if x[0] == "egress"]
        self.assertEqual(len(egress_rows), 2, out)
        self.assertEqual(egress_rows[0][1], "0")  # a: nothing sent out of it
        self.assertEqual(egress_rows[0][-2:], ["none", "-"])
        self.assertEqual(egress_rows[1][1], str(got))
        self.assertEqual(egress_rows[1][-2:], [str(BUDGET_US), "0"])
        self.assertNotIn("e+", out)

        # One port, with buckets: they add up to the count.
        j = self.ctl_json("latency", "show", "a", "--histogram")
        self.assertEqual([p["name"] for p in j["ports"]], ["a"])
        buckets = j["ports"][0]["ingress_buckets"]
        self.assertEqual(sum(b["count"] for b in buckets), got)
        self.assertEqual([b["le_ns"] for b in buckets], sorted(b["le_ns"] for b in buckets))
        self.assertEqual(j["ports"][0]["egress_buckets"], [])
        out = self.ctl("latency", "show", "a", "--histogram")
        self.assertIn(f"a ingress histogram ({got} packets):", out)
        hist = out.split(f"a ingress histogram ({got} packets):\n", 1)[1].split("\n\n")[0]
        hrows = rows(hist)
        self.assertEqual(hrows[0], ["<= US", "COUNT", "CUMULATIVE"])
        self.assertEqual([int(x[1]) for x in hrows[1:]], [b["count"] for b in buckets])
        self.assertEqual(hrows[-1][2], "100.00 %")
        self.assertTrue(all(x[3].strip("#") == "" and x[3] for x in hrows[1:]), hist)
        self.assertIn("a egress histogram (0 packets):\n    no samples", out)

        # latency clear of one port restarts that port only.
        self.assertEqual(self.ctl("latency", "clear", "a"), "cleared latency of a\n")
        lat = {p["name"]: p for p in self.ctl_json("latency", "show")["ports"]}
        self.assertEqual(lat["a"]["ingress"]["count"], 0)
        self.assertEqual(lat["b"]["egress"]["count"], got)
        self.assertEqual(self.ctl_json("latency", "clear"), {"cleared": ["a", "b"]})
        self.assertEqual(self.ctl_json("latency", "show", "b")["ports"][0]["egress"]["count"], 0)
        self.assertEqual(row_of(self.ctl("latency", "show"), "a", "ingress")[2:4], ["0", "-"])

        # stats --clear of one port.
        j = self.ctl_json("stats", "a", "--clear")
        self.assertEqual(j["ports"][0]["rx_packets"], 0)
        self.assertEqual(self.sw.port_stats("b")["tx_packets"], got)

    # ---- the MAC table ----

    def test_fdb_show_and_flush(self):
        out = self.ctl("fdb", "show")
        self.assertEqual(row_of(out, "VLAN")[:3], ["VLAN", "MAC", "PORT"])
        self.assertEqual(row_of(out, "0", MA)[2], "a")  # VLAN 0: the untagged network
        self.assertEqual(row_of(out, "0", MB)[2], "b")
        self.assertRegex(row_of(out, "0", MA)[3], r"^\d+\.\d s$")
        self.assertRegex(out.splitlines()[-1], r"^2 entries, capacity \d+, aging \d+ s")
        j = self.ctl_json("fdb", "show")
        self.assertEqual(sorted((e["mac"], e["port"]) for e in j["entries"]),
                         [(MA, "a"), (MB, "b")])
        self.assertEqual(j["count"], 2)
        self.assertEqual(self.ctl_json("fdb", "show", "b")["entries"][0]["mac"], MB)
        self.assertNotIn(MA, self.ctl("fdb", "show", "b"))
        try:
            self.assertEqual(self.ctl("fdb", "flush", "a"), "flushed 1 entries\n")
            self.assertEqual([e["mac"] for e in self.ctl_json("fdb", "show")["entries"]], [MB])
            self.assertEqual(self.ctl_json("fdb", "flush"), {"flushed": 1})
            self.assertTrue(self.ctl("fdb", "show").startswith("no learned MAC addresses\n"))
        finally:
            learn(self.sw, self.guest, [(A, MA), (B, MB)])

    # ---- changing ports ----

    def test_port_add_show_del(self):
        before = self.port_names()
        out = self.ctl("port", "add", "c", "type=vhostuser", "queues=2", "mtu=9000")
        try:
            kv = key_values(out)
            self.assertEqual(kv["name"], "c")
            self.assertEqual(kv["type"], "vhostuser")
            self.assertEqual(kv["queues"], "2")
            self.assertEqual(kv["mtu"], "9000 bytes")
            self.assertEqual(kv["state"], "down")  # no guest on it
            path = os.path.join(self.sw.socket_dir, "c")
            self.assertEqual(kv["path"], path)
            self.assertTrue(os.path.exists(path))
            r = row_of(self.ctl("port", "list"), "c")
            self.assertEqual(r[2:6], ["vhostuser", "down", "2", "9000"])
            j = self.ctl_json("port", "show", "c")
            self.assertEqual((j["queues"], j["mtu"], j["state"]), (2, 9000, "down"))
            self.assertEqual(self.port_names(), before + ["c"])
            # A duplicate name and a taken socket path are refused and change nothing.
            self.assert_fails(["port", "add", "c", "type=vhostuser"], 1, "exists")
            self.assert_fails(["port", "add", "d", "type=vhostuserclient", f"path={path}"], 1,
                              "already used by port")
        finally:
            self.assertEqual(self.ctl("port", "del", "c"), "deleted port c\n")
        self.assertEqual(self.port_names(), before)
        self.assertFalse(os.path.exists(os.path.join(self.sw.socket_dir, "c")))
        # The same with --json.
        j = self.ctl_json("port", "add", "c", "type=vhostuser")
        try:
            self.assertEqual((j["name"], j["queues"], j["mtu"]), ("c", 1, 1500))
        finally:
            self.assertEqual(self.ctl_json("port", "del", "c"), {"name": "c", "deleted": True})
        self.assertEqual(self.port_names(), before)
        # Traffic still flows.
        self.guest.clear()
        self.sw.rpc("stats.clear")
        sent, got = self.send_a_to_b(100, flow=2)
        self.assertEqual(self.sw.port_stats("a")["rx_packets"], sent)

    # ---- errors ----

    def test_usage_errors_exit_2(self):
        self.assert_fails(["frobnicate"], 2, "unknown command 'frobnicate'")
        self.assert_fails(["port", "frob"], 2, "unknown command 'port frob'")
        self.assert_fails(["port"], 2, "'port' needs a command")
        self.assert_fails([], 2, "a command is needed")
        self.assert_fails(["port", "add"], 2, "NAME")
        self.assert_fails(["port", "del"], 2, "NAME")
        self.assert_fails(["port", "show"], 2, "NAME")
        self.assert_fails(["port", "add", "x", "novalue"], 2, "novalue")
        self.assert_fails(["port", "add", "x", "=v"], 2, "")
        self.assert_fails(["port", "add", "x", "type=vhostuser", "type=vhostuser"], 2,
                          "given twice")
        self.assert_fails(["stats", "--bogus"], 2, "--bogus")
        self.assert_fails(["--timeout", "0", "version"], 2, "--timeout")

    def test_daemon_errors_exit_1(self):
        self.assert_fails(["port", "add", "x", "type=vhostuser", "colour=blue"], 1, "colour")
        self.assert_fails(["port", "add", "x", "type=vhostuser", "queues=99"], 1, "queues")
        self.assert_fails(["port", "add", "x", "type=warp"], 1, "warp")
        self.assert_fails(["port", "add", "a", "type=vhostuser"], 1, "exists")
        # A vhostuser (server) port whose socket file exists.
        taken = os.path.join(self.sw.socket_dir, "taken")
        with open(taken, "w"):
            pass
        try:
            self.assert_fails(["port", "add", "x", "type=vhostuser", f"path={taken}"], 1,
                              "socket path exists")
        finally:
            os.unlink(taken)
        self.assert_fails(["port", "del", "nosuch"], 1, "nosuch")
        self.assert_fails(["port", "show", "nosuch"], 1, "nosuch")
        self.assert_fails(["fdb", "show", "nosuch"], 1, "nosuch")
        self.assert_fails(["fdb", "flush", "nosuch"], 1, "nosuch")
        self.assert_fails(["stats", "nosuch"], 1, "nosuch")
        self.assert_fails(["stats", "nosuch", "--clear"], 1, "nosuch")
        self.assert_fails(["latency", "show", "nosuch"], 1, "nosuch")
        self.assert_fails(["latency", "clear", "nosuch"], 1, "nosuch")
        # The MAC table and the counters are untouched too.
        wait_until(lambda: len(self.ctl_json("fdb", "show")["entries"]) == 2, 5, "fdb intact")

    def test_unreachable_daemon_exits_3(self):
        missing = os.path.join(self.sw.socket_dir, "missing.ctl")
        for args in (["port", "list"], ["version"], ["port", "add", "x", "type=vhostuser"],
                     ["stats", "--clear"], ["latency", "show", "--json"]):
            self.assert_fails(args, 3, f"cannot connect to {missing}", socket=missing)
        # A usage error is found before connecting.
        self.assert_fails(["port", "add"], 2, "NAME", socket=missing)


if __name__ == "__main__":
    unittest.main(verbosity=2)
