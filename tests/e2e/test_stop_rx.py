#!/usr/bin/env python3
"""A guest that stops draining its rx ring: the switch drops towards it and keeps the
vhost-user connection; when the guest drains again, traffic flows again.

Guest b brings eth0 down (NAPI off, virtio device not reset) once a's pings (100 a second)
arrive: b's rx ring fills, then the switch counts tx drops on port b. After
STOP_S seconds b brings eth0 up again and must reach a over the same connection."""

import time

import e2e_common as e2e

STOP_S = 30


def run():
    args = e2e.parse_args(__doc__)
    with e2e.guest_pair(args, "stop-rx",
                        a=dict(test="ping,idle", peer=e2e.IP_B, duration=90,
                               params={"count": 1500, "interval": "0.01"}),
                        b=dict(test="stop-rx", peer=e2e.IP_A, duration=STOP_S + 40,
                               params={"stop_s": STOP_S})) as (a, b, sw):
        stopped = b.wait_result("stop-rx", timeout=180)
        before = sw.port_stats("b")
        deadline = time.monotonic() + STOP_S - 2
        while True:
            now = sw.port_stats("b")
            if now["tx_dropped"] > before["tx_dropped"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        e2e.check(now["tx_dropped"] > before["tx_dropped"],
                  f"switch port b: no tx drops while b's rx ring is not drained ({now})")
        resumed = b.wait_result("stop-rx-resume", timeout=STOP_S + 120)
        e2e.check(b.alive() and a.alive(), "a guest exited during the test")
        after = sw.port_stats("b")
        e2e.report(args, {"test": "stop-rx", "switch": sw.kind,
                          "b_rx_packets_before_stop": stopped["rx_packets"],
                          "switch_b_tx_dropped_while_stopped": after["tx_dropped"],
                          "b_rx_packets_after_resume": resumed["rx_packets"],
                          "b_first_reply_after_resume_uptime_s": resumed["first_reply_s"]})


if __name__ == "__main__":
    e2e.main(run)
