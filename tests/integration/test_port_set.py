#!/usr/bin/env python3
"""Idempotent verbs and run-time changes with real DPDK guests:

- `port add --may-exist` with the same spec (success, nothing changed) and a different one (a
  clear error naming what differs), `port del --if-exists`, plain add/del errors unchanged;
- `port set` of every settable option (mtu, latency-budget-us, tx-retry-us, external ids) on a
  port while
  a→b traffic runs: b loses nothing; the changes take effect (a frame over b's old MTU passes
  after `port set b mtu=9000`, and is dropped again after mtu=1500);
- options that need a re-create, bad values, unknown keys, unknown ports: a clear error, nothing
  changed (port.show identical);
- external ids: shown by port list/show (human and --json), filtered by --external-id, exported as
  rtvswitch_port_info on the metrics endpoint."""

import json
import threading
import time
import unittest
import urllib.request

from itlib import SwitchAndGuest, mac, rs

A, B = 0, 1
MA, MB = mac(0x2A), mac(0x2B)
RATE = 20000
METRICS = "127.0.0.1:19478"


class PortSet(SwitchAndGuest):
    GROUP = "it-portset"
    PORTS = (("a", "", "queue_size=256", MA), ("b", "", "mtu=9000,queue_size=1024", MB))
    DAEMON_ARGS = ("--metrics-listen", METRICS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c_path = cls.g.socket("c")  # nobody serves it: a port without a guest

    def setUp(self):
        self.sw.rpc("port.del", {"name": "c", "if_exists": True})
        self.sw.rpc("port.add", {"name": "c", "options": {"type": "vhostuserclient",
                                                         "path": self.c_path},
                                 "external_ids": {"iface-id": "C1"}})

    def ctl_fails(self, *args, code=1):
        r = self.sw.ctl(*args, check=False)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        return r.stderr.strip()

    def show(self, name):
        p = self.sw.rpc("port.show", {"name": name})
        p.pop("stats")
        for k in ("rx_packets", "tx_packets", "drops", "state"):
            p.pop(k)
        return p

    def test_may_exist_and_if_exists(self):
        before = self.show("c")
        same = self.sw.ctl("port", "add", "--may-exist", "c", "type=vhostuserclient",
                           f"path={self.c_path}", "queues=1", "external-ids:iface-id=C1")
        self.assertRegex(same.stdout, r"(?m)^external-ids +: iface-id=C1$")
        self.assertEqual(self.show("c"), before)
        err = self.ctl_fails("port", "add", "--may-exist", "c", "type=vhostuserclient",
                             f"path={self.c_path}", "mtu=9000", "external-ids:iface-id=C2")
        self.assertIn('port "c" exists with a different spec: mtu: "1500" now, "9000" asked; '
                      'external-ids:iface-id: "C1" now, "C2" asked', err)
        err = self.ctl_fails("port", "add", "--may-exist", "c", "type=vhostuserclient",
                             f"path={self.c_path}")
        self.assertIn('external-ids:iface-id: "C1" now, (none) asked', err)
        self.assertIn('port "c" exists', self.ctl_fails("port", "add", "c", "type=vhostuserclient",
                                                       f"path={self.c_path}"))
        self.assertEqual(self.show("c"), before)
        r = self.sw.ctl("port", "del", "--if-exists", "nosuch")
        self.assertEqual(r.stdout, "no port nosuch: nothing deleted\n")
        self.assertIn('no port named "nosuch"', self.ctl_fails("port", "del", "nosuch"))
        self.assertEqual(json.loads(self.sw.ctl("--json", "port", "del", "--if-exists", "c").stdout),
                         {"name": "c", "deleted": True})
        self.assertEqual(self.sw.rpc("port.del", {"name": "c", "if_exists": True}),
                         {"name": "c", "deleted": False})
        # A 64-character name (a "vhu" + UUID fits).
        long_name = "vhu" + "3f2b8c1e-7d4a-4b6e-9c1f-0a2b3c4d5e6f" + "x" * 25
        self.assertEqual(len(long_name), 64)
        self.sw.rpc("port.add", {"name": long_name, "options": {"type": "vhostuser"}})
        self.assertIn(long_name, self.sw.ctl("port", "list").stdout)
        self.sw.rpc("port.del", {"name": long_name})
        self.assertIn("name: must be 1-64 characters",
                      self.ctl_fails("port", "add", long_name + "y", "type=vhostuser"))

    def traffic_during(self, action, flow):
        result = {}
        t = threading.Thread(target=lambda: result.update(
            self.guest.send(A, count=int(RATE * 2.0), dst=MB, rate=RATE, flow=flow,
                            timeout=120)))
        self.guest.clear()
        self.sw.rpc("stats.clear")
        t.start()
        time.sleep(0.3)
        action()
        t.join()
        sent = result["sent"]
        st = self.guest.stats_settled(B, expect_rx=sent, timeout=5)
        self.assertEqual(st["rx_by_flow"].get(str(flow), 0), sent,
                         f"port b lost frames; switch drops: {self.sw.port_stats('b')['drops']}")
        self.assertEqual(st["rx_dup"], 0)

    def test_set_each_settable_option_under_traffic(self):
        def sets():
            for args in (["mtu=9000"], ["latency-budget-us=250"], ["external-ids:vm-uuid=U1"],
                         ["external-ids:iface-id="], ["mtu=1500", "latency-budget-us=0"],
                         ["tx-retry-us=0"],
                         ["tag=10"], ["trunks=10,20", "vlan-mode=native-untagged"],
                         ["allowed-macs=52:54:00:00:00:09", "mac-limit=4"],
                         ["storm-broadcast-pps=1000", "storm-multicast-pps=1000",
                          "storm-unknown-unicast-pps=1000"]):
                self.sw.ctl("port", "set", "c", *args)
                time.sleep(0.1)
            # On the receiving port itself, too.
            self.sw.ctl("port", "set", "b", "latency-budget-us=1000")
            self.sw.ctl("port", "set", "b", "latency-budget-us=0", "external-ids:role=rx")
            # The tx buffer's bound, both ways: b's guest keeps up, nothing is lost.
            self.sw.ctl("port", "set", "b", "tx-retry-us=0")
            time.sleep(0.2)
            self.sw.ctl("port", "set", "b", "tx-retry-us=10000")
            time.sleep(0.2)
            self.sw.ctl("port", "set", "b", "tx-retry-us=20")
        self.traffic_during(sets, flow=21)
        c = self.sw.rpc("port.show", {"name": "c"})
        self.assertEqual(c["mtu"], 1500)
        self.assertEqual(c["external_ids"], {"vm-uuid": "U1"})
        for k, v in (("tag", "10"), ("trunks", "10,20"), ("vlan-mode", "native-untagged"),
                     ("allowed-macs", "52:54:00:00:00:09"), ("mac-limit", "4"),
                     ("storm-broadcast-pps", "1000"), ("tx-retry-us", "0")):
            self.assertEqual(c["options"].get(k), v, k)
        self.assertEqual(self.sw.rpc("latency.show", {"port": "c"})["ports"][0]
                         ["latency_budget_us"], 0)
        self.assertEqual(self.sw.rpc("port.show", {"name": "b"})["external_ids"], {"role": "rx"})
        self.sw.rpc("port.set", {"name": "b", "external_ids": {"role": None}})

    def test_mtu_takes_effect(self):
        def jumbo(flow):
            self.guest.clear()
            self.sw.rpc("stats.clear")
            sent = self.guest.send(A, count=100, dst=MB, size=4000, flow=flow)["sent"]
            self.guest.stats_settled(B, expect_rx=sent, timeout=3)
            self.sw.wait_settled()
            return sent, self.guest.port_stats(B)["rx_by_flow"].get(str(flow), 0), \
                self.sw.port_stats("b")["drops"]["mtu"]
        sent, got, dropped = jumbo(31)
        self.assertEqual((got, dropped), (0, sent), "over b's MTU 1500: dropped and counted")
        out = self.sw.ctl("port", "set", "b", "mtu=9000").stdout
        self.assertRegex(out, r"(?m)^mtu +: 9000 bytes$")
        try:
            sent, got, dropped = jumbo(32)
            self.assertEqual((got, dropped), (sent, 0), "after port set b mtu=9000 they pass")
        finally:
            self.sw.ctl("port", "set", "b", "mtu=1500")
        sent, got, dropped = jumbo(33)
        self.assertEqual((got, dropped), (0, sent), "back at 1500: dropped again")

    def test_bad_set_changes_nothing(self):
        before = self.show("c")
        cases = [
            (["queues=2"], 'port "c": queues: cannot change on a running port; delete and add '
                           "the port again"),
            ([f"path={self.c_path}x"], "path: cannot change on a running port"),
            (["type=vhostuser"], "type: cannot change on a running port"),
            (["mtu=67"], "mtu: must be 68..9600, got 67"),
            (["mtu=9000", "latency-budget-us=x"], "latency-budget-us: must be an integer"),
            (["tx-retry-us=10001"], "tx-retry-us: must be 0..10000, got 10001"),
            (["colour=red"], '"colour": unknown key'),
            (["external-ids:a b=1"], "external-ids: key must be"),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                self.assertIn(want, self.ctl_fails("port", "set", "c", *args))
                self.assertEqual(self.show("c"), before)
        # The current value of a re-create option is accepted (no change).
        self.sw.ctl("port", "set", "c", "queues=1", f"path={self.c_path}")
        self.assertEqual(self.show("c"), before)
        self.assertIn('no port named "nosuch"', self.ctl_fails("port", "set", "nosuch", "mtu=1500"))
        self.assertIn("OPTIONS is required", self.ctl_fails("port", "set", "c", code=2))
        with self.assertRaises(rs.RpcError) as e:
            self.sw.rpc("port.set", {"name": "c", "external_ids": {"k": 5}})
        self.assertEqual(e.exception.code, -32602)
        self.assertEqual(self.show("c"), before)

    def test_external_ids_list_filter_and_metrics(self):
        self.sw.rpc("port.set", {"name": "a", "external_ids": {"iface-id": "A1", "vm-uuid": "VA",
                                                               "k8s.io/pod": "ns/web-0"}})
        try:
            r = self.sw.ctl("port", "list", "--external-id", "iface-id=A1")
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), 2, r.stdout)
            self.assertTrue(lines[0].endswith("EXTERNAL-IDS"))
            self.assertTrue(lines[1].startswith("a "))
            self.assertIn("iface-id=A1,k8s.io/pod=ns/web-0,vm-uuid=VA", lines[1])
            js = json.loads(self.sw.ctl("--json", "port", "list", "--external-id", "vm-uuid=VA",
                                        "--external-id", "iface-id=A1").stdout)
            self.assertEqual([p["name"] for p in js["ports"]], ["a"])
            js = json.loads(self.sw.ctl("--json", "port", "list", "--external-id", "iface-id=no")
                            .stdout)
            self.assertEqual(js["ports"], [])
            show = self.sw.ctl("port", "show", "a").stdout
            self.assertRegex(show, r"(?m)^external-ids +: iface-id=A1,k8s.io/pod=ns/web-0,vm-uuid=VA$")
            text = urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=10).read().decode()
            self.assertIn('rtvswitch_port_info{port="a",iface_id="A1",k8s_io_pod="ns/web-0",'
                          'vm_uuid="VA"} 1', text)
            self.assertIn('rtvswitch_port_info{port="b"} 1', text)
            self.assertIn('rtvswitch_port_info{port="c",iface_id="C1"} 1', text)
            self.assertEqual(self.ctl_fails("port", "list", "--external-id", "novalue", code=2),
                             "vswitchctl: --external-id: expected KEY=VALUE, got 'novalue'")
        finally:
            self.sw.rpc("port.set", {"name": "a", "external_ids": {
                "iface-id": None, "vm-uuid": None, "k8s.io/pod": None}})


if __name__ == "__main__":
    unittest.main(verbosity=2)
