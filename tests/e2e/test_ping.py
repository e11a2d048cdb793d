#!/usr/bin/env python3
"""Ping between two guests through the switch; reports boot time, time to first reply, RTTs."""

import e2e_common as e2e
from e2e_common import qg


def more(p):
    p.add_argument("--count", type=int, default=1000, help="pings (default 1000)")
    p.add_argument("--interval", default="0.02", help="seconds between pings (default 0.02)")


def run():
    args = e2e.parse_args(__doc__, more)
    duration = int(args.count * float(args.interval)) + 60
    with e2e.guest_pair(args, "ping",
                        a=dict(test="ping", peer=e2e.IP_B, duration=duration,
                               params={"count": args.count, "interval": args.interval}),
                        b=dict(test="idle", duration=duration)) as (a, b, sw):
        res = a.wait_result("ping", timeout=duration + 120)
        boot_a, boot_b = e2e.boot_figures(a), e2e.boot_figures(b)
        rtt = res["rtt_ms"]
        e2e.check(res["sent"] == args.count, f"sent {res['sent']} pings, wanted {args.count}")
        e2e.check(res["received"] == res["sent"] and len(rtt) == res["received"],
                  f"{res['sent']} pings sent, {res['received']} replies ({len(rtt)} RTTs)")
        # The guest's uptime clock starts with its kernel: place that start on the host's clock.
        kernel_start = boot_a["qemu_to_init_s"] - boot_a["kernel_uptime_at_init_s"]
        e2e.report(args, {
            "test": "ping", "switch": sw.kind, "accel": a.accel, "a": boot_a, "b": boot_b,
            "first_reply_from_qemu_start_s": round(kernel_start + res["first_reply_s"], 2),
            "first_reply_guest_uptime_s": res["first_reply_s"],
            "pings": res["sent"], "received": res["received"],
            "rtt_ms": {"min": min(rtt), "p50": qg.percentile(rtt, 50),
                       "p99": qg.percentile(rtt, 99), "max": max(rtt)}})


if __name__ == "__main__":
    e2e.main(run)
