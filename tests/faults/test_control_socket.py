#!/usr/bin/env python3
"""The control socket abused: garbage lines, a 2 MiB line, half-written JSON then close,
thousands of connections opened and dropped, valid requests in a tight loop from several
threads at once. The daemon stays up, answers every valid request correctly, and neither its
memory (VmRSS) nor its open file descriptors grow without bound: they are compared after a
warm-up round and after the full storm, with a generous margin (the machine is shared)."""

import json
import os
import random
import socket
import threading
import time
import unittest

from faultlib import connect, dp, open_fds, read_lines, rs, status_kib

HUGE_LINE = 2 << 20
RSS_MARGIN_KIB = 16 << 10  # 16 MiB: generous; a leak per request would exceed it by far
FD_MARGIN = 8
CLIENT_THREADS = 4
REQUESTS_PER_THREAD = 500
CONNECTIONS = 3000


def garbage_lines(rng, n):
    lines = [b"", b"   ", b"{", b"}", b"[]", b"[1,2", b"null", b"42", b'"str"', b"\x00\x01\x02",
             b'{"jsonrpc":"2.0"}', b'{"jsonrpc":"2.0","id":{},"method":"version"}',
             b'{"jsonrpc":"2.0","id":1,"method":7}', b'{"jsonrpc":"1.0","id":1,"method":"x"}',
             b'{"jsonrpc":"2.0","id":1,"method":"port.add","params":[1,2,3]}',
             b'{"jsonrpc":"2.0","id":1,"method":"port.add","params":{"name":{"x":1}}}',
             b'{"jsonrpc":"2.0","id":1,"method":"port.show","params":"a"}',
             b'[{"jsonrpc":"2.0","id":1,"method":"version"},17,{}]',
             b"\xff\xfe\xfd invalid utf-8 \xc3\x28", b"[" * 10000, b'{"a":' * 5000]
    for _ in range(n):
        lines.append(bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 300)))
                     .replace(b"\n", b" "))
    return lines


class ControlSocketAbuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.g = dp.ProcessGroup("faults-ctl")
        try:
            cls.sw = rs.Daemon(cls.g, memory_mb=128)
        except Exception:
            cls.g.close()
            raise
        cls.rng = random.Random(4)

    @classmethod
    def tearDownClass(cls):
        code = cls.sw.stop()
        cls.g.close()
        assert code == 0, f"rtvswitch exited with {code} after SIGTERM"

    def assertAnswers(self):
        self.assertTrue(self.sw.proc.alive(), f"rtvswitch died: {self.sw.log()[-2000:]}")
        self.assertEqual(self.sw.rpc("version")["version"], rs.call(
            self.sw.control, "version")["version"])
        self.assertEqual(self.sw.rpc("port.list"), {"ports": []})

    def send_garbage(self, n):
        """Sends garbage lines, then a valid request; returns the replies before its reply."""
        with connect(self.sw.control) as s:
            lines = garbage_lines(self.rng, n)
            end = b'{"jsonrpc":"2.0","id":"end","method":"version"}'
            s.sendall(b"\n".join(lines + [end]) + b"\n")
            buf = b""
            while b'"id":"end"' not in buf:
                chunk = s.recv(1 << 16)
                self.assertTrue(chunk, f"connection closed; got {buf[-500:]!r}")
                buf += chunk
        replies = buf.split(b"\n")
        self.assertIn(b'"result"', replies[-2])
        return replies[:-2]

    def test_garbage_lines_get_errors(self):
        replies = self.send_garbage(200)
        self.assertGreater(len(replies), 200)
        for raw in replies:
            reply = json.loads(raw)
            items = reply if isinstance(reply, list) else [reply]
            for item in items:
                if "error" in item:
                    self.assertIn(item["error"]["code"], (-32700, -32600, -32601, -32602),
                                  item)
        self.assertAnswers()

    def test_huge_line_closes_the_connection(self):
        with connect(self.sw.control) as s:
            try:
                s.sendall(b"x" * HUGE_LINE)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the daemon may close before all of it is written
            replies = read_lines(s, 1)
        self.assertTrue(replies and replies[0], "no error reply before the close")
        reply = json.loads(replies[0])
        self.assertEqual(reply["error"]["code"], -32600)
        self.assertIn("longer than", reply["error"]["message"])
        self.assertAnswers()

    def test_half_written_json_then_close(self):
        for i in range(200):
            with connect(self.sw.control) as s:
                s.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"port.li' % i)
        self.assertAnswers()

    def test_valid_requests_from_threads(self):
        errors = self.client_storm(CLIENT_THREADS, REQUESTS_PER_THREAD)
        self.assertEqual(errors, [])
        self.assertAnswers()

    def test_zz_memory_and_fds_after_storm(self):
        """Runs last (name order): a warm-up round of everything, then ten times as much."""
        self.storm(scale=1)
        time.sleep(0.5)
        rss0, fds0 = status_kib(self.sw.pid, "VmRSS"), open_fds(self.sw.pid)
        t0 = time.monotonic()
        self.storm(scale=10)
        storm_s = time.monotonic() - t0
        time.sleep(0.5)
        rss1, fds1 = status_kib(self.sw.pid, "VmRSS"), open_fds(self.sw.pid)
        print(f"storm of {storm_s:.1f} s: VmRSS {rss0} -> {rss1} KiB, open fds {fds0} -> {fds1}")
        self.assertAnswers()
        self.assertLessEqual(rss1, rss0 + RSS_MARGIN_KIB, "VmRSS grew over the storm")
        self.assertLessEqual(fds1, fds0 + FD_MARGIN, "open fds grew over the storm")

    def storm(self, scale):
        self.send_garbage(20 * scale)
        for _ in range(scale):
            self.test_huge_line_closes_the_connection()
        for i in range(20 * scale):
            with connect(self.sw.control) as s:
                s.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"port.li' % i)
        self.open_and_drop(CONNECTIONS * scale // 10)
        self.assertEqual(self.client_storm(CLIENT_THREADS, 50 * scale), [])

    def test_connections_opened_and_dropped(self):
        self.open_and_drop(CONNECTIONS)
        self.assertAnswers()

    def open_and_drop(self, n):
        """`n` connections: half closed at once, half held in batches of 100 then reset."""
        held = []
        for i in range(n):
            s = connect(self.sw.control)
            if i % 2:
                s.close()
                continue
            held.append(s)
            if len(held) == 100:
                for h in held:
                    # SO_LINGER 0: the close is a reset, as when a client process is killed.
                    h.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    h.close()
                held = []
        for h in held:
            h.close()

    def client_storm(self, threads, per_thread):
        """Each thread alternates a persistent connection (pipelined requests) and fresh
        connections; every reply must match its request. Returns the mismatches."""
        errors = []
        lock = threading.Lock()

        def fail(msg):
            with lock:
                errors.append(msg)

        def check(method, reply):
            if method == "version":
                return "result" in reply and reply["result"]["version"]
            if method == "port.list":
                return reply.get("result") == {"ports": []}
            if method == "port.show":
                return reply.get("error", {}).get("code") == -32001
            if method == "stats.show":
                return reply.get("result", {}).get("ports") == []
            return "commands" in reply.get("result", {})

        methods = [("version", None), ("port.list", None), ("port.show", {"name": "none"}),
                   ("stats.show", None), ("list-commands", None)]

        def worker(tid):
            rng = random.Random(tid)
            try:
                with connect(self.sw.control) as s:
                    batch = [rng.choice(methods) for _ in range(per_thread // 2)]
                    reqs = [{"jsonrpc": "2.0", "id": i, "method": m}
                            | ({"params": p} if p else {}) for i, (m, p) in enumerate(batch)]
                    s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
                    replies = read_lines(s, len(reqs))
                    if len(replies) != len(reqs):
                        fail(f"thread {tid}: {len(replies)} replies to {len(reqs)} requests")
                    for (m, _), i, raw in zip(batch, range(len(reqs)), replies):
                        reply = json.loads(raw)
                        if reply.get("id") != i or not check(m, reply):
                            fail(f"thread {tid}: {m} id {i}: {reply}")
                for i in range(per_thread - per_thread // 2):
                    m, p = rng.choice(methods)
                    with connect(self.sw.control) as s:
                        req = {"jsonrpc": "2.0", "id": 1000 + i, "method": m}
                        if p:
                            req["params"] = p
                        s.sendall(json.dumps(req).encode() + b"\n")
                        replies = read_lines(s, 1)
                    reply = json.loads(replies[0]) if replies and replies[0] else {}
                    if reply.get("id") != 1000 + i or not check(m, reply):
                        fail(f"thread {tid}: {m} id {1000 + i}: {reply}")
            except (OSError, ValueError) as e:
                fail(f"thread {tid}: {e!r}")

        ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return errors


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    unittest.main(verbosity=2)
