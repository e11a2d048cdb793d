#!/usr/bin/env python3
"""A TCP transfer of an exact byte count between two guests (busybox nc) through the switch."""

import e2e_common as e2e


def more(p):
    p.add_argument("--bytes", type=int, default=4000000, help="bytes to send (default 4 MB)")


def run():
    args = e2e.parse_args(__doc__, more)
    duration = 120
    with e2e.guest_pair(args, "tcp",
                        a=dict(test="tcp-send", peer=e2e.IP_B, duration=duration,
                               params={"bytes": args.bytes}),
                        b=dict(test="serve", duration=duration)) as (a, b, sw):
        sent = a.wait_result("tcp-send", timeout=duration + 120)
        served = b.wait_result("serve", timeout=60)
        e2e.check(served["complete"], "the receiver's nc sink saw no complete connection")
        e2e.check(sent["bytes"] == args.bytes and served["bytes"] == args.bytes,
                  f"sent {sent['bytes']} bytes, receiver counted {served['bytes']}, "
                  f"wanted {args.bytes}")
        secs = sent["seconds"]
        e2e.report(args, {"test": "tcp", "switch": sw.kind, "accel": a.accel,
                          "bytes": args.bytes, "seconds": secs,
                          "mbit_s": round(args.bytes * 8 / secs / 1e6, 1) if secs else None})


if __name__ == "__main__":
    e2e.main(run)
