#!/usr/bin/env python3
"""The rtvswitch demo: the daemon with the example configuration, two DPDK guests on vhost-user
ports, traffic between them, and `vswitchctl` showing ports, counters and live latency. Everything
it starts is stopped by PID and cleaned up at the end (also on Ctrl-C).

    scripts/demo.py [--build-dir build] [--duration 20] [--rate 20000]
"""

import argparse
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402

VM1_MAC, VM2_MAC = "52:54:00:de:00:01", "52:54:00:de:00:02"


def banner(text):
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of traffic")
    ap.add_argument("--rate", type=int, default=20000, help="frames per second vm1 -> vm2")
    args = ap.parse_args()
    os.environ["RTVS_BUILD_DIR"] = os.path.abspath(args.build_dir)

    with dp.ProcessGroup("demo") as g:
        banner("starting rtvswitch with configs/rtvswitch.toml (PMD on core 1, control on core 0)")
        sw = rs.Daemon(g, args=["--config", os.path.join(ROOT, "configs", "rtvswitch.toml")],
                       memory_mb=256)
        print(f"rtvswitch pid {sw.pid}, control socket {sw.control}")

        def ctl(*a):
            banner("vswitchctl " + " ".join(a))
            r = sw.ctl(*a, check=False)
            print(r.stdout.rstrip() or r.stderr.rstrip(), flush=True)

        ctl("control", "show")  # the caller's role and the device/socket policy (README Security)
        ctl("port", "add", "vm1", "type=vhostuser", "latency-budget-us=200")
        ctl("port", "add", "vm2", "type=vhostuser")
        banner("starting two DPDK guests (net_virtio_user) on the vm1 and vm2 sockets")
        guest = g.start_guest([f"path={sw.socket_dir}/vm1,mac={VM1_MAC}",
                               f"path={sw.socket_dir}/vm2,mac={VM2_MAC}"])
        guest.wait_link(0, 30)
        guest.wait_link(1, 30)
        dp.wait_forwarding(guest, 0, guest, 1)
        guest.send(1, count=1, src=VM2_MAC)  # vm2 announces itself: its MAC is learned
        time.sleep(0.3)
        sw.rpc("stats.clear")
        sw.rpc("latency.clear")
        ctl("port", "list")
        ctl("fdb", "show")

        count = int(args.rate * args.duration)
        banner(f"vm1 sends {count} frames to vm2 at {args.rate} frames/s")
        result = {}
        sender = threading.Thread(target=lambda: result.update(
            guest.send(0, count=count, dst=VM2_MAC, rate=args.rate, flow=1,
                       timeout=args.duration * 3 + 30)))
        sender.start()
        while sender.is_alive():
            time.sleep(min(5.0, args.duration / 3))
            ctl("stats")
            ctl("latency", "show")
        sender.join()
        st = guest.stats_settled(1, expect_rx=result.get("sent"))
        banner("result")
        print(f"sent by vm1: {result.get('sent')}, received by vm2: "
              f"{st['rx_by_flow'].get('1', 0)}, duplicates: {st['rx_dup']}, "
              f"reordered: {st['rx_reorder']}")
        ctl("pmd", "show")
        ctl("pmd", "perf")
        banner("stopping: guests, then rtvswitch (SIGTERM)")
        guest.quit()
        code = sw.stop()
        print(f"rtvswitch exited with {code}; sockets and hugepages are cleaned up")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
