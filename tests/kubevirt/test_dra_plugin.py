#!/usr/bin/env python3
"""rtvswitch-dra against a real rtvswitch, a test kubelet and a test API server.

The kubelet's side (plugin registration, DRAPlugin v1) is played by gRPC clients generated from
the plugin's own .proto files; the API server by kubeapi_server (HTTPS, a service-account
token, the paths and status codes of Kubernetes). rtvswitch is the real daemon. Checked:
- registration: GetInfo names the driver, type DRAPlugin, the DRA socket and v1.DRAPlugin;
- the node's ResourceSlice is created as resource.k8s.io/v1 wants it (owned by the Node), an
  old slice of this node is deleted, a restart with the same devices changes nothing, one with
  more devices updates it with the next pool generation; the plugin watches its slices: one
  deleted or changed by someone else is published again within seconds (resync: an hour), and
  one deleted without a watch event is created again at the next resync;
- Prepare: the port exists in rtvswitch with type vhostuserclient, the socket path in the
  claim's directory, the claim's MTU, VLAN and other port options, the pod's and claim's
  external ids; the directory has QEMU's group and mode 2770; the device metadata file has the
  binding plugin's attributes (vhost-user-path as virt-launcher sees it, mtu) in
  metadata.resource.k8s.io/v1alpha1 at the KEP-5304 path; the CDI spec mounts the directory
  and the metadata file and validates against the CDI project's JSON schema and name rules;
- errors per claim (unallocated, wrong UID, bad config, missing) beside a good claim;
- Prepare twice, a plugin restart, Prepare again: the same answer, one port; rtvswitch restarted
  without its state: the restarted plugin puts the port back from its checkpoint, and so does
  a running plugin's periodic resync;
- Unprepare removes the port, the directory and the files; twice is fine; a UID that is a
  path is refused for its claim;
- bad command lines and a corrupt checkpoint: a short error, a non-zero exit, nothing made;
- the <interface type='vhostuser'> the binding plugin's configurator builds from that metadata
  (pkg/domain: mode server, virtio, 1024-entry rings, the MTU, a user alias), put into the
  shipped RT domain (configs/rtvswitch-rt-guest.xml), validates with virt-xml-validate.
Usage: test_dra_plugin.py --dra-binary PATH (RTVS_BUILD_DIR: the daemon's build tree).
"""

import argparse
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402
from kubeapi_server import KubeApiServer  # noqa: E402
from kubelet_client import Kubelet  # noqa: E402

DRIVER = "vhostuser.rtvswitch.io"
NODE = "node-a"
SOCKET_GID = 107
CONTAINER_ROOT = "/var/run/rtvswitch/vhost"


def claim(name, uid, results=(), config=(), pod=None, pod_claim=None, allocated=True):
    meta = {"name": name, "namespace": "vms", "uid": uid}
    if pod_claim:
        meta["annotations"] = {"resource.kubernetes.io/pod-claim-name": pod_claim}
    obj = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": meta,
           "spec": {"devices": {"requests": [{"name": "vhost", "exactly": {
               "deviceClassName": "vhostuser.rtvswitch.io"}}]}}, "status": {}}
    if allocated:
        obj["status"]["allocation"] = {"devices": {
            "results": [{"request": r, "driver": DRIVER, "pool": NODE, "device": d}
                        for r, d in results],
            "config": list(config)}}
    if pod:
        obj["status"]["reservedFor"] = [{"resource": "pods", "name": pod[0], "uid": pod[1]}]
    return obj


def opaque(params, source="FromClaim"):
    return {"source": source, "requests": [],
            "opaque": {"driver": DRIVER, "parameters": params}}


class Plugin:
    def __init__(self, group, binary, d, api, devices=4, container_root=CONTAINER_ROOT,
                 resync=3600):
        self.group, self.d = group, d
        self.reg_sock = os.path.join(d["registry"], f"{DRIVER}-reg.sock")
        self.argv = [binary, "--driver-name", DRIVER, "--node-name", NODE,
                     "--plugins-registry", d["registry"], "--plugin-dir", d["plugin"],
                     "--control-socket", d["ctl"], "--socket-root", d["sockets"],
                     "--container-socket-root", container_root, "--metadata-root", d["metadata"],
                     "--cdi-dir", d["cdi"], "--checkpoint", os.path.join(d["plugin"], "ckpt.json"),
                     "--socket-gid", str(SOCKET_GID), "--api-server", api.url,
                     "--token-file", api.token_file, "--ca-file", api.ca_file,
                     "--devices", str(devices), "--resync-seconds", str(resync)]
        self.proc = group.start(self.argv, group.prefix("dra"), "rtvswitch-dra", stdin=False)

    def stop(self):
        rc = self.proc.stop(grace=10)
        assert rc == 0, f"rtvswitch-dra exited with {rc}: {self.proc.stderr_text()}"
        assert not os.path.exists(self.reg_sock), "registration socket left behind"


def wait_for(pred, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def check_prepared(sw, d, res, uid, pod):
    assert not res.error, res.error
    assert len(res.devices) == 1
    dev = res.devices[0]
    got = (list(dev.request_names), dev.pool_name, dev.device_name)
    assert got == (["vhost"], NODE, "port-0"), dev
    assert list(dev.cdi_device_ids) == [f"{DRIVER}/port={uid}-port-0"], dev.cdi_device_ids
    port = f"dra-{uid}-port-0"
    show = sw.rpc("port.show", {"name": port})
    host_sock = os.path.join(d["sockets"], uid, "port-0.sock")
    opts = show["options"]
    assert opts["type"] == "vhostuserclient" and opts["path"] == host_sock, opts
    assert str(opts["mtu"]) == "9000" and str(opts["tag"]) == "10", opts
    assert str(opts["queues"]) == "2" and opts["allowed-macs"] == "52:54:00:00:00:01", opts
    assert str(opts["storm-broadcast-pps"]) == "1000", opts
    assert show["external_ids"] == {
        "dra-driver": DRIVER, "dra-device": "port-0", "k8s-claim-namespace": "vms",
        "k8s-claim-name": "vm1-net1-x7k2p", "k8s-claim-uid": uid, "k8s-pod-namespace": "vms",
        "k8s-pod-name": pod[0], "k8s-pod-uid": pod[1]}, show["external_ids"]
    st = os.stat(os.path.join(d["sockets"], uid))
    assert st.st_gid == SOCKET_GID and stat.S_IMODE(st.st_mode) == 0o2770, oct(st.st_mode)
    # The metadata file, as the binding plugin (pkg/dra/ovsdpdk) reads it.
    md_host = os.path.join(d["metadata"], uid, "vhost", f"{DRIVER}-metadata.json")
    with open(md_host) as f:
        md = json.load(f)
    container_sock = f"{CONTAINER_ROOT}/{uid}/port-0.sock"
    assert md == {
        "kind": "DeviceMetadata", "apiVersion": "metadata.resource.k8s.io/v1alpha1",
        "metadata": {"name": "vm1-net1-x7k2p", "namespace": "vms", "uid": uid, "generation": 1},
        "podClaimName": "net1",
        "requests": [{"name": "vhost", "devices": [{
            "driver": DRIVER, "pool": NODE, "name": "port-0",
            "attributes": {"vhost-user-path": {"string": container_sock},
                           "mtu": {"int": 9000}}}]}]}, md
    with open(os.path.join(d["cdi"], f"{DRIVER}-{uid}.json")) as f:
        spec = json.load(f)
    assert spec["kind"] == f"{DRIVER}/port" and spec["cdiVersion"] == "0.6.0", spec
    assert spec["devices"] == [{"name": f"{uid}-port-0", "containerEdits": {
        "env": [f"RTVSWITCH_VHOST_USER_PATH_PORT_0={container_sock}"]}}], spec["devices"]
    check_domain_xml(d, md)
    check_cdi(spec)
    assert spec["containerEdits"]["mounts"] == [
        {"hostPath": os.path.join(d["sockets"], uid), "containerPath": f"{CONTAINER_ROOT}/{uid}",
         "options": ["rbind", "rw"]},
        {"hostPath": md_host, "containerPath": "/var/run/kubernetes.io/dra-device-attributes/"
         f"resourceclaimtemplates/net1/vhost/{DRIVER}-metadata.json",
         "options": ["bind", "ro"]}], spec["containerEdits"]["mounts"]


CDI_VENDOR_CLASS = re.compile(r"^[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
CDI_DEVICE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")


def check_cdi(spec):
    """The CDI spec against the CDI project's JSON schema (tests/data/kubevirt/cdi, see its
    $comment) and its name rules (vendor/class as kind, device names, qualified ids)."""
    import jsonschema
    cdi = os.path.join(HERE, "..", "data", "kubevirt", "cdi")
    with open(os.path.join(cdi, "schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(cdi, "defs.json")) as f:
        defs = json.load(f)
    resolver = jsonschema.RefResolver("", schema, store={"defs.json": defs})
    jsonschema.Draft7Validator(schema, resolver=resolver).validate(spec)
    vendor, cls = spec["kind"].split("/")
    assert CDI_VENDOR_CLASS.match(vendor) and CDI_VENDOR_CLASS.match(cls), spec["kind"]
    assert all(CDI_DEVICE.match(dev["name"]) for dev in spec["devices"]), spec["devices"]


def domain_from_metadata(md, mac="52:54:00:00:00:01", iface="rtnet"):
    """The domain XML the binding plugin's configurator would produce from the metadata (its
    generateDomainInterface, written out by hand), in the shipped RT guest's domain."""
    attrs = md["requests"][0]["devices"][0]["attributes"]
    path, mtu = attrs["vhost-user-path"]["string"], attrs["mtu"]["int"]
    interface = (f"<interface type='vhostuser'>\n"
                 f"      <mac address='{mac}'/>\n"
                 f"      <source type='unix' path='{path}' mode='server'/>\n"
                 f"      <model type='virtio'/>\n"
                 f"      <driver queues='1' rx_queue_size='1024' tx_queue_size='1024'/>\n"
                 f"      <mtu size='{mtu}'/>\n"
                 f"      <alias name='ua-{iface}'/>\n"
                 f"    </interface>")
    with open(os.path.join(HERE, "..", "..", "configs", "rtvswitch-rt-guest.xml")) as f:
        xml = f.read()
    return re.sub(r"<interface type='vhostuser'>.*?</interface>", interface, xml, flags=re.S)


def check_domain_xml(d, md):
    path = os.path.join(d["gen"], "domain.xml")
    with open(path, "w") as f:
        f.write(domain_from_metadata(md))
    r = subprocess.run(["virt-xml-validate", path, "domain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def check_bad_start(binary, d, api):
    """Bad command lines and a corrupt checkpoint: a one-line error, a non-zero exit, nothing
    created."""
    base = [binary, "--plugins-registry", d["registry"], "--plugin-dir", d["plugin"],
            "--api-server", api.url]
    cases = [(base, "--node-name (or $NODE_NAME)"),
             (base + ["--node-name", NODE, "--mtu", "20"], "--mtu"),
             (base + ["--node-name", NODE, "--devices", "x"], "--devices")]
    ckpt = os.path.join(d["gen"], "bad-ckpt.json")
    with open(ckpt, "w") as f:
        f.write("{not json")
    cases.append((base + ["--node-name", NODE, "--checkpoint", ckpt], "is not valid JSON"))
    unset = ("NODE_NAME", "KUBERNETES_SERVICE_HOST")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    for argv, want in cases:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
        err = r.stderr.strip()
        assert r.returncode != 0 and want in err, (argv, r.returncode, err)
        assert len([ln for ln in err.splitlines() if ln.strip()]) <= 2, err
        assert not os.path.exists(d["registry"]) and not os.path.exists(d["plugin"]), argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dra-binary", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rtvs-dra-") as tmp, \
            dp.ProcessGroup("dra", tmpdir=tmp) as g:
        names = ("registry", "plugin", "sockets", "metadata", "cdi", "gen")
        d = {k: os.path.join(tmp, k) for k in names}
        for k in ("sockets", "gen"):
            os.makedirs(d[k])
        d["ctl"] = os.path.join(tmp, "rtvswitch.ctl")
        api = KubeApiServer(tmp)
        try:
            run(g, args.dra_binary, d, api)
        finally:
            api.close()
    print("test_dra_plugin: ok")


def run(g, binary, d, api):
    check_bad_start(binary, d, api)
    sw = rs.Daemon(g, control=d["ctl"], socket_dirs=[d["sockets"]])
    kubelet = Kubelet(d["gen"])
    api.add_node(NODE)
    # A slice of this node and driver left by an older version: the plugin deletes it.
    api.add_slice({"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
                   "metadata": {"name": "node-a-old"},
                   "spec": {"driver": DRIVER, "nodeName": NODE, "devices": [],
                            "pool": {"name": NODE, "generation": 1, "resourceSliceCount": 1}}})
    uid_a, uid_b, uid_c, uid_d = (str(uuid.uuid4()) for _ in range(4))
    pod = ("virt-launcher-vm1-abcde", str(uuid.uuid4()))
    api.add_claim(claim("vm1-net1-x7k2p", uid_a, [("vhost", "port-0")],
                        [opaque({"mtu": 1500}, "FromClass"),
                         opaque({"mtu": 9000, "vlan": 10, "queues": 2,
                                 "allowed-macs": "52:54:00:00:00:01",
                                 "storm-broadcast-pps": 1000})],
                        pod=pod, pod_claim="net1"))
    api.add_claim(claim("pending", uid_b, allocated=False))
    api.add_claim(claim("recreated", str(uuid.uuid4()), [("vhost", "port-1")]))
    api.add_claim(claim("badmtu", uid_d, [("vhost", "port-2")], [opaque({"mtu": 20})]))

    p = Plugin(g, binary, d, api)
    kubelet.wait_socket(p.reg_sock, proc=p.proc)
    info = kubelet.register(p.reg_sock)
    endpoint = os.path.join(d["plugin"], "dra.sock")
    assert (info.type, info.name, info.endpoint, list(info.supported_versions)) == (
        "DRAPlugin", DRIVER, endpoint, ["v1.DRAPlugin"]), info
    wait_for(lambda: "node-a-vhostuser-rtvswitch-io" in api.slices, "the ResourceSlice")
    s = api.slices["node-a-vhostuser-rtvswitch-io"]
    assert "node-a-old" not in api.slices
    assert [x["name"] for x in s["spec"]["devices"]] == [f"port-{i}" for i in range(4)]
    assert s["spec"]["pool"] == {"name": NODE, "generation": 1, "resourceSliceCount": 1}
    owner = s["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Node", NODE, api.nodes[NODE]["metadata"]["uid"]), owner
    # The watch (resync here: an hour): a slice deleted, or changed, behind the plugin's back is
    # published again within seconds.
    wait_for(lambda: api.watch_count() >= 1, "the plugin's ResourceSlice watch")
    watches = [p_ for m, p_ in api.slice_requests() if "watch=true" in p_]
    assert watches, api.slice_requests()
    assert "fieldSelector=spec.nodeName%3Dnode-a%2Cspec.driver%3D" in watches[0], watches
    slice_name = "node-a-vhostuser-rtvswitch-io"
    api.delete_slice(slice_name)
    wait_for(lambda: slice_name in api.slices, "the deleted slice published again", 10)
    changed = json.loads(json.dumps(api.slices[slice_name]))
    changed["spec"]["devices"] = changed["spec"]["devices"][:1]
    api.add_slice(changed)
    wait_for(lambda: len(api.slices[slice_name]["spec"]["devices"]) == 4,
             "the changed slice published again", 10)
    generation = api.slices[slice_name]["spec"]["pool"]["generation"]

    uid_gone = str(uuid.uuid4())
    claims = [("vms", "vm1-net1-x7k2p", uid_a), ("vms", "pending", uid_b),
              ("vms", "recreated", uid_c), ("vms", "badmtu", uid_d), ("vms", "gone", uid_gone)]
    t0 = time.monotonic()
    res = kubelet.prepare(endpoint, claims)
    prepare_ms = (time.monotonic() - t0) * 1000
    assert set(res) == {c[2] for c in claims}, res.keys()
    check_prepared(sw, d, res[uid_a], uid_a, pod)
    errors = {uid: res[uid].error for uid in res if uid != uid_a}
    assert "is not allocated" in errors[uid_b], errors
    assert "has UID" in errors[uid_c] and "asked for " + uid_c in errors[uid_c], errors
    assert "mtu: must be 68-9702, got 20" in errors[uid_d], errors
    assert "HTTP 404" in errors[uid_gone], errors
    assert all(not res[u].devices for u in errors)
    assert all(len(e.splitlines()) == 1 for e in errors.values()), errors
    # Failed claims left no port.
    assert [x["name"] for x in sw.rpc("port.list")["ports"]] == [f"dra-{uid_a}-port-0"]

    again = kubelet.prepare(endpoint, claims[:1])  # idempotent
    assert again[uid_a] == res[uid_a], again
    check_prepared(sw, d, again[uid_a], uid_a, pod)

    # Plugin restart: registers again, same answer; the slice is left as it is.
    p.stop()
    posts = len([r for r in api.slice_requests() if r[0] != "GET"])
    p = Plugin(g, binary, d, api)
    kubelet.wait_socket(p.reg_sock, proc=p.proc)
    kubelet.register(p.reg_sock)
    assert kubelet.prepare(endpoint, claims[:1])[uid_a] == res[uid_a]
    wait_for(lambda: "unchanged" in p.proc.stderr_text(limit=100000), "the slice check")
    assert len([r for r in api.slice_requests() if r[0] != "GET"]) == posts

    # rtvswitch restarted without its state: the port is gone; a plugin restart puts it back
    # from its checkpoint.
    sw.stop()
    sw.restart()
    assert sw.rpc("port.list")["ports"] == []
    p.stop()
    p = Plugin(g, binary, d, api, devices=6, resync=1)
    kubelet.wait_socket(p.reg_sock, proc=p.proc)
    wait_for(lambda: sw.rpc("port.list")["ports"], "the port restored")
    check_prepared(sw, d, res[uid_a], uid_a, pod)
    # More devices: the slice is updated under the next pool generation.
    wait_for(lambda: len(api.slices["node-a-vhostuser-rtvswitch-io"]["spec"]["devices"]) == 6,
             "the updated slice")
    assert api.slices["node-a-vhostuser-rtvswitch-io"]["spec"]["pool"]["generation"] == \
        generation + 1
    # rtvswitch restarted without its state under a running plugin: the next resync (1 s)
    # puts the port back.
    sw.stop()
    sw.restart()
    wait_for(lambda: sw.rpc("port.list")["ports"], "the port restored by the resync", 10)
    check_prepared(sw, d, res[uid_a], uid_a, pod)
    # A slice deleted behind the plugin's back without a watch event (a watch that missed it)
    # comes back at the next resync.
    with api.lock:
        del api.slices["node-a-vhostuser-rtvswitch-io"]
    wait_for(lambda: "node-a-vhostuser-rtvswitch-io" in api.slices, "the slice recreated", 10)
    # Nothing refused but the claim that does not exist.
    assert [r[:3] for r in api.rejected] == [
        ("GET", "/apis/resource.k8s.io/v1/namespaces/vms/resourceclaims/gone", 404)], api.rejected

    t0 = time.monotonic()
    un = kubelet.unprepare(endpoint, claims)
    unprepare_ms = (time.monotonic() - t0) * 1000
    assert set(un) == {c[2] for c in claims} and not any(r.error for r in un.values()), un
    assert sw.rpc("port.list")["ports"] == []
    for path in (os.path.join(d["sockets"], uid_a), os.path.join(d["metadata"], uid_a),
                 os.path.join(d["cdi"], f"{DRIVER}-{uid_a}.json")):
        assert not os.path.exists(path), path
    with open(os.path.join(d["plugin"], "ckpt.json")) as f:
        assert json.load(f)["claims"] == []
    un = kubelet.unprepare(endpoint, claims[:1])  # again: nothing to do, no error
    assert not un[uid_a].error, un
    # A UID that is not a name (a path) is refused for that claim; nothing outside is touched.
    un = kubelet.unprepare(endpoint, [("vms", "evil", "../../plugin")])
    assert "is not a valid name" in un["../../plugin"].error, un
    assert os.path.exists(os.path.join(d["plugin"], "ckpt.json"))
    # rtvswitch unreachable: the error is the claim's, one line.
    sw.stop()
    un = kubelet.unprepare(endpoint, claims[:1])
    assert "cannot connect" in un[uid_a].error and "\n" not in un[uid_a].error, un
    p.stop()
    print(f"prepare of 5 claims (1 good): {prepare_ms:.1f} ms; unprepare of 5: "
          f"{unprepare_ms:.1f} ms")


if __name__ == "__main__":
    main()
