#!/usr/bin/python3
"""OpenStack system test: Neutron binds ports to rtvswitch, Nova's interfaces boot two guests.

Real components, all started here and stopped by PID: rabbitmq-server (with its epmd), MariaDB,
neutron-server (ML2 + the rtvswitch mechanism driver, noauth, MariaDB), rtvswitch-agent, the
rtvswitch daemon of the build tree, virtlogd + libvirtd and two QEMU guests (TCG). Nova's own
code (Debian's python3-nova) turns each bound Neutron port into its libvirt <interface>:
nova.network.neutron builds the VIF model from the port, os_vif_util converts it (plugin
'noop': Nova plugs nothing), LibvirtGenericVIFDriver.get_config renders it. The domain around
it adds only what the test guest needs (kernel, shared memory, serial log) and, because QEMU
7.2 under TCG crashes with MSI-X on vhost-user, a <qemu:override> of the NIC's 'vectors'.

Checks: the agent reports in; a vlan network's two ports bind (vhostuser, socket in the agent's
directory) and go ACTIVE once the guests run; rtvswitch has them as vhostuserclient with the
VLAN tag, allowed MACs and external ids; guest a pings guest b through the switch; an
allowed-address-pair update and a network MTU change reach the switch; admin state down/up
takes the port out and back; an agent restart and an rtvswitch restart keep (or bring back)
traffic; a port deleted in Neutron leaves the switch. Prints one OPENSTACK-RESULT {json} line
with the timings.
Exit 77 (skipped) when a Debian package it needs is missing, or when the rtvswitch under test
lacks the orchestrator port API (port.set and the rest, CONTRACT "ports an orchestrator
drives").
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import os_services as oss  # noqa: E402

PHYSNET = "physnet1"
UPLINK = "uplink"  # the NIC port physnet1 maps to (not needed between local guests)
VLAN = 101
HOST = "rtvs-os-host"
PROJECT = "rtvs-os-test"
EVENT_RE = re.compile(r"RTVS-(BOOT|NET|RESULT|REPLY|ERROR|DONE) (\{.*\})\s*$")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


def wait_for(what, pred, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def missing_packages():
    missing = []
    for path, pkg in (("/usr/bin/neutron-server", "neutron-server"),
                      ("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"),
                      ("/usr/sbin/libvirtd", "libvirt-daemon-system"),
                      ("/usr/bin/virt-xml-validate", "libvirt-clients"),
                      ("/usr/bin/qemu-system-x86_64", "qemu-system-x86")):
        if not os.path.exists(path):
            missing.append(pkg)
    for mod, pkg in (("nova", "python3-nova"), ("os_vif", "python3-os-vif"),
                     ("openstack", "python3-openstacksdk"), ("neutron", "python3-neutron")):
        if subprocess.run([oss.SYSTEM_PYTHON, "-c", f"import {mod}"],
                          capture_output=True).returncode != 0:
            missing.append(pkg)
    return missing


class Console:
    """A guest's serial log (written by libvirt's virtlogd): RTVS-* events with the host time
    they were first seen."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.partial = ""
        self.events = []
        self.lock = threading.Lock()

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return
        now = time.monotonic()
        lines = (self.partial + data).split("\n")
        self.partial = lines.pop()
        with self.lock:
            for line in lines:
                m = EVENT_RE.search(line)
                if m:
                    try:
                        self.events.append((m.group(1), json.loads(m.group(2)), now))
                    except ValueError:
                        pass

    def first(self, kind, after=0.0):
        with self.lock:
            for k, data, seen in self.events:
                if k == kind and seen >= after:
                    return data, seen
        return None

    def text(self, limit=3000):
        try:
            with open(self.path, errors="replace") as f:
                return f.read()[-limit:]
        except OSError:
            return ""


def nova_interface_xml(neutron_url, nova_conf, port_id, instance_uuid):
    """The <interface> Nova's libvirt driver generates for a bound Neutron port, by Nova's
    own code: the VIF model from nova.network.neutron (through Nova's Neutron client), the
    os-vif object from os_vif_util, the XML from the libvirt VIF driver."""
    import nova.conf
    from nova import context as nova_context
    from nova.network import neutron as nova_neutron
    from nova.network import os_vif_util
    from nova import objects
    from nova.virt.libvirt import vif as libvirt_vif
    import os_vif

    conf = nova.conf.CONF
    if not getattr(nova_interface_xml, "configured", False):
        conf(["--config-file", nova_conf], project="nova")
        objects.register_all()
        os_vif.objects.register_all()
        os_vif.initialize()
        nova_interface_xml.configured = True
    ctx = nova_context.get_admin_context()
    client = nova_neutron.get_client(ctx, admin=True)
    port = client.show_port(port_id)["port"]
    networks = client.list_networks(id=[port["network_id"]])["networks"]
    vif = nova_neutron.API()._build_vif_model(ctx, client, port, networks, [])
    osvif = os_vif_util.nova_to_osvif_vif(vif)
    if osvif is None or osvif.plugin != "noop":
        fail(f"os_vif_util: expected a VIFVHostUser for the noop plugin, got {osvif}")
    flavor = objects.Flavor(name="rt.small", vcpus=1, memory_mb=256, root_gb=0, ephemeral_gb=0,
                            swap=0, extra_specs={})
    instance = objects.Instance(uuid=instance_uuid, id=1, display_name="rtvs", project_id=PROJECT,
                                flavor=flavor)
    # What LibvirtDriver.plug_vifs does: os-vif's noop plugin, nothing is created on the host.
    os_vif.plug(osvif, os_vif_util.nova_to_osvif_instance(instance))
    image_meta = objects.ImageMeta.from_dict({"properties": {}})
    cfg = libvirt_vif.LibvirtGenericVIFDriver().get_config(instance, vif, image_meta, flavor,
                                                           "qemu")
    return cfg.to_xml(), osvif


def domain_xml(name, instance_uuid, interface_xml, kernel, initrd, cmdline, console):
    return f"""<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <uuid>{instance_uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
{interface_xml}
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
  <qemu:override>
    <qemu:device alias='net0'>
      <qemu:frontend>
        <qemu:property name='vectors' type='unsigned' value='0'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
"""


def virsh(*args, check=True, timeout=120):
    r = subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if check and r.returncode != 0:
        fail(f"virsh {' '.join(args)}: {r.stderr.strip()}")
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--image-dir", help="guest image directory (default BUILD/guest)")
    args = ap.parse_args()
    os.environ["RTVS_BUILD_DIR"] = os.path.abspath(args.build_dir)
    missing = missing_packages()
    if missing:
        print(f"SKIP: Debian packages missing: {' '.join(missing)} (scripts/setup.sh)")
        return 77
    import dpdk_procs as dp
    import qemu_guests as qg
    import rtvswitch as rs

    t_start = time.monotonic()
    result = {"ran_for_real": ["rabbitmq-server", "mariadb", "neutron-server (ML2, rtvswitch)",
                               "rtvswitch-agent", "rtvswitch", "libvirtd", "virtlogd",
                               "QEMU (TCG) x2", "nova.network.neutron", "nova os_vif_util",
                               "nova LibvirtGenericVIFDriver", "os-vif noop plug",
                               "virt-xml-validate", "openstacksdk"]}
    workdir = tempfile.mkdtemp(prefix=f"rtvs-openstack-{os.getpid()}-")
    os.chmod(workdir, 0o755)  # QEMU (libvirt-qemu) reaches its socket directory through it
    services = []
    domains = []
    consoles = {}
    group = dp.ProcessGroup("os", tmpdir=os.path.join(workdir, "switch"))
    os.makedirs(group.tmpdir)
    os.chmod(group.tmpdir, 0o755)
    group.die_with_parent = True
    ok = False
    try:
        # The guests' socket directory: QEMU runs as libvirt-qemu and creates the sockets.
        sock_dir = os.path.join(group.tmpdir, "vhost")
        os.makedirs(sock_dir)
        shutil.chown(sock_dir, group="libvirt-qemu")
        os.chmod(sock_dir, 0o2775)
        image_dir = args.image_dir or os.path.join(args.build_dir, "guest")
        qg.build_image(image_dir)
        guest_dir = os.path.join(workdir, "guest")
        os.makedirs(guest_dir)
        kernel = shutil.copy(os.path.join(image_dir, "vmlinux"), guest_dir)
        initrd = shutil.copy(os.path.join(image_dir, "initramfs.cpio.gz"), guest_dir)

        # rtvswitch, libvirtd and RabbitMQ start side by side; neutron-server needs RabbitMQ.
        t0 = time.monotonic()
        help_text = subprocess.run([rs.daemon_binary(), "--help"], capture_output=True,
                                   text=True).stdout
        # Without its state file a restarted switch has no ports: the agent must add them.
        no_state = ["--no-state"] if "--no-state" in help_text else []
        # Socket confinement: the guests' directory is allowed explicitly, as in production.
        allow = (["--allowed-socket-dir", sock_dir] if "--allowed-socket-dir" in help_text
                 else [])
        sw = rs.Daemon(group, args=no_state + allow)
        log(f"rtvswitch pid {sw.pid}")
        methods = {c["method"] for c in sw.rpc("list-commands")["commands"]}
        if "port.set" not in methods:
            print("SKIP: this rtvswitch has no port.set: the orchestrator port API the agent "
                  "uses (may_exist, external_ids, tag, allowed-macs, port.set) is not built in")
            return 77
        transport_url, wait_rabbit = oss.start_rabbitmq(workdir, services)
        db_url, wait_db = oss.start_mariadb(workdir, services)
        wait_libvirtd = oss.start_libvirtd(workdir, services)
        pkg_env = oss.package_env(workdir)
        wait_db()
        neutron = oss.NeutronServer(workdir, transport_url, db_url, services, pkg_env, PHYSNET,
                                    f"{VLAN}:{VLAN + 9}")
        wait_rabbit()
        if wait_libvirtd:
            wait_libvirtd()
        else:
            result["ran_for_real"].append("libvirtd of the host (already running)")
        neutron.wait()
        result["services_start_s"] = round(time.monotonic() - t0, 1)
        log(f"rabbitmq, libvirtd, rtvswitch and neutron-server at {neutron.url} up "
            f"({result['services_start_s']} s)")
        agent = oss.Agent(workdir, transport_url, services, pkg_env, HOST, sw.control,
                          sock_dir, f"{PHYSNET}:{UPLINK}")
        agent.start()

        import openstack
        conn = openstack.connection.Connection(
            auth_type="none", auth={"endpoint": neutron.url},
            network_endpoint_override=neutron.url)

        def rtvs_agent():
            for a in conn.network.agents(host=HOST):
                if a.agent_type == "rtvswitch agent" and a.is_alive:
                    return a
            return None

        a = wait_for("the rtvswitch agent to report in", rtvs_agent, 120, 0.5)
        conf = a.configuration
        if conf.get("vhostuser_socket_dir") != sock_dir or \
                conf.get("bridge_mappings") != {PHYSNET: UPLINK}:
            fail(f"agent configurations: {conf}")
        log(f"agent alive: {conf}")

        net = conn.network.create_network(name="rt-net", project_id=PROJECT,
                                          provider_network_type="vlan",
                                          provider_physical_network=PHYSNET,
                                          provider_segmentation_id=VLAN)
        conn.network.create_subnet(network_id=net.id, project_id=PROJECT, ip_version=4,
                                   cidr="10.0.0.0/24", enable_dhcp=False)
        ports = {}
        for name in ("a", "b"):
            ports[name] = conn.network.create_port(network_id=net.id, project_id=PROJECT,
                                                   name=f"rt-{name}")
        # A network type the driver does not carry is refused even on a live agent's host.
        flat_bad = conn.network.create_network(name="flat-other", project_id=PROJECT,
                                               provider_network_type="flat",
                                               provider_physical_network="physnet-unmapped")
        bad = conn.network.create_port(network_id=flat_bad.id, project_id=PROJECT)
        bad = conn.network.update_port(bad, binding_host_id=HOST)
        if bad.binding_vif_type != "binding_failed":
            fail(f"port on an unmapped physical network bound: {bad.binding_vif_type}")
        conn.network.delete_port(bad)
        conn.network.delete_network(flat_bad)

        # Bind as Nova does before it defines the guest: host, device id and owner.
        uuids = {n: str(uuid.uuid4()) for n in ports}
        t_bind = time.monotonic()
        for name, p in ports.items():
            p = conn.network.update_port(p, binding_host_id=HOST, device_id=uuids[name],
                                         device_owner="compute:nova")
            sock = os.path.join(sock_dir, "vhu" + p.id[:11])
            want = {"vhostuser_socket": sock, "vhostuser_mode": "server"}
            if p.binding_vif_type != "vhostuser" or \
                    any(p.binding_vif_details.get(k) != v for k, v in want.items()):
                fail(f"port {name} binding: {p.binding_vif_type} {p.binding_vif_details}")
            ports[name] = p
        log("ports bound: vhostuser, sockets " +
            ", ".join(p.binding_vif_details["vhostuser_socket"] for p in ports.values()))

        nova_conf = os.path.join(workdir, "nova.conf")
        with open(nova_conf, "w") as f:
            f.write(f"[neutron]\nauth_type = none\nendpoint = {neutron.url}\n"
                    f"endpoint_override = {neutron.url}\n")
        ips = {n: p.fixed_ips[0]["ip_address"] for n, p in ports.items()}
        poller_stop = threading.Event()

        def poll_consoles():
            while not poller_stop.wait(0.05):
                for c in list(consoles.values()):
                    c.poll()

        poller = threading.Thread(target=poll_consoles, daemon=True)
        poller.start()
        t_guests = {}
        for name, peer, test in (("b", "a", "idle"), ("a", "b", "ping-stream")):
            iface, osvif = nova_interface_xml(neutron.url, nova_conf, ports[name].id,
                                              uuids[name])
            if "type=\"vhostuser\"" not in iface or f"path=\"{osvif.path}\"" not in iface:
                fail(f"Nova's interface XML: {iface}")
            console = os.path.join(guest_dir, f"{name}.console")
            consoles[name] = Console(console)
            cmdline = (f"console=ttyS0 quiet panic=-1 rtvs.ip={ips[name]}/24 rtvs.test={test} "
                       f"rtvs.duration=400 rtvs.mtu=1500 rtvs.peer={ips[peer]} "
                       f"rtvs.interval=0.2")
            dom_name = f"rtvs-os-{name}-{os.getpid()}"
            xml = domain_xml(dom_name, uuids[name], iface, kernel, initrd, cmdline, console)
            path = os.path.join(guest_dir, f"{name}.xml")
            with open(path, "w") as f:
                f.write(xml)
            r = subprocess.run(["virt-xml-validate", path, "domain"], capture_output=True,
                               text=True)
            if r.returncode != 0:
                fail(f"virt-xml-validate {path}: {r.stdout}{r.stderr}")
            log(f"guest {name}: Nova's interface XML validated:\n{iface.strip()}")
            # virsh create returns once QEMU runs, which for vhost-user server mode is once the
            # switch has connected: the agent must have added the port by then.
            domains.append(dom_name)
            t_guests[name] = time.monotonic()
            virsh("create", path, timeout=180)
            log(f"guest {name}: domain {dom_name} started "
                f"({time.monotonic() - t_guests[name]:.1f} s)")

        def status(name):
            return conn.network.get_port(ports[name].id).status

        for name in ("a", "b"):
            wait_for(f"port {name} ACTIVE", lambda: status(name) == "ACTIVE", 90)
        t_active = time.monotonic()
        result["bind_to_active_s"] = round(t_active - t_bind, 1)
        result["guest_start_to_active_s"] = round(t_active - t_guests["a"], 1)
        log(f"ports ACTIVE: {result['bind_to_active_s']} s after binding "
            f"(guest a started {result['guest_start_to_active_s']} s before)")

        def switch_port(name):
            return sw.rpc("port.show", {"name": "vhu" + ports[name].id[:11]})

        for name in ("a", "b"):
            p = ports[name]
            sp = switch_port(name)
            opts, ids = sp.get("options", {}), sp.get("external_ids", {})
            want_opts = {"type": "vhostuserclient",
                         "path": p.binding_vif_details["vhostuser_socket"],
                         "tag": str(VLAN), "allowed-macs": p.mac_address}
            want_ids = {"iface-id": p.id, "attached-mac": p.mac_address, "vm-uuid": uuids[name]}
            if any(str(opts.get(k)) != v for k, v in want_opts.items()) or \
                    any(ids.get(k) != v for k, v in want_ids.items()):
                fail(f"switch port of {name}: options {opts} external_ids {ids}; "
                     f"expected {want_opts} {want_ids}")
        log("switch ports: vhostuserclient, tag, allowed-macs, external ids as Neutron's")

        ca = consoles["a"]

        def reply_after(t, timeout, what):
            return wait_for(what, lambda: ca.first("REPLY", after=t), timeout, 0.05)

        _, seen = reply_after(t_start, 120, "guest a's first ping reply from b")
        result["active_to_first_reply_s"] = round(seen - t_active, 1)
        log(f"guest a reaches b through rtvswitch ({result['active_to_first_reply_s']} s "
            "after ACTIVE)")

        # Port security change: an allowed address pair's MAC joins the switch's allowed-macs.
        extra_mac = "fa:16:3e:00:00:99"
        conn.network.update_port(ports["a"], allowed_address_pairs=[
            {"ip_address": "10.0.0.99", "mac_address": extra_mac}])
        wait_for("allowed-macs with the address pair", lambda: extra_mac in
                 switch_port("a")["options"].get("allowed-macs", ""), 30)
        log("allowed address pair reached the switch (port.set)")

        # Network MTU change: Neutron tells the agents, the switch ports follow.
        conn.network.update_network(net, mtu=1400)
        wait_for("MTU 1400 on both switch ports", lambda: all(
            str(switch_port(n)["options"].get("mtu")) == "1400" for n in ("a", "b")), 60)
        log("network MTU change reached the switch ports")

        # Admin state down takes the port out of the switch; up brings it back and traffic.
        conn.network.update_port(ports["b"], admin_state_up=False)
        name_b = "vhu" + ports["b"].id[:11]
        wait_for("b out of rtvswitch", lambda: name_b not in
                 [x["name"] for x in sw.rpc("port.list")["ports"]], 30)
        t_up = time.monotonic()
        conn.network.update_port(ports["b"], admin_state_up=True)
        wait_for("port b ACTIVE again", lambda: status("b") == "ACTIVE", 60)
        reply_after(t_up, 60, "replies after admin state up")
        result["admin_up_to_traffic_s"] = round(ca.first("REPLY", after=t_up)[1] - t_up, 1)
        log(f"admin state down/up: out of the switch and back "
            f"({result['admin_up_to_traffic_s']} s to traffic)")

        # Agent restart: ports stay in the switch and ACTIVE, traffic goes on.
        started = rtvs_agent().started_at
        t0 = time.monotonic()
        agent.stop()
        agent.start()
        wait_for("agent alive after restart", lambda: (rtvs_agent() and
                 rtvs_agent().started_at != started), 120, 0.5)
        time.sleep(3)  # a few loop iterations of the new agent (full sync)
        for name in ("a", "b"):
            if status(name) != "ACTIVE":
                fail(f"port {name} not ACTIVE after the agent restart")
        reply_after(time.monotonic(), 30, "replies after the agent restart")
        result["agent_restart_to_traffic_s"] = round(time.monotonic() - t0, 1)
        log("agent restarted: ports ACTIVE, traffic on")

        # rtvswitch restart (SIGKILL): the agent adds the ports again if the switch lost them.
        sw.kill()
        t_kill = time.monotonic()
        time.sleep(1)
        sw.restart()
        t_restart = time.monotonic()
        reply_after(t_restart, 90, "replies after the rtvswitch restart")
        result["switch_restart_to_traffic_s"] = round(
            ca.first("REPLY", after=t_restart)[1] - t_restart, 1)
        result["switch_restart_state"] = "no state file (agent re-adds)" if no_state else \
            "daemon default"
        log(f"rtvswitch restarted ({result['switch_restart_state']}): traffic "
            f"{result['switch_restart_to_traffic_s']} s after the restart "
            f"(down {t_restart - t_kill:.1f} s)")
        for name in ("a", "b"):
            wait_for(f"port {name} ACTIVE after the switch restart",
                     lambda: status(name) == "ACTIVE", 60)

        # Port delete in Neutron: the switch port goes, though the guest still runs.
        conn.network.delete_port(ports["b"])
        t_del = time.monotonic()
        wait_for("b removed from rtvswitch", lambda: name_b not in
                 [x["name"] for x in sw.rpc("port.list")["ports"]], 30)
        result["delete_to_removed_s"] = round(time.monotonic() - t_del, 1)
        log(f"port b deleted in Neutron: gone from rtvswitch in {result['delete_to_removed_s']} s")

        result["total_s"] = round(time.monotonic() - t_start, 1)
        print("OPENSTACK-RESULT " + json.dumps(result), flush=True)
        ok = True
        return 0
    except BaseException:
        for name, c in consoles.items():
            print(f"--- console {name}:\n{c.text(2000)}", file=sys.stderr)
        for path in (os.path.join(workdir, "rtvswitch-agent.log"),
                     os.path.join(workdir, "neutron", "server.log")):
            try:
                with open(path, errors="replace") as f:
                    lines = [ln for ln in f if " ERROR " in ln or "Traceback" in ln]
                print(f"--- errors in {path}:\n{''.join(lines[-40:])}", file=sys.stderr)
            except OSError:
                pass
        raise
    finally:
        for d in domains:
            virsh("destroy", d, check=False, timeout=60)
        oss.stop_all(services)
        group.close()
        if ok or os.environ.get("RTVS_KEEP_LOGS") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
