#!/usr/bin/env python3
"""Durable ports: every port.add/del/set is in the state file before it is answered.

Crash consistency: a stream of add/del/set requests while the daemon is SIGKILLed at a random
moment, many rounds; after each restart the ports (names, options, external ids) equal every
acknowledged request in order, plus possibly the one in flight, and the state file parses. The
ports are vhostuserclient ports to sockets nobody serves yet (the switch keeps retrying), so no
guests are needed. RTVS_CRASH_ROUNDS sets the number of rounds (default 4 in CI).

Damaged state files (truncated, garbage, wrong types; a port whose socket directory is gone): a
clear error in the log, the file kept aside (never overwritten), the rest starts."""

import glob
import json
import os
import random
import shutil
import signal
import threading
import time
import unittest

from itlib import dp, rs, wait_until

ROUNDS = int(os.environ.get("RTVS_CRASH_ROUNDS", "4"))


def load(path):
    with open(path) as f:
        return json.load(f)


def read_text(path):
    with open(path) as f:
        return f.read()


def port_view(sw):
    """{name: (mtu, latency budget, external ids)} of the running ports."""
    out = {}
    for p in sw.rpc("port.list")["ports"]:
        show = sw.rpc("port.show", {"name": p["name"]})
        out[p["name"]] = (int(show["options"]["mtu"]),
                          int(show["options"]["latency-budget-us"]), p["external_ids"])
    return out


class Model:
    """The ports every acknowledged request leads to."""

    def __init__(self):
        self.ports = {}

    def copy(self):
        m = Model()
        m.ports = {k: (v[0], v[1], dict(v[2])) for k, v in self.ports.items()}
        return m

    def apply(self, op):
        kind, name, arg = op
        if kind == "add":
            self.ports[name] = (1500, 0, dict(arg))
        elif kind == "del":
            self.ports.pop(name, None)
        elif kind == "set":
            mtu, budget, ids = self.ports[name]
            opts, id_changes = arg
            mtu = int(opts.get("mtu", mtu))
            budget = int(opts.get("latency-budget-us", budget))
            ids = dict(ids)
            for k, v in id_changes.items():
                if v is None:
                    ids.pop(k, None)
                else:
                    ids[k] = v
            self.ports[name] = (mtu, budget, ids)


class DurableState(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-state")
        self.addCleanup(self.g.close)
        self.state = os.path.join(self.g.tmpdir, "state", "ports.json")

    def start(self, **kw):
        self.sw = rs.Daemon(self.g, state_file=self.state, memory_mb=128, mbufs=4096, **kw)
        return self.sw

    def path(self, name):
        return os.path.join(self.g.tmpdir, f"{name}.sock")

    def next_op(self, model, rnd, counter):
        names = sorted(model.ports)
        r = rnd.random()
        if not names or (r < 0.45 and len(names) < 12):
            n = f"vhu{next(counter):04d}-{rnd.randrange(16**8):08x}"
            return ("add", n, {"iface-id": f"id-{n}", "vm-uuid": f"vm{rnd.randrange(99)}"})
        name = rnd.choice(names)
        if r < 0.7:
            return ("del", name, None)
        opts = {}
        if rnd.random() < 0.7:
            opts["mtu"] = str(rnd.choice([1500, 2000, 9000]))
        if rnd.random() < 0.5:
            opts["latency-budget-us"] = str(rnd.randrange(0, 500))
        ids = {"vm-uuid": None} if rnd.random() < 0.3 else {"slot": str(rnd.randrange(10))}
        return ("set", name, (opts, ids))

    def send(self, op):
        kind, name, arg = op
        if kind == "add":
            self.sw.rpc("port.add", {"name": name, "options": {"type": "vhostuserclient",
                                                              "path": self.path(name)},
                                     "external_ids": arg}, timeout=10)
        elif kind == "del":
            self.sw.rpc("port.del", {"name": name}, timeout=10)
        else:
            self.sw.rpc("port.set", {"name": name, "options": arg[0], "external_ids": arg[1]},
                        timeout=10)

    def test_crash_consistency(self):
        rnd = random.Random(int(os.environ.get("RTVS_CRASH_SEED", "0")) or None)
        counter = iter(range(1, 1 << 30))
        self.start()
        model = Model()
        acked_total = 0
        for rnd_no in range(ROUNDS):
            stop = threading.Event()
            state = {"model": model, "inflight": None, "acked": 0, "error": None}

            def stream():
                m = state["model"]
                while not stop.is_set():
                    op = self.next_op(m, rnd, counter)
                    state["inflight"] = op
                    try:
                        self.send(op)
                    except Exception as e:  # noqa: BLE001 - the kill cuts the request
                        if not stop.is_set():
                            state["error"] = e
                        return
                    m = m.copy()
                    m.apply(op)
                    state["model"] = m
                    state["inflight"] = None
                    state["acked"] += 1

            t = threading.Thread(target=stream)
            t.start()
            time.sleep(rnd.uniform(0.2, 1.5))
            stop.set()
            os.kill(self.sw.pid, signal.SIGKILL)
            self.sw.proc.proc.wait()
            t.join(30)
            self.assertIsNone(state["error"], f"round {rnd_no}: a request failed")
            acked_total += state["acked"]
            with open(self.state) as f:
                json.load(f)  # parses after every kill
            self.sw.restart()
            got = port_view(self.sw)
            want = state["model"].ports
            if got != want and state["inflight"] is not None:
                with_inflight = state["model"].copy()
                with_inflight.apply(state["inflight"])
                want_alt = with_inflight.ports
                self.assertEqual(got, want_alt, f"round {rnd_no}: ports differ from the "
                                 f"acknowledged requests (with or without {state['inflight']})")
                model = with_inflight
            else:
                self.assertEqual(got, want, f"round {rnd_no}: ports differ from the acknowledged "
                                 "requests")
                model = state["model"]
            self.assertNotIn("cannot be recreated", self.sw.log())
        print(f"\ncrash consistency: {ROUNDS} rounds, {acked_total} acknowledged requests, "
              f"{len(model.ports)} ports at the end", flush=True)

    def test_invalid_socket_path_is_kept_not_deleted(self):
        sub = os.path.join(self.g.tmpdir, "vms")
        os.mkdir(sub)
        self.start()
        self.sw.rpc("port.add", {"name": "keep", "options": {"type": "vhostuserclient",
                                                            "path": self.path("keep")}})
        self.sw.rpc("port.add", {"name": "gone", "options": {"type": "vhostuserclient",
                                                            "path": os.path.join(sub, "g.sock")},
                                 "external_ids": {"iface-id": "G"}})
        self.sw.kill()
        shutil.rmtree(sub)
        self.sw.restart()
        names = [p["name"] for p in self.sw.rpc("port.list")["ports"]]
        self.assertEqual(names, ["keep"])
        unrestored = self.sw.rpc("port.list")["unrestored"]
        self.assertEqual([u["name"] for u in unrestored], ["gone"])
        self.assertIn("does not exist", unrestored[0]["error"])
        self.assertIn('port gone: cannot be recreated: port "gone": path: directory', self.sw.log())
        r = self.sw.ctl("port", "list")
        self.assertIn("gone: port \"gone\": path: directory", r.stdout)
        # Still saved, as it was: a later change to other ports keeps it.
        self.sw.rpc("port.set", {"name": "keep", "options": {"mtu": "2000"}})
        saved = {p["name"]: p for p in load(self.state)["ports"]}
        self.assertEqual(saved["gone"]["external_ids"], {"iface-id": "G"})
        with self.assertRaises(rs.RpcError) as e:
            self.sw.rpc("port.set", {"name": "gone", "options": {"mtu": "2000"}})
        self.assertIn("could not be recreated", e.exception.message)
        # The directory is back: port add of the same name works and replaces the saved one.
        os.mkdir(sub)
        self.sw.rpc("port.add", {"name": "gone", "options": {"type": "vhostuserclient",
                                                            "path": os.path.join(sub, "g.sock")}})
        self.assertNotIn("unrestored", self.sw.rpc("port.list"))
        self.sw.rpc("port.del", {"name": "gone"})
        self.assertEqual([p["name"] for p in load(self.state)["ports"]], ["keep"])

    def test_damaged_state_files(self):
        config_port = f"cfg type=vhostuserclient path={self.path('cfg')}"
        os.makedirs(os.path.dirname(self.state), exist_ok=True)
        good = {"version": 1, "ports": [{"name": "rt", "options": {
            "type": "vhostuserclient", "path": self.path("rt")}, "external_ids": {}}]}
        good_text = json.dumps(good)
        cases = {
            "truncated": good_text[:len(good_text) // 2],
            "garbage": "\x00\x01not json at all\xff",
            "wrong types": json.dumps({"version": 1, "ports": [{"name": 7}]}),
            "wrong version": json.dumps({"version": "1", "ports": []}),
        }
        first = True
        for what, text in cases.items():
            with self.subTest(what):
                for f in glob.glob(self.state + "*"):
                    os.unlink(f)
                with open(self.state, "w", encoding="latin-1") as f:
                    f.write(text)
                if first:
                    self.start(ports=[config_port])
                    first = False
                else:
                    self.sw.kill()
                    self.sw.restart()
                names = [p["name"] for p in self.sw.rpc("port.list")["ports"]]
                self.assertEqual(names, ["cfg"], "the config file's ports start")
                aside = glob.glob(self.state + ".bad-*")
                self.assertEqual(len(aside), 1, f"{what}: kept aside once: {aside}")
                with open(aside[0], encoding="latin-1") as f:
                    self.assertEqual(f.read(), text, "kept byte for byte")
                errors = [ln for ln in self.sw.log().splitlines()
                          if " error " in ln and "state file" in ln]
                self.assertTrue(errors, self.sw.log()[-2000:])
                self.assertIn(f"kept as {aside[0]}", errors[-1])
                with open(self.state) as f:
                    saved = json.load(f)  # a fresh, valid file
                self.assertEqual([p["name"] for p in saved["ports"]], ["cfg"])
        # A second damaged file at the same second never replaces the first one kept aside.
        with open(self.state, "w") as f:
            f.write("{")
        self.sw.kill()
        self.sw.restart()
        with open(self.state, "w") as f:
            f.write("[")
        self.sw.kill()
        self.sw.restart()
        kept = sorted(read_text(p) for p in glob.glob(self.state + ".bad-*"))
        self.assertIn("{", kept)
        self.assertIn("[", kept)

    def test_config_file_wins_and_restart_keeps_runtime_ports(self):
        cfg = f"c type=vhostuserclient path={self.path('c')} mtu=1500"
        self.start(ports=[cfg])
        self.sw.rpc("port.add", {"name": "r", "options": {"type": "vhostuserclient",
                                                         "path": self.path("r"), "mtu": "9000"},
                                 "external_ids": {"iface-id": "R"}})
        self.sw.rpc("port.set", {"name": "c", "options": {"mtu": "2000"}})
        self.assertEqual(self.sw.stop(), 0)  # a clean stop keeps the state too
        self.sw.restart()
        view = port_view(self.sw)
        self.assertEqual(view["r"], (9000, 0, {"iface-id": "R"}))
        self.assertEqual(view["c"][0], 1500, "the config file wins for its own ports")
        self.assertIn("the config file's [[port]] wins", self.sw.log())
        self.assertEqual(self.sw.rpc("port.list", {"external_ids": {"iface-id": "R"}})["ports"][0]
                         ["name"], "r")

    def test_no_state(self):
        sw = rs.Daemon(self.g, memory_mb=128, mbufs=4096)
        sw.rpc("port.add", {"name": "x", "options": {"type": "vhostuserclient",
                                                    "path": self.path("x")}})
        sw.kill()
        sw.restart()
        self.assertEqual(sw.rpc("port.list")["ports"], [])
        self.assertFalse(os.path.exists(self.state))


if __name__ == "__main__":
    unittest.main(verbosity=2)
