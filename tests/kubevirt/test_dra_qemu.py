#!/usr/bin/env python3
"""Two QEMU guests on ports rtvswitch-dra prepared, each started as virt-launcher would start
it: in its own mount namespace where the claim's CDI spec mounts are applied (the claim's
socket directory bind-mounted at its container path), QEMU listening on the vhost-user-path
its device metadata names. rtvswitch (the real daemon) connects to the sockets from the host
side; guest a pings guest b through it. Then Unprepare removes both ports.
Usage: test_dra_qemu.py --dra-binary PATH --image-dir DIR (RTVS_BUILD_DIR: the daemon's tree).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import dpdk_procs as dp  # noqa: E402
import qemu_guests as qg  # noqa: E402
import rtvswitch as rs  # noqa: E402
import test_dra_plugin as t  # noqa: E402
from kubeapi_server import KubeApiServer  # noqa: E402
from kubelet_client import Kubelet  # noqa: E402

SKIP = 77
# The CDI mounts of one claim applied in a private mount namespace, then the launcher.
APPLY_MOUNTS = ('set -e; while [ "$1" != -- ]; do mount --bind "$1" "$2"; shift 2; done; '
                'shift; exec "$@"')


def mounts_wrapper(spec):
    """unshare -m + bind mounts of the CDI spec's (spec-level) mounts, as the runtime makes."""
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", APPLY_MOUNTS, "sh"]
    for m in spec["containerEdits"]["mounts"]:
        if os.path.isdir(m["hostPath"]):
            os.makedirs(m["containerPath"], exist_ok=True)  # the container's empty mount point
            argv += [m["hostPath"], m["containerPath"]]
    return argv + ["--"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dra-binary", required=True)
    ap.add_argument("--image-dir", default=None)
    args = ap.parse_args()
    missing = [b for b in ("qemu-system-x86_64", "busybox", "unshare") if not shutil.which(b)]
    if missing:
        print(f"SKIP: not installed: {' '.join(missing)}")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory(prefix="rtvs-dra-qemu-") as tmp, \
            dp.ProcessGroup("draq", tmpdir=tmp) as g, \
            qg.Guests("dra", image_dir=args.image_dir) as guests:
        names = ("registry", "plugin", "sockets", "metadata", "cdi", "gen", "container")
        d = {k: os.path.join(tmp, k) for k in names}
        for k in ("sockets", "gen"):
            os.makedirs(d[k])
        d["ctl"] = os.path.join(tmp, "rtvswitch.ctl")
        api = KubeApiServer(tmp)
        try:
            run(g, guests, args.dra_binary, d, api)
        finally:
            api.close()
    print("test_dra_qemu: ok")


def run(g, guests, binary, d, api):
    sw = rs.Daemon(g, control=d["ctl"], socket_dirs=[d["sockets"]])
    kubelet = Kubelet(d["gen"])
    api.add_node(t.NODE)
    claims = []
    for i, vm in enumerate(("a", "b")):
        uid = str(uuid.uuid4())
        api.add_claim(t.claim(f"vm{vm}-net1", uid, [("vhost", f"port-{i}")],
                              pod=(f"virt-launcher-vm{vm}", str(uuid.uuid4())), pod_claim="net1"))
        claims.append(("vms", f"vm{vm}-net1", uid))
    # The container root under the test's directory: the mounts vanish with the namespaces.
    p = t.Plugin(g, binary, d, api, container_root=os.path.join(d["container"], "vhost"))
    kubelet.wait_socket(p.reg_sock, proc=p.proc)
    kubelet.register(p.reg_sock)
    endpoint = os.path.join(d["plugin"], "dra.sock")
    res = kubelet.prepare(endpoint, claims)
    assert not any(r.error for r in res.values()), res
    started = {}
    for (ns, name, uid), vm, ip in zip(claims, ("a", "b"), ("10.0.0.1", "10.0.0.2")):
        with open(os.path.join(d["cdi"], f"{t.DRIVER}-{uid}.json")) as f:
            spec = json.load(f)
        with open(os.path.join(d["metadata"], uid, "vhost", f"{t.DRIVER}-metadata.json")) as f:
            md = json.load(f)
        attrs = md["requests"][0]["devices"][0]["attributes"]
        path = attrs["vhost-user-path"]["string"]
        host_sock = os.path.join(d["sockets"], uid, os.path.basename(path))
        kw = (dict(test="ping", peer="10.0.0.2", params={"count": 20, "interval": 0.05})
              if vm == "a" else dict(test="idle"))
        started[vm] = guests.start(vm, ip=f"{ip}/24", mtu=attrs["mtu"]["int"], duration=120,
                                   sock=path, host_sock=host_sock, wrapper=mounts_wrapper(spec),
                                   **kw)
        assert os.path.exists(host_sock) and not os.path.exists(path), path
    print(f"guests: accel {started['a'].accel}")
    r = started["a"].wait_result("ping", timeout=240)
    assert r["sent"] == 20 and r["received"] == 20, r
    for (_, _, uid), port in zip(claims, ("port-0", "port-1")):
        st = sw.port_stats(f"dra-{uid}-{port}")
        assert st["rx_packets"] >= 20 and st["tx_packets"] >= 20, st
    un = kubelet.unprepare(endpoint, claims)
    assert not any(r.error for r in un.values()), un
    assert sw.rpc("port.list")["ports"] == []
    p.stop()
    print(f"ping through the CDI-mounted sockets: {r['received']}/{r['sent']}, "
          f"rtt max {max(r['rtt_ms']):.2f} ms")


if __name__ == "__main__":
    main()
