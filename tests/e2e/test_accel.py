#!/usr/bin/env python3
"""The accelerator choice and the early end of a test whose guest dies.

- scripts/qemu-guest.sh --probe-accel: RTVS_QEMU_ACCEL=kvm|tcg is honoured, --accel beats it, a
  bad value is refused; without either, the verdict comes from booting the guest image under
  KVM, is cached (the second call says so) and is the accelerator a guest then really gets.
- A guest started with the verdict boots; a guest whose kernel panics makes a test that waits on
  its sibling fail within seconds, naming it.
- Where the verdict is TCG although /dev/kvm exists (a PVM host), a guest forced onto KVM fails
  within seconds, not at the test's timeout.
"""

import os
import subprocess
import sys
import tempfile
import time

import e2e_common as e2e
from e2e_common import check, qg

DEATH_NOTICED_S = 30  # generous on a loaded 2-core host; the timeouts waited on are 120 s


def probe(image_dir, env_extra, *extra):
    env = dict(os.environ, **env_extra)
    r = subprocess.run([qg.QEMU_GUEST_SH, "--probe-accel", "--image", image_dir, *extra],
                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def launcher_checks(image_dir, cache_env):
    rc, out, err = probe(image_dir, dict(cache_env, RTVS_QEMU_ACCEL="tcg"))
    check(rc == 0 and out == "accel=tcg (RTVS_QEMU_ACCEL=tcg)", f"env tcg: {rc} {out!r} {err!r}")
    rc, out, err = probe(image_dir, dict(cache_env, RTVS_QEMU_ACCEL="kvm"))
    check(rc == 0 and out == "accel=kvm (RTVS_QEMU_ACCEL=kvm)", f"env kvm: {rc} {out!r} {err!r}")
    rc, out, err = probe(image_dir, dict(cache_env, RTVS_QEMU_ACCEL="kvm"), "--accel", "tcg")
    check(out == "accel=tcg (--accel tcg)", f"--accel must beat the env: {out!r}")
    rc, out, err = probe(image_dir, dict(cache_env, RTVS_QEMU_ACCEL="fast"))
    check(rc != 0 and "RTVS_QEMU_ACCEL" in err and "must be auto, kvm or tcg" in err,
          f"a bad RTVS_QEMU_ACCEL must be refused: {rc} {out!r} {err!r}")

    env = dict(cache_env, RTVS_QEMU_ACCEL="")
    rc, out, err = probe(image_dir, env)
    check(rc == 0 and out.startswith(("accel=kvm (", "accel=tcg (")), f"probe: {rc} {out!r} {err!r}")
    check("accelerator probe:" in err and "cached" not in out,
          f"the first call must probe and say so once: {out!r} {err!r}")
    verdict = out.split("=", 1)[1].split(" ", 1)[0]
    rc, out2, err2 = probe(image_dir, env)
    check(out2.startswith(f"accel={verdict} (") and "cached in" in out2 and not err2,
          f"the second call must use the cache: {out2!r} {err2!r}")
    print(f"verdict: {out}")
    return verdict


def run():
    args = e2e.parse_args("the QEMU accelerator choice and early guest-death detection")
    e2e.skip_if_unavailable(args)
    image_dir = args.image_dir or qg.default_image_dir()
    qg.build_image(image_dir)
    with tempfile.TemporaryDirectory(prefix="rtvs-accel-") as cache:
        cache_env = {"RTVS_QEMU_ACCEL_CACHE_DIR": cache}
        verdict = launcher_checks(image_dir, cache_env)
        os.environ.update(cache_env)
        os.environ.pop("RTVS_QEMU_ACCEL", None)

        # The verdict boots a real guest; b's kernel panics (no init) and a's waiter notices.
        with e2e.guest_set(args, "accel", a={"test": "idle", "duration": 60},
                           b={"test": "idle", "append": ["rdinit=/nonexistent"]}) as (g, _, _sw):
            a, b = g["a"], g["b"]
            check(a.accel == verdict, f"guest a runs with {a.accel}, the verdict was {verdict}")
            t0 = time.monotonic()
            try:
                a.wait_event("DONE", timeout=120)
                raise AssertionError("a's wait did not notice that b died")
            except qg.GuestError as e:
                took = time.monotonic() - t0
                msg = str(e)
            check("guest b died" in msg and "Kernel panic" in msg,
                  f"the error must name b and its panic: {msg[:300]}")
            check(took < DEATH_NOTICED_S, f"b's death noticed after {took:.1f} s")
            deadline = time.monotonic() + 120
            while not any(ev.kind == "BOOT" for ev in a.events):
                check(a.alive() and time.monotonic() < deadline,
                      f"guest a did not reach /init under {verdict}: {a.console(1000)}")
                time.sleep(0.1)
                a.poll()
            print(f"a sibling's kernel panic ended the wait after {took:.1f} s")

        if verdict == "tcg" and os.path.exists("/dev/kvm"):
            os.environ["RTVS_QEMU_ACCEL"] = "kvm"
            t0 = time.monotonic()
            try:
                with e2e.guest_set(args, "accel-kvm", a={"test": "idle"}) as (g, _, _sw):
                    g["a"].wait_event("BOOT", timeout=120)
                    g["a"].wait_event("NET", timeout=120)
                raise AssertionError("a guest forced onto KVM booted, yet the probe said tcg")
            except qg.GuestError as e:
                took = time.monotonic() - t0
                print(f"forced KVM guest failed after {took:.1f} s: {str(e).splitlines()[0]}")
            finally:
                os.environ.pop("RTVS_QEMU_ACCEL", None)
            check(took < DEATH_NOTICED_S + 15, f"a KVM guest's death noticed after {took:.1f} s")
    e2e.report(args, {"test": "accel", "verdict": verdict})


if __name__ == "__main__":
    e2e.main(run)
    sys.exit(0)
