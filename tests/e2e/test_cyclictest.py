#!/usr/bin/env python3
"""cyclictest inside a guest while it pings its peer through the switch."""

import e2e_common as e2e


def more(p):
    p.add_argument("--duration", type=int, default=20, help="cyclictest seconds (default 20)")


def run():
    args = e2e.parse_args(__doc__, more)
    d = args.duration
    with e2e.guest_pair(args, "cyclictest",
                        a=dict(test="cyclictest,ping", peer=e2e.IP_B, duration=d,
                               params={"count": d * 5, "interval": "0.2"}),
                        b=dict(test="idle", duration=d + 60)) as (a, b, sw):
        ct = a.wait_result("cyclictest", timeout=d + 180)
        ping = a.wait_result("ping", timeout=120)
        e2e.check(ct["samples"] > 0, "cyclictest took no samples")
        e2e.check(ct["min_us"] <= ct["avg_us"] <= ct["max_us"],
                  f"inconsistent cyclictest summary {ct}")
        e2e.check(ping["received"] == ping["sent"],
                  f"{ping['sent']} pings sent, {ping['received']} replies")
        e2e.report(args, {"test": "cyclictest", "switch": sw.kind, "accel": a.accel,
                          "cyclictest": ct})


if __name__ == "__main__":
    e2e.main(run)
