#!/usr/bin/env python3
"""PMD placement, priority and the real-time preconditions: the PMD thread is named pmd-c<core>
and pinned to its core; with pmd-priority it runs SCHED_FIFO at that priority (the only test
that runs a FIFO poller: RT throttling, on by default, leaves 5% of the core to the rest of the
machine, and the test lasts a few seconds); memory is locked when mlockall is on. FIFO PMDs on a
host that is not ready (RT throttling on, PMD core not isolated, fair server on) refuse to start
with one line per reason, and so does a failing mlockall; --allow-degraded starts them marked
degraded."""

import os
import unittest
import urllib.request

from itlib import dp, free_port, rs

SCHED_FIFO = 1


def pmd_threads(pid):
    """(tid, policy, rt_priority, allowed cpus) of the daemon's PMD threads."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            comm = f.read().strip()
        if not comm.startswith("pmd-c"):
            continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # After "(comm)": state is field 3, rt_priority field 40, policy field 41 (1-based).
        rt_prio, policy = int(fields[40 - 3]), int(fields[41 - 3])
        out.append((int(tid), policy, rt_prio, os.sched_getaffinity(int(tid))))
    return out


def thread_names(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names.append(f.read().strip())
    return names



def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def rt_throttling_on():
    with open("/proc/sys/kernel/sched_rt_runtime_us") as f:
        return int(f.read()) != -1


def core_isolated(core):
    with open("/sys/devices/system/cpu/isolated") as f:
        text = f.read().strip()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        if int(lo) <= core <= int(hi or lo):
            return True
    return False


class PmdScheduling(unittest.TestCase):
    def test_normal_priority_pinned_and_named(self):
        with dp.ProcessGroup("it-sched") as g:
            sw = rs.Daemon(g, args=["--metrics-listen", f"127.0.0.1:{free_port()}"])
            threads = pmd_threads(sw.pid)
            self.assertEqual(len(threads), 1, thread_names(sw.pid))
            _, policy, _, cpus = threads[0]
            self.assertEqual(policy, 0)  # SCHED_OTHER
            self.assertEqual(cpus, {1})
            pmds = sw.rpc("pmd.show")
            self.assertEqual(pmds["pmds"][0]["sched"], "SCHED_OTHER")
            self.assertEqual(pmds["degraded"], [])
            # Threads by role: the PMD, the metrics server; the control thread is the process.
            names = thread_names(sw.pid)
            self.assertIn("pmd-c1", names)
            self.assertIn("metrics-http", names)
            self.assertNotIn("rte-worker-1", names)
            # The control thread stays on the housekeeping core.
            self.assertEqual(os.sched_getaffinity(sw.pid), {0})

    @unittest.skipUnless(rt_throttling_on() or not core_isolated(1),
                         "this host meets the real-time preconditions for core 1")
    def test_fifo_on_an_unready_host_is_refused_one_line_each(self):
        with dp.ProcessGroup("it-sched") as g:
            with self.assertRaises(RuntimeError) as ctx:
                rs.Daemon(g, args=["--pmd-priority", "1"])
            log = str(ctx.exception)
            self.assertIn("rtvswitch exited with 1", log)
            self.assertIn("refusing to start", log)
            lines = [ln for ln in log.splitlines() if "real-time precondition not met: " in ln]
            if rt_throttling_on():
                self.assertTrue(any("not met: rt-throttling: sched_rt_runtime_us=" in ln
                                    for ln in lines), log)
            if not core_isolated(1):
                self.assertTrue(any("not met: isolcpus: " in ln for ln in lines), log)
            self.assertNotIn("pmd 0 polling", log)  # refused before any PMD ran

    def test_fifo_priority_and_mlockall_degraded(self):
        with dp.ProcessGroup("it-sched") as g:
            sw = rs.Daemon(g, args=["--pmd-priority", "1", "--mlockall", "--allow-degraded"])
            _, policy, prio, cpus = pmd_threads(sw.pid)[0]
            self.assertEqual((policy, prio, cpus), (SCHED_FIFO, 1, {1}))
            pmds = sw.rpc("pmd.show")
            self.assertEqual(pmds["pmds"][0]["sched"], "SCHED_FIFO:1")
            self.assertIn("SCHED_FIFO:1", sw.log())
            self.assertGreater(status_kb(sw.pid, "VmLck"), 0)
            if rt_throttling_on():
                self.assertTrue(any(r.startswith("rt-throttling: ") for r in pmds["degraded"]))
                self.assertIn("running degraded: rt-throttling: ", sw.log())
                self.assertIn("DEGRADED", sw.ctl("pmd", "show").stdout)
            self.assertEqual(sw.stop(), 0)

    def test_fifo_not_applied_is_degraded(self):
        # Root without CAP_SYS_NICE and RLIMIT_RTPRIO 0 cannot use SCHED_FIFO.
        wrapper = ["prlimit", "--rtprio=0", "setpriv", "--inh-caps=-sys_nice",
                   "--bounding-set=-sys_nice", "--"]
        with dp.ProcessGroup("it-sched") as g:
            sw = rs.Daemon(g, args=["--pmd-priority", "1", "--allow-degraded"], wrapper=wrapper)
            pmds = sw.rpc("pmd.show")
            self.assertEqual(pmds["pmds"][0]["sched"], "SCHED_OTHER")
            fifo = [r for r in pmds["degraded"] if r.startswith("sched-fifo: ")]
            self.assertEqual(len(fifo), 1, pmds["degraded"])
            self.assertIn("pmd 0 on core 1: SCHED_FIFO priority 1 not applied: Operation not "
                          "permitted", fifo[0])
            metrics = sw.rpc("stats.show")  # the switch serves normally
            self.assertIn("ports", metrics)
            self.assertEqual(pmd_threads(sw.pid)[0][1], 0)
            self.assertEqual(sw.stop(), 0)

    def test_mlockall_failure_refuses_or_degrades(self):
        # Without CAP_IPC_LOCK and with RLIMIT_MEMLOCK 0, mlockall fails.
        wrapper = ["prlimit", "--memlock=0", "setpriv", "--inh-caps=-ipc_lock",
                   "--bounding-set=-ipc_lock", "--"]
        with dp.ProcessGroup("it-sched") as g:
            with self.assertRaises(RuntimeError) as ctx:
                rs.Daemon(g, args=["--mlockall"], wrapper=wrapper)
            log = str(ctx.exception)
            self.assertIn("real-time precondition not met: mlockall: ", log)
            self.assertIn("refusing to start: 1 real-time precondition(s) not met", log)
        with dp.ProcessGroup("it-sched") as g:
            port = free_port()
            sw = rs.Daemon(g, args=["--mlockall", "--allow-degraded", "--metrics-listen",
                                    f"127.0.0.1:{port}"], wrapper=wrapper)
            degraded = sw.rpc("pmd.show")["degraded"]
            self.assertEqual(len(degraded), 1, degraded)
            self.assertTrue(degraded[0].startswith("mlockall: "), degraded)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                text = r.read().decode()
            self.assertRegex(text, r"(?m)^rtvswitch_realtime_degraded_bool 1$")
            self.assertRegex(text, r"(?m)^rtvswitch_realtime_degraded_reason_info"
                                   r'\{reason="mlockall"\} 1$')
            self.assertEqual(status_kb(sw.pid, "VmLck"), 0)
            self.assertEqual(sw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
