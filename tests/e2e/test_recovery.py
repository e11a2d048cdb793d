#!/usr/bin/env python3
"""Faults that real guests bring, in one boot of two guests (rtvswitch only: testpmd has no
run-time ports and no restart):

1. port del/add: `vswitchctl port del b`, then `port add b` on the same socket while a pings b:
   the pings resume.
2. guest reboot: b's QEMU is SIGKILLed and started again on the same socket, the switch is not
   touched: a's pings resume and port b's `reconnects` (port.show) went up by exactly one.
3. switch crash: rtvswitch is SIGKILLed and started again with the same arguments while both
   guests run: they keep their NICs (no reboot) and a's pings resume. The time from the restart
   to the first ping reply through the new switch is printed; the target is 2 s, but this
   machine is noisy (TCG guests, shared cores), so only a generous 15 s bound is asserted.
4. run-time ports survive a crash: the switch is replaced by one with no ports in its
   configuration and a state file, both ports are added with `vswitchctl port add`, then it is
   SIGKILLed and started with the same command: both ports come back from the state file by
   themselves and a's pings resume. The restart-to-first-reply time is printed beside phase 3's
   (config-file ports) from the same run.

Guest a runs `ping-stream` (one ping every 0.1 s, each reply printed on its console as it
comes), so the host sees when traffic stops and comes back."""

import os
import sys
import time

import e2e_common as e2e

INTERVAL_S = 0.1
DURATION_S = 400  # the guests' own limit; the test ends well before
RESUME_TIMEOUT_S = 60
DELETED_S = 3
REBOOT_TIMEOUT_S = 180
RESTART_BOUND_S = 15  # generous: the target is 2 s, see the docstring


def port_names(sw):
    return sorted(p["name"] for p in sw.rpc("port.list")["ports"])


def phase_port_del_add(a, b, sw):
    t0 = time.monotonic()
    sw.del_port("b")
    e2e.check(port_names(sw) == ["a"], f"after port del b: ports {port_names(sw)}")
    time.sleep(DELETED_S)
    t_add = time.monotonic()
    # Replies still on their way when b went are printed within a second, none after.
    late = [e for e in a.events if e.kind == "REPLY" and t0 + 1.0 < e.seen <= t_add]
    e2e.check(not late, f"{len(late)} ping replies while port b was deleted")
    sw.add_port("b", b.sock)
    e2e.check(port_names(sw) == ["a", "b"], f"after port add b: ports {port_names(sw)}")
    reply = a.wait_event("REPLY", timeout=RESUME_TIMEOUT_S, after=t_add)
    return {"add_to_first_reply_s": round(reply.seen - t_add, 2),
            "phase_s": round(time.monotonic() - t0, 1)}


def phase_guest_reboot(guests, a, sw):
    t0 = time.monotonic()
    before = sw.port_show("b")["reconnects"]
    b = guests.restart("b")
    boot = b.wait_event("BOOT", timeout=REBOOT_TIMEOUT_S)
    reply = a.wait_event("REPLY", timeout=REBOOT_TIMEOUT_S, after=t0)
    after = sw.port_show("b")["reconnects"]
    e2e.check(after == before + 1,
              f"port b reconnects {before} -> {after} across one guest reboot (want +1)")
    return b, {"reconnects_before": before, "reconnects_after": after,
               "qemu_start_to_init_s": round(boot.seen - t0, 2),
               "qemu_start_to_first_reply_s": round(reply.seen - t0, 2),
               "phase_s": round(time.monotonic() - t0, 1)}


def phase_switch_restart(a, b, sw):
    t0 = time.monotonic()
    boots = (len([e for e in a.events if e.kind == "BOOT"]),
             len([e for e in b.events if e.kind == "BOOT"]))
    old_pid = sw.pid
    sw.kill()
    t_restart = time.monotonic()
    sw.restart()
    t_ready = time.monotonic()
    reply = a.wait_event("REPLY", timeout=RESUME_TIMEOUT_S, after=t_restart)
    restart_to_reply = reply.seen - t_restart
    print(f"switch restart (pid {old_pid} -> {sw.pid}): control socket answers after "
          f"{t_ready - t_restart:.2f} s, first ping reply through it after "
          f"{restart_to_reply:.2f} s (target 2 s; asserted bound {RESTART_BOUND_S} s)")
    e2e.check(a.alive() and b.alive(), "a guest exited when the switch was killed")
    now = (len([e for e in a.events if e.kind == "BOOT"]),
           len([e for e in b.events if e.kind == "BOOT"]))
    e2e.check(now == boots, "a guest rebooted when the switch was killed")
    e2e.check(restart_to_reply < RESTART_BOUND_S,
              f"first ping reply {restart_to_reply:.1f} s after the restart "
              f"(bound {RESTART_BOUND_S} s)")
    return {"restart_to_control_s": round(t_ready - t_restart, 2),
            "restart_to_first_reply_s": round(restart_to_reply, 2),
            "phase_s": round(time.monotonic() - t0, 1)}


def phase_runtime_ports_restart(a, b, sw, state_file):
    t0 = time.monotonic()
    sw.use_runtime_ports(state_file)
    a.wait_event("REPLY", timeout=RESUME_TIMEOUT_S, after=t0)
    result = phase_switch_restart(a, b, sw)
    e2e.check(port_names(sw) == ["a", "b"], f"after the restart: ports {port_names(sw)}")
    ids = {p["name"]: p["external_ids"] for p in sw.rpc("port.list")["ports"]}
    e2e.check(ids == {"a": {"iface-id": "a"}, "b": {"iface-id": "b"}},
              f"external ids after the restart: {ids}")
    e2e.check("2 port(s) created" in sw.log(), "the ports did not come from the state file")
    result["phase_s"] = round(time.monotonic() - t0, 1)
    return result


def run():
    args = e2e.parse_args(__doc__)
    if args.switch != "rtvswitch":
        print(f"SKIP: {args.switch} has no run-time ports and no restart")
        sys.exit(e2e.SKIP)
    t_start = time.monotonic()
    with e2e.guest_set(args, "recovery",
                       a=dict(test="ping-stream", peer=e2e.IP_B, duration=DURATION_S,
                              params={"interval": INTERVAL_S}),
                       b=dict(test="idle", duration=DURATION_S)) as (started, guests, sw):
        a, b = started["a"], started["b"]
        first = a.wait_event("REPLY", timeout=REBOOT_TIMEOUT_S)
        boot_s = round(first.seen - t_start, 1)
        print(f"first reply {boot_s} s after the test started (boot of both guests)")
        del_add = phase_port_del_add(a, b, sw)
        print(f"port del/add: {del_add}")
        b, reboot = phase_guest_reboot(guests, a, sw)
        print(f"guest reboot: {reboot}")
        restart = phase_switch_restart(a, b, sw)
        print(f"switch restart: {restart}")
        runtime = phase_runtime_ports_restart(a, b, sw, os.path.join(guests.workdir,
                                                                     "ports.json"))
        print(f"switch restart with run-time ports (state file): {runtime}; restart to first "
              f"reply {runtime['restart_to_first_reply_s']} s vs "
              f"{restart['restart_to_first_reply_s']} s with config-file ports")
        e2e.report(args, {"test": "recovery", "switch": sw.kind, "accel": a.accel,
                          "boot_to_first_reply_s": boot_s, "port_del_add": del_add,
                          "guest_reboot": reboot, "switch_restart": restart,
                          "switch_restart_runtime_ports": runtime,
                          "total_s": round(time.monotonic() - t_start, 1)})


if __name__ == "__main__":
    e2e.main(run)
