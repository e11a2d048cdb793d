#!/usr/bin/env python3
"""Jumbo frames: both guests at MTU 9000 ping each other with 8000-byte payloads, unfragmented."""

import e2e_common as e2e
from e2e_common import qg

MTU, SIZE = 9000, 8000


def more(p):
    p.add_argument("--count", type=int, default=50, help="pings (default 50)")


def run():
    args = e2e.parse_args(__doc__, more)
    duration = 120
    with e2e.guest_pair(args, "jumbo",
                        a=dict(test="ping", peer=e2e.IP_B, duration=duration, mtu=MTU,
                               params={"count": args.count, "interval": "0.1", "size": SIZE}),
                        b=dict(test="idle", duration=duration, mtu=MTU)) as (a, b, sw):
        res = a.wait_result("ping", timeout=duration + 120)
        for g in (a, b):
            net = g.wait_event("NET").data
            e2e.check(net["mtu"] == MTU, f"guest {g.name}: MTU {net['mtu']}, wanted {MTU}")
        e2e.check(res["received"] == res["sent"] == args.count,
                  f"{res['sent']} jumbo pings sent, {res['received']} replies")
        # Each echo request is one SIZE+42 byte frame; fragmented at 1500 it would be 6.
        st = sw.port_stats("a")
        e2e.check(st["rx_bytes"] >= args.count * (SIZE + 42),
                  f"switch got {st['rx_bytes']} bytes from a, less than {args.count} requests")
        e2e.check(st["rx_packets"] < 2 * args.count + 20,
                  f"switch got {st['rx_packets']} frames from a for {args.count} pings: "
                  f"they were fragmented")
        per_frame = st["rx_bytes"] / st["rx_packets"]
        rtt = res["rtt_ms"]
        e2e.report(args, {"test": "jumbo", "switch": sw.kind, "mtu": MTU, "size": SIZE,
                          "pings": res["sent"], "received": res["received"],
                          "switch_rx_avg_frame_bytes": round(per_frame),
                          "rtt_ms": {"p50": qg.percentile(rtt, 50), "max": max(rtt)}})


if __name__ == "__main__":
    e2e.main(run)
