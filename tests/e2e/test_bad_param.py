#!/usr/bin/env python3
"""A guest given an unknown rtvs.* parameter reports a one-line RTVS-ERROR naming it and powers
off at once, and the helper turns that into an error instead of waiting for a result."""

import e2e_common as e2e
from e2e_common import qg


def run():
    args = e2e.parse_args(__doc__)
    with e2e.guest_pair(args, "bad-param",
                        a=dict(test="idle", duration=30, params={"bogus": 1}),
                        b=dict(test="idle", duration=30)) as (a, b, sw):
        try:
            a.wait_result("idle", timeout=180)
        except qg.GuestError as e:
            first = str(e).splitlines()[0]
            e2e.check(first.startswith("rtvs.bogus: unknown parameter"),
                      f"unexpected error: {first}")
        else:
            raise AssertionError("the guest accepted rtvs.bogus")
        err = a.wait_event("ERROR").data["error"]
        a.proc.wait(60)  # powered off by itself
        e2e.report(args, {"test": "bad-param", "error": err, "qemu_exit": a.proc.returncode})


if __name__ == "__main__":
    e2e.main(run)
