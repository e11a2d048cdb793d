#!/usr/bin/env python3
"""`vswitchctl port add` with socket paths that cannot work: too long for sockaddr_un (over 107
bytes), in a missing directory, an existing file (type=vhostuser creates the socket), a path
another port already uses. Each gives a clear error (message and exit code checked) and changes
nothing: no file is created or removed, port.list is unchanged, and the daemon keeps working."""

import os
import stat
import unittest

from faultlib import dp, rs

USAGE, DAEMON_ERROR = 2, 1


class PortAddErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.g = dp.ProcessGroup("faults-port")
        try:
            cls.sw = rs.Daemon(cls.g, ports=["a type=vhostuser"], memory_mb=128)
        except Exception:
            cls.g.close()
            raise
        cls.path_a = cls.sw.rpc("port.show", {"name": "a"})["path"]

    @classmethod
    def tearDownClass(cls):
        cls.sw.stop()
        cls.g.close()

    def port_list(self):
        return [(p["name"], p["type"], p["path"]) for p in self.sw.rpc("port.list")["ports"]]

    def assertRefused(self, args, codes, *words):
        """Runs `vswitchctl port add ARGS`; checks exit code, message, nothing changed."""
        before = self.port_list()
        files_before = sorted(os.listdir(self.g.tmpdir))
        r = self.sw.ctl("port", "add", *args, check=False)
        self.assertIn(r.returncode, codes, f"exit code; stderr: {r.stderr}")
        message = r.stderr.strip()
        self.assertEqual(len(message.splitlines()), 1, f"not one line: {message!r}")
        for w in words:
            self.assertIn(w, message)
        self.assertEqual(self.port_list(), before)
        self.assertEqual(sorted(os.listdir(self.g.tmpdir)), files_before)
        self.assertTrue(self.sw.proc.alive())
        return message

    def test_path_too_long(self):
        for kind in ("vhostuserclient", "vhostuser"):
            path = os.path.join(self.g.tmpdir, "x" * (108 - len(self.g.tmpdir)) + ".sock")
            self.assertGreater(len(path), 107)
            self.assertRefused(["long", f"type={kind}", f"path={path}"], (USAGE, DAEMON_ERROR),
                               "path", "107")
            self.assertFalse(os.path.exists(path))

    def test_path_in_missing_directory(self):
        missing = os.path.join(self.g.tmpdir, "no-such-dir")
        for kind in ("vhostuserclient", "vhostuser"):
            path = os.path.join(missing, "p.sock")
            self.assertRefused(["lost", f"type={kind}", f"path={path}"], (USAGE, DAEMON_ERROR),
                               "path", "does not exist")
            self.assertFalse(os.path.exists(missing))

    def test_existing_file_for_vhostuser(self):
        path = os.path.join(self.g.tmpdir, "taken.sock")
        with open(path, "w") as f:
            f.write("not a socket\n")
        try:
            self.assertRefused(["taken", "type=vhostuser", f"path={path}"], (DAEMON_ERROR,),
                               path, "exists")
            st = os.lstat(path)
            self.assertTrue(stat.S_ISREG(st.st_mode), "the existing file was replaced")
            with open(path) as f:
                self.assertEqual(f.read(), "not a socket\n")
        finally:
            os.unlink(path)

    def test_path_of_another_port(self):
        for kind in ("vhostuserclient", "vhostuser"):
            self.assertRefused(["dup", f"type={kind}", f"path={self.path_a}"], (DAEMON_ERROR,),
                               self.path_a, 'port "a"')
            self.assertTrue(stat.S_ISSOCK(os.lstat(self.path_a).st_mode),
                            "port a's socket is gone")

    def test_name_taken(self):
        path = os.path.join(self.g.tmpdir, "other.sock")
        self.assertRefused(["a", "type=vhostuserclient", f"path={path}"], (DAEMON_ERROR,),
                           'port "a"', "exists")

    def test_zz_still_works(self):
        """After all refusals a good port add works and its socket appears."""
        path = os.path.join(self.g.tmpdir, "good.sock")
        self.sw.ctl("port", "add", "good", "type=vhostuser", f"path={path}")
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        self.sw.ctl("port", "del", "good")
        self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    unittest.main(verbosity=2)
