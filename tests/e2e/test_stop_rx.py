#!/usr/bin/env python3
"""A guest that stops draining its rx ring: the switch drops towards it and keeps the
vhost-user connection; when the guest drains again, traffic flows again. With rtvswitch, a
second guest pair (c pings d) shares the switch meanwhile and must not notice.

Guest b brings eth0 down (NAPI off, virtio device not reset) once a's pings (100 a second)
arrive: b's rx ring fills, then the switch counts tx drops on port b. After STOP_S seconds b
brings eth0 up again and must reach a over the same connection. c pings d every 0.1 s all along
(`ping-stream`): while b is stuck, none of c's pings may go missing and the switch may drop
nothing towards c or d. At the end the packet pool's in-use count is back to its start value
(no mbuf leaked by the drops)."""

import time

import e2e_common as e2e
from e2e_common import qg

STOP_S = 30
STREAM_INTERVAL_S = 0.1
LEAK_TIMEOUT_S = 10


def replies_between(guest, start, end):
    return [e for e in guest.events if e.kind == "REPLY" and start < e.seen <= end]


def check_other_pair(c, sw, t_stop, t_resume, drops_before):
    """c's pings while b was stuck: none missing, nothing dropped towards c or d."""
    window = replies_between(c, t_stop, t_resume)
    e2e.check(len(window) >= 10, f"guest c: only {len(window)} ping replies while b was stuck")
    seqs = [e.data["seq"] for e in window]
    missing = (max(seqs) - min(seqs) + 1) - len(set(seqs))
    e2e.check(missing == 0, f"guest c: {missing} pings lost while b was stuck")
    for name in ("c", "d"):
        drops = sw.port_stats(name)["tx_dropped"] - drops_before[name]
        e2e.check(drops == 0, f"switch port {name}: {drops} tx drops while b was stuck")
    before = [e.data["ms"] for e in c.events if e.kind == "REPLY" and e.seen <= t_stop]
    during = [e.data["ms"] for e in window]
    return {"c_replies_while_b_stuck": len(window), "c_lost_while_b_stuck": missing,
            "c_rtt_p50_ms_before": qg.percentile(before, 50) if before else None,
            "c_rtt_p50_ms_while_b_stuck": qg.percentile(during, 50),
            "c_rtt_max_ms_while_b_stuck": max(during)}


def wait_pool_back(sw, base):
    deadline = time.monotonic() + LEAK_TIMEOUT_S
    while True:
        now = sw.mempool_in_use()
        if now == base or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def run():
    args = e2e.parse_args(__doc__)
    specs = dict(a=dict(test="ping,idle", peer=e2e.IP_B, duration=90,
                        params={"count": 1500, "interval": "0.01"}),
                 b=dict(test="stop-rx", peer=e2e.IP_A, duration=STOP_S + 40,
                        params={"stop_s": STOP_S}))
    other_pair = args.switch == "rtvswitch"  # testpmd io forwarding joins exactly two ports
    if other_pair:
        specs["c"] = dict(test="ping-stream", peer=e2e.IP_D, duration=200,
                          params={"interval": STREAM_INTERVAL_S})
        specs["d"] = dict(test="idle", duration=200)
    with e2e.guest_set(args, "stop-rx", **specs) as (g, guests, sw):
        a, b = g["a"], g["b"]
        pool_base = sw.mempool_in_use() if other_pair else None
        stopped_ev = b.wait_event("RESULT", "stop-rx", timeout=240)
        stopped = b.wait_result("stop-rx")
        t_stop = stopped_ev.seen
        before = sw.port_stats("b")
        others_before = ({n: sw.port_stats(n)["tx_dropped"] for n in ("c", "d")}
                         if other_pair else None)
        deadline = time.monotonic() + STOP_S - 2
        while True:
            now = sw.port_stats("b")
            if now["tx_dropped"] > before["tx_dropped"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        e2e.check(now["tx_dropped"] > before["tx_dropped"],
                  f"switch port b: no tx drops while b's rx ring is not drained ({now})")
        resumed_ev = b.wait_event("RESULT", "stop-rx-resume", timeout=STOP_S + 120)
        resumed = b.wait_result("stop-rx-resume")
        e2e.check(b.alive() and a.alive(), "a guest exited during the test")
        after = sw.port_stats("b")
        result = {"test": "stop-rx", "switch": sw.kind,
                  "b_rx_packets_before_stop": stopped["rx_packets"],
                  "switch_b_tx_dropped_while_stopped": after["tx_dropped"],
                  "b_rx_packets_after_resume": resumed["rx_packets"],
                  "b_first_reply_after_resume_uptime_s": resumed["first_reply_s"]}
        if other_pair:
            result.update(check_other_pair(g["c"], sw, t_stop, resumed_ev.seen, others_before))
            pool_end = wait_pool_back(sw, pool_base)
            result.update({"mempool_in_use_start": pool_base, "mempool_in_use_end": pool_end})
            e2e.check(pool_end == pool_base,
                      f"mbufs in use {pool_base} at the start, {pool_end} at the end (leak)")
        e2e.report(args, result)


if __name__ == "__main__":
    e2e.main(run)
