#!/usr/bin/env python3
"""Control-plane authorization (issue 15) against the real daemon.

- A real unprivileged user, created here (useradd) and removed after, in the control socket's
  read group: every read method answers, every state-changing one is refused with -32003 naming
  the role, and nothing changes.
- `port add w type=dpdk devargs=net_pcap1,rx_iface=lo,tx_pcap=<victim>` and its variations are
  refused for every role and the victim file is untouched; an allow-listed net_tap still works.
- vhost-user socket paths outside the allowed directories (absolute, "..", a symlinked
  directory, another service's socket) are refused with the directories in the message; inside,
  they work.
- Each admin port add/del is audited once with the caller's uid, pid and command name.
- State-changing calls are rate limited per uid (a second daemon with a tiny bucket).
"""

import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from faultlib import dp, rs

N = os.getpid() % 100000
USER = f"rtvsro{N}"
GROUP = f"rtvsro{N}"
READ_METHODS = [("version", None), ("list-commands", None), ("control.show", None),
                ("port.list", None), ("port.show", {"name": "a"}), ("fdb.show", None),
                ("pmd.show", None), ("pmd.perf", None), ("stats.show", None),
                ("latency.show", None)]

# The system's interpreter: one under root's home (pyenv) is not executable by the test user.
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else shutil.which("python3")

# Runs as the unprivileged user: one connection per request, replies as JSON lines.
CLIENT = r"""
import json, socket, sys
path, calls = sys.argv[1], json.loads(sys.argv[2])
for i, (method, params) in enumerate(calls):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    req = method if isinstance(method, list) else {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        req["params"] = params
    s.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    print(buf.decode().strip())
"""


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def file_state(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        return (st.st_size, st.st_mtime_ns, st.st_ino, f.read())


@unittest.skipUnless(os.geteuid() == 0, "needs root (useradd, DPDK)")
class ControlAuthz(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        sh("groupadd", GROUP)
        sh("useradd", "--no-create-home", "--gid", GROUP, "--shell", "/usr/sbin/nologin",
           "--home-dir", "/nonexistent", USER)
        cls.uid = pwd.getpwnam(USER).pw_uid
        cls.gid = grp.getgrnam(GROUP).gr_gid
        cls.g = dp.ProcessGroup("faults-authz")
        cls.extra = tempfile.mkdtemp(prefix="rtvs-authz-extra-")  # an --allowed-socket-dir
        cls.outside = tempfile.mkdtemp(prefix="rtvs-authz-out-")  # not allowed
        cls.victim = os.path.join(cls.outside, "victim")
        with open(cls.victim, "w") as f:
            f.write("precious contents\n")
        try:
            # The reader must reach the control socket in the group's directory.
            os.chmod(cls.g.tmpdir, 0o711)
            cls.sw = rs.Daemon(cls.g, ports=["a type=vhostuser"], memory_mb=128,
                               socket_dirs=[cls.extra],
                               args=["--control-read-group", GROUP])
        except Exception:
            cls.cleanup()
            raise

    @classmethod
    def cleanup(cls):
        cls.g.close()
        for d in (cls.extra, cls.outside):
            subprocess.run(["rm", "-rf", d])
        sh("userdel", USER, check=False)
        sh("groupdel", GROUP, check=False)

    @classmethod
    def tearDownClass(cls):
        cls.sw.stop()
        cls.cleanup()

    def as_reader(self, calls):
        r = subprocess.run([PYTHON, "-c", CLIENT, self.sw.control, json.dumps(calls)],
                           user=self.uid, group=self.gid, extra_groups=[], cwd="/",
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def state(self):
        return (self.sw.rpc("port.list")["ports"], sorted(os.listdir(self.g.tmpdir)),
                sorted(os.listdir(self.extra)), sorted(os.listdir(self.outside)))

    def names(self):
        return [p["name"] for p in self.sw.rpc("port.list")["ports"]]

    def assertRpcError(self, method, params, code, *words):
        with self.assertRaises(rs.RpcError) as cm:
            self.sw.rpc(method, params)
        self.assertEqual(cm.exception.code, code, cm.exception.message)
        for w in words:
            self.assertIn(w, cm.exception.message)
        return cm.exception.message

    def test_reader_reads_and_cannot_change_anything(self):
        before = self.state()
        replies = self.as_reader(READ_METHODS)
        for (method, _), r in zip(READ_METHODS, replies):
            self.assertIn("result", r, f"{method}: {r}")
        you = replies[2]["result"]["you"]
        self.assertEqual((you["uid"], you["gid"], you["role"]), (self.uid, self.gid, "read"))
        roles = {c["method"]: c["role"] for c in replies[1]["result"]["commands"]}
        for method, _ in READ_METHODS:
            self.assertEqual(roles[method], "read", method)
        mutating = [("port.add", {"name": "x", "options": {"type": "vhostuser"}}),
                    ("port.add", {"name": "t", "options": {"type": "dpdk",
                                                           "devargs": "net_null0"}}),
                    ("port.del", {"name": "a"}), ("fdb.flush", None), ("fdb.flush", {"port": "a"}),
                    ("stats.clear", None), ("stats.clear", {"port": "a"}),
                    ("latency.clear", None), ("no.such.method", None)]
        for method, _ in mutating[:-1]:
            self.assertEqual(roles[method], "admin", method)
        for (method, params), r in zip(mutating, self.as_reader(mutating)):
            if method == "no.such.method":
                self.assertEqual(r["error"]["code"], -32601, r)
                continue
            self.assertEqual(r["error"]["code"], -32003, f"{method}: {r}")
            self.assertEqual(r["error"]["message"],
                             f"permission denied: {method} needs role admin "
                             f"(uid {self.uid} has role read)")
        # A batch is checked call by call.
        batch = self.as_reader([[[{"jsonrpc": "2.0", "id": 1, "method": "version"},
                                  {"jsonrpc": "2.0", "id": 2, "method": "port.del",
                                   "params": {"name": "a"}}], None]])[0]
        self.assertIn("result", batch[0])
        self.assertEqual(batch[1]["error"]["code"], -32003)
        self.assertEqual(self.state(), before)
        log = self.sw.log()
        self.assertIn(f'audit: uid={self.uid} gid={self.gid} pid=', log)
        self.assertIn('role=read method="port.del" params={"name":"a"} result=error -32003', log)
        counters = self.sw.rpc("control.show")["counters"]
        self.assertGreaterEqual(counters["permission_denied"], len(mutating))

    def test_user_outside_the_groups_is_refused_at_connect(self):
        r = subprocess.run([PYTHON, "-c", CLIENT, self.sw.control,
                            json.dumps([["version", None]])],
                           user=self.uid, group=65534, extra_groups=[], cwd="/",
                           capture_output=True, text=True, timeout=60)
        # The socket file (group = the read group, mode 0660) does not let it connect at all.
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("PermissionError", r.stderr)

    def test_host_files_and_interfaces_refused_for_every_role(self):
        victim_before = file_state(self.victim)
        literal = "/tmp/victim"
        literal_before = file_state(literal) if os.path.exists(literal) else None
        before = self.state()
        v = self.victim
        bad = [f"net_pcap1,rx_iface=lo,tx_pcap={v}", f"net_pcap1,tx_pcap={v}",
               f"net_pcap1,rx_pcap={v}", f"net_pcap1,rx_pcap={v},tx_pcap={v}",
               "net_pcap1,iface=lo", "net_pcap1,rx_iface=lo", "net_pcap1,tx_iface=lo",
               "net_pcap1,rx_iface_in=lo", f"eth_pcap1,tx_pcap={v}",
               f"net_pcap1,rx_iface=[lo],tx_pcap=[{v}]", f"vdev:net_pcap1,tx_pcap={v}",
               f"bus=vdev,class=eth/driver=net_pcap,tx_pcap={v}", "net_af_packet0,iface=lo",
               "eth_af_packet0,iface=lo", "net_tap9,remote=lo", "net_tap9,iface=lo",
               f"net_vhost9,iface={v}", f"net_virtio_user9,path={v}",
               f"net_pcap1 ,tx_pcap={v}", f"net_pcap1,,tx_pcap={v}"]
        for devargs in bad:
            params = {"name": "w", "options": {"type": "dpdk", "devargs": devargs}}
            self.assertRpcError("port.add", params, -32602, "devargs", "refused")
            r = self.as_reader([["port.add", params]])[0]
            self.assertEqual(r["error"]["code"], -32003, r)
        # The exact call of the issue, through vswitchctl as root.
        r = self.sw.ctl("port", "add", "w", "type=dpdk",
                        "devargs=net_pcap1,rx_iface=lo,tx_pcap=/tmp/victim", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("devargs", r.stderr)
        self.assertIn("rx_iface=lo does not match", r.stderr)
        self.assertEqual(file_state(self.victim), victim_before)
        if literal_before is None:
            self.assertFalse(os.path.exists(literal))
        else:
            self.assertEqual(file_state(literal), literal_before)
        self.assertEqual(self.state(), before)

    def test_allow_listed_net_tap_works(self):
        ifname = f"rtvs{N}"
        res = self.sw.rpc("port.add", {"name": "tap", "options": {
            "type": "dpdk", "devargs": f"net_tap_authz{N},iface={ifname}"}})
        try:
            self.assertEqual(res["devargs"], f"net_tap_authz{N},iface={ifname}")
            self.assertTrue(os.path.exists(f"/sys/class/net/{ifname}"))
        finally:
            self.sw.rpc("port.del", {"name": "tap"})
        self.assertFalse(os.path.exists(f"/sys/class/net/{ifname}"))
        # Another host interface name is not the switch's to take.
        self.assertRpcError("port.add", {"name": "tap", "options": {
            "type": "dpdk", "devargs": "net_tap_authz1,iface=vnet0"}}, -32602,
            "iface=vnet0 does not match iface=rtvs*")

    def test_socket_paths_confined(self):
        real = [os.path.realpath(d) for d in (self.g.tmpdir, self.extra)]
        # Another service's live socket, outside.
        service = os.path.join(self.outside, "service.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(service)
        srv.listen(1)
        self.addCleanup(srv.close)
        os.symlink(self.outside, os.path.join(self.g.tmpdir, "escape"))
        os.symlink(service, os.path.join(self.extra, "service-link"))
        self.addCleanup(os.unlink, os.path.join(self.g.tmpdir, "escape"))
        self.addCleanup(os.unlink, os.path.join(self.extra, "service-link"))
        before = self.state()
        for kind in ("vhostuser", "vhostuserclient"):
            for path in (os.path.join(self.outside, "vm"),
                         os.path.join(self.g.tmpdir, "..", os.path.basename(self.outside), "vm"),
                         os.path.join(self.g.tmpdir, "escape", "vm"), service):
                msg = self.assertRpcError("port.add", {"name": "x", "options": {
                    "type": kind, "path": path}}, -32602, "outside the allowed socket directories")
                for d in real:
                    self.assertIn(d, msg)
            self.assertRpcError("port.add", {"name": "x", "options": {
                "type": kind, "path": os.path.join(self.extra, "service-link")}}, -32602,
                "symbolic link")
            self.assertRpcError("port.add", {"name": "x", "options": {
                "type": kind, "path": self.sw.control}}, -32602, "the daemon's control socket")
        self.assertEqual(self.state(), before)
        self.assertEqual(sorted(os.listdir(self.outside)), ["service.sock", "victim"])
        self.assertEqual(sorted(os.listdir(self.extra)), ["service-link"])
        # Inside: the socket directory and the extra one, also through "..".
        os.makedirs(os.path.join(self.extra, "sub"), exist_ok=True)
        self.sw.rpc("port.add", {"name": "in1", "options": {
            "type": "vhostuser", "path": os.path.join(self.extra, "sub", "..", "in1")}})
        st = os.stat(os.path.join(self.extra, "in1"))
        self.assertEqual(st.st_mode & 0o777, 0o660)
        self.sw.rpc("port.add", {"name": "in2", "options": {
            "type": "vhostuserclient", "path": os.path.join(self.g.tmpdir, "..",
                                                            os.path.basename(self.g.tmpdir),
                                                            "in2")}})
        self.assertEqual(sorted(self.names()), ["a", "in1", "in2"])
        self.sw.rpc("port.del", {"name": "in1"})
        self.sw.rpc("port.del", {"name": "in2"})
        os.rmdir(os.path.join(self.extra, "sub"))
        self.assertFalse(os.path.exists(os.path.join(self.extra, "in1")))

    def test_audit_lines(self):
        def ctl(*args):
            p = subprocess.Popen([rs.ctl_binary(), "--socket", self.sw.control, *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            return p.pid

        add = ctl("port", "add", "aud", "type=vhostuser")
        dele = ctl("port", "del", "aud")
        failed = subprocess.run([rs.ctl_binary(), "--socket", self.sw.control, "port", "del",
                                 "aud"], capture_output=True, text=True)
        self.assertEqual(failed.returncode, 1)
        deadline = time.monotonic() + 5
        while True:
            lines = [ln for ln in self.sw.log().splitlines() if " audit: " in ln]
            if any("result=error -32001" in ln for ln in lines) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        add_lines = [ln for ln in lines if f"pid={add} " in ln]
        del_lines = [ln for ln in lines if f"pid={dele} " in ln]
        self.assertEqual(len(add_lines), 1, lines)
        self.assertEqual(len(del_lines), 1, lines)
        self.assertIn(" info ", add_lines[0])
        self.assertIn(f'audit: uid=0 gid=0 pid={add} comm="vswitchctl" role=admin '
                      f'method="port.add" params={{"name":"aud","options":{{"type":"vhostuser"}}}}'
                      f' result=ok', add_lines[0])
        self.assertIn(f'audit: uid=0 gid=0 pid={dele} comm="vswitchctl" role=admin '
                      f'method="port.del" params={{"name":"aud"}} result=ok', del_lines[0])
        self.assertTrue(any('method="port.del" params={"name":"aud"} result=error -32001' in ln
                            for ln in lines), lines)
        # Reads are not audited.
        self.assertFalse(any('method="port.list"' in ln for ln in lines))


@unittest.skipUnless(os.geteuid() == 0, "needs root (DPDK)")
class RateLimit(unittest.TestCase):
    def test_mutations_are_rate_limited_per_uid(self):
        with dp.ProcessGroup("faults-rate") as g:
            sw = rs.Daemon(g, memory_mb=128,
                           args=["--control-mutation-rate", "2", "--control-mutation-burst", "5"])
            codes = []
            for _ in range(8):
                try:
                    sw.rpc("fdb.flush")
                    codes.append(0)
                except rs.RpcError as e:
                    codes.append(e.code)
                    self.assertIn("rate limited: uid 0", e.message)
            self.assertEqual(codes[:5], [0] * 5)
            self.assertIn(-32004, codes[5:])
            sw.rpc("port.list")  # reads are not limited
            show = sw.rpc("control.show")
            self.assertGreaterEqual(show["counters"]["rate_limited"], 1)
            self.assertEqual(show["limits"], {"mutation_rate": 2, "mutation_burst": 5})
            time.sleep(0.6)  # one token back at 2/s
            sw.rpc("fdb.flush")
            self.assertIn("control: rate limited: uid 0", sw.log())
            sw.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
