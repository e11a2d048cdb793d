"""Shared set-up for the e2e tests: two QEMU guests joined by the switch under test.

Each test script is a program: exit 0 = pass, 1 = fail, 77 = skipped (no QEMU, no switch, not
enough hugepages). It prints one `E2E-RESULT <json>` line with what it measured.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import qemu_guests as qg  # noqa: E402
import switch_under_test as sut  # noqa: E402

SKIP = 77
IP_A, IP_B, IP_C, IP_D = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"
MIN_FREE_HUGEPAGES = 300  # testpmd -m 512 takes 256 pages


def parse_args(description, add_more=None):
    p = argparse.ArgumentParser(description=description)
    sut.add_arguments(p)
    p.add_argument("--image-dir", default=None, help="guest image directory (cached build)")
    p.add_argument("--json-out", default=None, help="also write the E2E-RESULT json here")
    if add_more:
        add_more(p)
    return p.parse_args()


def skip_if_unavailable(args):
    missing = [b for b in ("qemu-system-x86_64", "busybox", "cyclictest")
               if not shutil.which(b)]
    if args.switch == "testpmd" and not shutil.which("dpdk-testpmd"):
        missing.append("dpdk-testpmd")
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        sys.exit(SKIP)
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            free = int(f.read())
    except OSError:
        free = 0
    if free < MIN_FREE_HUGEPAGES:
        print(f"SKIP: {free} free 2 MiB hugepages, need {MIN_FREE_HUGEPAGES}")
        sys.exit(SKIP)


# Guest name -> (address, MAC): a and b are the usual pair, c and d a second pair.
ADDRESSES = {"a": (IP_A, "52:54:00:00:00:01"), "b": (IP_B, "52:54:00:00:00:02"),
             "c": (IP_C, "52:54:00:00:00:03"), "d": (IP_D, "52:54:00:00:00:04")}


@contextlib.contextmanager
def guest_set(args, label, **specs):
    """Starts the guests named in `specs` (keys of ADDRESSES; values: keyword arguments for
    Guests.start: test, duration, params, mtu...), then the switch with one port per guest.

    Yields (dict name -> Guest, the Guests, the switch); everything is stopped and removed on
    exit, also on failure."""
    skip_if_unavailable(args)
    with qg.Guests(label, image_dir=args.image_dir) as guests, sut.create(args, label) as sw:
        started = {}
        for name, kw in specs.items():
            ip, mac = ADDRESSES[name]
            started[name] = guests.start(name, ip=f"{ip}/24", mac=mac, **kw)
        print("guests: " + ", ".join(f"{n} pid {g.pid}" for n, g in started.items()) +
              f", accel {next(iter(started.values())).accel}")
        sw.start({n: g.sock for n, g in started.items()},
                 mtu=max(kw.get("mtu", 1500) for kw in specs.values()))
        print(f"switch: {sw.kind} pid {sw.pid}")
        yield started, guests, sw


@contextlib.contextmanager
def guest_pair(args, label, a, b):
    """Guest a (10.0.0.1) and guest b (10.0.0.2) joined by the switch; yields (a, b, switch)."""
    with guest_set(args, label, a=a, b=b) as (started, _, sw):
        yield started["a"], started["b"], sw


def boot_figures(guest):
    """Host seconds from QEMU start to /init, and the guest kernel's uptime at /init."""
    ev = guest.wait_event("BOOT", timeout=120)
    return {"qemu_to_init_s": round(ev.seen - guest.started, 2),
            "kernel_uptime_at_init_s": ev.data["uptime_s"]}


def report(args, result):
    line = json.dumps(result)
    print(f"E2E-RESULT {line}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(line + "\n")


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def _exit_on_signal(signum, frame):
    raise SystemExit(f"killed by signal {signum}")


def main(run):
    """Runs `run()`; maps a failure to exit 1 with a one-line reason (cleanup already done)."""
    # SIGTERM/SIGHUP unwind like an exception so every `with` stops its processes.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        run()
    except (AssertionError, qg.GuestError, sut.SwitchError, ValueError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS")
