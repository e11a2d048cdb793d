#!/usr/bin/env python3
"""Guest socket directory and control socket as the shipped files set them up
(configs/rtvswitch.service, configs/rtvswitch.toml, configs/rtvswitch-rt-guest.xml), in a
scratch copy of /run/rtvswitch:

- the three files agree: the XML's socket lies in the toml's socket-dir, the toml names a
  socket-dir-group and socket-dir-mode, the unit's RuntimeDirectoryMode lets QEMU pass through;
- a process running as an unprivileged user in socket-dir-group (as QEMU under libvirt, user
  libvirt-qemu) can create the server socket where the XML puts it, and the switch connects to it
  (a vhostuserclient port);
- users outside the group cannot create sockets there, and neither they nor the guest user can
  connect to the control socket.
The users and the group are created with useradd/groupadd and removed afterwards."""

import os
import re
import socket
import stat
import subprocess
import textwrap
import unittest

from itlib import dp, rs

# The system's interpreter: one under root's home (pyenv) is out of the test users' reach.
PYTHON = "/usr/bin/python3"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return f.read()


def toml_value(text, key):
    m = re.search(rf'^{re.escape(key)} = "([^"]*)"', text, re.M)
    if not m:
        raise AssertionError(f"configs/rtvswitch.toml has no {key}")
    return m.group(1)


def as_user(user, code, timeout=20):
    """Runs Python `code` as `user` (its own groups, no root): (exit code, output)."""
    r = subprocess.run(["setpriv", "--reuid", user, "--regid", "nogroup", "--init-groups",
                        "--inh-caps=-all", PYTHON, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip()


class SocketDirs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (useradd, chown)")
        n = os.getpid() % 100000
        cls.group = f"rtvsqemu{n}"
        cls.guest_user = f"rtvsvm{n}"
        cls.other_user = f"rtvsout{n}"
        cls.made = []
        try:
            subprocess.run(["groupadd", cls.group], check=True, capture_output=True)
            cls.made.append(("groupdel", cls.group))
            for user, extra in ((cls.guest_user, ["-G", cls.group]), (cls.other_user, [])):
                subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-s", "/usr/sbin/nologin",
                                *extra, user], check=True, capture_output=True)
                cls.made.insert(0, ("userdel", user))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for cmd, name in cls.made:
            subprocess.run([cmd, name], capture_output=True)

    def setUp(self):
        self.g = dp.ProcessGroup("it-sockdir")
        self.addCleanup(self.g.close)

    def test_shipped_files_agree_and_guest_user_creates_the_socket(self):
        toml = read("configs/rtvswitch.toml")
        unit = read("configs/rtvswitch.service")
        xml = read("configs/rtvswitch-rt-guest.xml")
        socket_dir = toml_value(toml, "socket-dir")
        control = toml_value(toml, "control-socket")
        self.assertEqual(toml_value(toml, "socket-dir-group"), "libvirt-qemu")
        mode = int(toml_value(toml, "socket-dir-mode"), 8)
        xml_path = re.search(r"<source type='unix' path='([^']+)' mode='server'/>", xml).group(1)
        self.assertEqual(os.path.dirname(xml_path), socket_dir, "the XML's socket is in socket-dir")
        run_dir = os.path.dirname(control)
        self.assertEqual(run_dir, "/run/rtvswitch")
        self.assertEqual(os.path.dirname(socket_dir), run_dir)
        self.assertIn("RuntimeDirectory=rtvswitch\n", unit)
        run_mode = int(re.search(r"^RuntimeDirectoryMode=([0-7]+)$", unit, re.M).group(1), 8)
        self.assertIn("StateDirectory=rtvswitch\n", unit)

        # A scratch /run/rtvswitch with the unit's mode, reachable from the group's directory.
        os.chmod(self.g.tmpdir, 0o711)
        run = os.path.join(self.g.tmpdir, "run")
        os.mkdir(run)
        os.chmod(run, run_mode)
        vhost = os.path.join(run, os.path.basename(socket_dir))
        ctl_path = os.path.join(run, os.path.basename(control))
        sw = rs.Daemon(self.g, control=ctl_path, socket_dir=vhost,
                       args=["--socket-dir-group", self.group, "--socket-dir-mode", f"{mode:o}"],
                       memory_mb=128, mbufs=4096)
        st = os.stat(vhost)
        self.assertEqual(st.st_gid, int(subprocess.check_output(
            ["getent", "group", self.group], text=True).split(":")[2]))
        self.assertEqual(stat.S_IMODE(st.st_mode), mode)

        # The guest user creates the server socket where the XML puts it; the switch connects.
        sock = os.path.join(vhost, os.path.basename(xml_path))
        server = subprocess.Popen(
            ["setpriv", "--reuid", self.guest_user, "--regid", "nogroup", "--init-groups",
             "--inh-caps=-all", PYTHON, "-c", textwrap.dedent(f"""
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind({sock!r})
                s.listen(1)
                print("listening", flush=True)
                s.settimeout(30)
                c, _ = s.accept()
                print("accepted", flush=True)
                """)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(server.stdout.close)
        self.addCleanup(lambda: server.poll() is None and server.kill())
        self.assertEqual(server.stdout.readline().strip(), "listening")
        self.assertEqual(os.stat(sock).st_gid, st.st_gid, "setgid directory: socket in the group")
        sw.ctl("port", "add", "rtvm1", "type=vhostuserclient", f"path={sock}")
        out, _ = server.communicate(timeout=30)
        self.assertIn("accepted", out, "the switch connected to the guest user's socket")

        # Outside the group: no socket in the directory, no control socket.
        code, out = as_user(self.other_user, f"""
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind({os.path.join(vhost, "intruder.sock")!r})""")
        self.assertNotEqual(code, 0)
        self.assertIn("PermissionError", out)
        for user in (self.other_user, self.guest_user):
            code, out = as_user(user, f"""
                import socket
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect({ctl_path!r})""")
            self.assertNotEqual(code, 0, f"{user} reached the control socket")
            self.assertIn("PermissionError", out, user)
        # Root still does.
        self.assertIn("rtvm1", [p["name"] for p in sw.rpc("port.list")["ports"]])

    def test_missing_group_is_a_clear_error(self):
        with self.assertRaises(RuntimeError) as e:
            rs.Daemon(self.g, args=["--socket-dir-group", "rtvs-no-such-group"], memory_mb=128,
                      mbufs=4096)
        self.assertIn('socket-dir-group: no group named "rtvs-no-such-group"', str(e.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
