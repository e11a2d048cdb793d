"""rtvswitch-agent: Neutron's common L2 agent loop driving rtvswitch.

A device is a guest's vhost-user socket: Nova's QEMU creates
'<socket_dir>/vhu<port id[:11]>' when the guest starts (vhostuser_mode
server). The loop asks the Neutron server for the port behind each new or
updated socket ('tap<port id[:11]>', a partial id ML2 resolves), and the
manager adds the switch port, named as the socket, as a 'vhostuserclient'
with the segment's VLAN tag, the port's allowed MACs when port security is
on, and the external ids iface-id, attached-mac and vm-uuid; then the loop
reports the device up and Neutron sets the port ACTIVE. Ports that Neutron
deletes or unbinds, and sockets that go away, leave the switch.

Adds are idempotent ('may_exist'), so a restarted agent resyncs without
touching the data path. A restarted rtvswitch that lost its ports (no state
file) shows as changed devices, and they are added again.
"""

import os
import stat
import sys

from neutron_lib.agent import topics
from neutron_lib import constants as n_const
from neutron_lib.utils import helpers
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
from oslo_service import service

from neutron.api.rpc.handlers import securitygroups_rpc as sg_rpc
from neutron.common import config as common_config
from neutron.conf.agent import common as agent_config
from neutron.plugins.ml2.drivers.agent import _agent_manager_base as amb
from neutron.plugins.ml2.drivers.agent import _common_agent as ca

from networking_rtvswitch.agent import config
from networking_rtvswitch import client
from networking_rtvswitch import constants

LOG = logging.getLogger(__name__)

config.register_opts()

# Switch options the agent owns on its ports; a port.set resets the ones a
# port no longer needs to these values.
OPTION_DEFAULTS = {'allowed-macs': ''}


class RtvswitchRpcCallbacks(sg_rpc.SecurityGroupAgentRpcCallbackMixin,
                            amb.CommonAgentManagerRpcCallBackBase):
    # 1.1 security groups, 1.3 devices_to_update, 1.4 network_update,
    # 1.5 binding_activate/deactivate
    target = oslo_messaging.Target(version='1.5')

    def port_update(self, context, **kwargs):
        port_id = kwargs['port']['id']
        LOG.debug('port_update for %s', port_id)
        # Only the name: the details are fetched again, in order, by the loop.
        self.updated_devices.add(constants.device_name(port_id))

    def port_delete(self, context, **kwargs):
        port_id = kwargs.get('port_id')
        LOG.debug('port_delete for %s', port_id)
        self.agent.mgr.mark_deleted(port_id)

    def network_update(self, context, **kwargs):
        network_id = kwargs['network']['id']
        for port in self.agent.network_ports.get(network_id, []):
            self.updated_devices.add(port['device'])

    def network_delete(self, context, **kwargs):
        self.network_map.pop(kwargs.get('network_id'), None)

    def binding_activate(self, context, **kwargs):
        if kwargs.get('host') == cfg.CONF.host:
            self.updated_devices.add(
                constants.device_name(kwargs['port_id']))

    def binding_deactivate(self, context, **kwargs):
        if kwargs.get('host') == cfg.CONF.host:
            self.agent.mgr.unplug([constants.device_name(kwargs['port_id'])])


class RtvswitchManager(amb.CommonAgentManagerBase):
    """What the common agent loop needs to know about rtvswitch."""

    def __init__(self, switch, socket_dir, bridge_mappings):
        self.switch = switch
        self.socket_dir = socket_dir
        self.bridge_mappings = bridge_mappings
        self.agent = None
        # device -> the Neutron port details of its last plug
        self.details = {}
        # partial port ids Neutron deleted whose socket is still there
        self.deleted = set()
        # names of the switch's ports at the last scan; None: unreachable
        self.switch_ports = set()

    # Devices

    def get_all_devices(self):
        """The sockets in socket_dir whose port Neutron has not deleted."""
        try:
            names = os.listdir(self.socket_dir)
        except OSError as e:
            LOG.error('socket directory %s: %s', self.socket_dir, e)
            return set()
        devices = set()
        for name in names:
            if not name.startswith(constants.SOCKET_PREFIX):
                continue
            try:
                st = os.lstat(os.path.join(self.socket_dir, name))
            except OSError:
                continue
            if not stat.S_ISSOCK(st.st_mode):
                continue
            short_id = name[len(constants.SOCKET_PREFIX):]
            if short_id in self.deleted:
                continue
            devices.add(constants.DEVICE_PREFIX + short_id)
        # A deleted port is forgotten once its socket is gone.
        self.deleted &= {n[len(constants.SOCKET_PREFIX):] for n in names}
        return devices

    def get_devices_modified_timestamps(self, devices):
        """A token per device that changes when the guest or switch restarts.

        The socket's inode changes when QEMU is started again; the port's
        presence in rtvswitch changes when the switch comes back without it.
        The loop treats a changed token as an updated device and plugs it
        again.
        """
        self.switch_ports = self._switch_port_names()
        tokens = {}
        for device in devices:
            name = self._port_name(device)
            try:
                ino = os.lstat(os.path.join(self.socket_dir, name)).st_ino
            except OSError:
                continue
            if self.switch_ports is None:
                present = None
            else:
                present = (name in self.switch_ports or
                           device not in self.details)
            tokens[device] = (ino, present)
        return tokens

    def _switch_port_names(self):
        try:
            names = {p['name'] for p in self.switch.port_list()}
        except client.SwitchError as e:
            if self.switch_ports is not None:
                LOG.warning('rtvswitch: %s', e)
            return None
        if self.switch_ports is None:
            LOG.info('rtvswitch answers on %s', self.switch.path)
        return names

    @staticmethod
    def _port_name(device):
        return constants.SOCKET_PREFIX + device[len(constants.DEVICE_PREFIX):]

    def mark_deleted(self, port_id):
        self.deleted.add(port_id[:constants.PORT_ID_CHARS])

    # Plugging

    def setup_arp_spoofing_protection(self, device, device_details):
        # Called first for each device with Neutron's port details: kept for
        # plug_interface, which gets only the segment.
        self.details[device] = device_details

    def delete_arp_spoofing_protection(self, devices):
        pass

    def delete_unreferenced_arp_protection(self, current_devices):
        self.remove_stale_ports(current_devices)

    def _allowed_macs(self, details):
        if not details.get('port_security_enabled', True):
            return ''
        macs = [details['mac_address']]
        for pair in details.get('allowed_address_pairs') or []:
            mac = pair.get('mac_address')
            if mac and mac not in macs:
                macs.append(mac)
        return ','.join(m.lower() for m in macs)

    def _vm_uuid(self, port_id):
        try:
            ports = self.agent.plugin_rpc.get_ports_by_vnic_type_and_host(
                self.agent.context, 'normal', cfg.CONF.host)
        except Exception as e:
            LOG.warning('cannot get the device id of %s: %s', port_id, e)
            return ''
        for port in ports:
            if port['id'] == port_id:
                return port.get('device_id') or ''
        return ''

    def desired_port(self, device, segment):
        details = self.details[device]
        name = self._port_name(device)
        options = {'type': 'vhostuserclient',
                   'path': os.path.join(self.socket_dir, name)}
        if segment.network_type == n_const.TYPE_VLAN:
            options['tag'] = str(segment.segmentation_id)
        if segment.mtu:
            options['mtu'] = str(segment.mtu)
        macs = self._allowed_macs(details)
        if macs:
            options['allowed-macs'] = macs
        external_ids = {'iface-id': details['port_id'],
                        'attached-mac': details['mac_address'],
                        'vm-uuid': self._vm_uuid(details['port_id'])}
        return name, options, external_ids

    def plug_interface(self, network_id, network_segment, device,
                       device_owner):
        if network_segment.network_type not in (n_const.TYPE_FLAT,
                                                n_const.TYPE_VLAN):
            LOG.error('%s: network type %s is not supported', device,
                      network_segment.network_type)
            return False
        if not self.details[device]['admin_state_up']:
            # ensure_port_admin_state takes it out of the switch.
            return True
        name, options, external_ids = self.desired_port(device,
                                                        network_segment)
        try:
            self.ensure_port(name, options, external_ids)
        except client.SwitchError as e:
            LOG.error('%s: %s', name, e)
            return False
        return True

    def ensure_port(self, name, options, external_ids):
        """Adds the port or brings an existing one to this spec."""
        try:
            self.switch.port_add(name, options, external_ids, may_exist=True)
            return
        except client.RpcError as e:
            if e.code != client.EXISTS:
                raise
            LOG.info('%s differs from Neutron\'s port: %s', name, e.message)
        cur = self.switch.port_show(name)
        cur_opts = cur.get('options', {})
        cur_ids = cur.get('external_ids', {})
        if (cur_opts.get('type') != options['type'] or
                cur_opts.get('path') != options['path']):
            self._recreate(name, options, external_ids)
            return
        opts = {k: v for k, v in options.items()
                if str(cur_opts.get(k, '')) != v}
        for key, default in OPTION_DEFAULTS.items():
            current = str(cur_opts.get(key, default))
            if key not in options and current != default:
                opts[key] = default
        ids = {k: v for k, v in external_ids.items() if cur_ids.get(k) != v}
        try:
            self.switch.port_set(name, opts, ids)
            LOG.info('%s: set %s %s', name, opts, ids)
        except client.RpcError as e:
            if e.code != client.INVALID_PARAMS:
                raise
            LOG.info('%s: %s; re-creating it', name, e.message)
            self._recreate(name, options, external_ids)

    def _recreate(self, name, options, external_ids):
        self.switch.port_del(name, if_exists=True)
        self.switch.port_add(name, options, external_ids)

    def ensure_port_admin_state(self, device, admin_state_up):
        if not admin_state_up:
            self.unplug([device])

    def unplug(self, devices):
        for device in devices:
            self.details.pop(device, None)
            name = self._port_name(device)
            try:
                self.switch.port_del(name, if_exists=True)
                LOG.info('removed %s from rtvswitch', name)
            except client.SwitchError as e:
                LOG.error('%s: %s', name, e)

    def remove_stale_ports(self, current_devices):
        """Removes the agent's switch ports whose socket is gone."""
        keep = {self._port_name(d) for d in current_devices}
        try:
            ports = self.switch.port_list()
        except client.SwitchError as e:
            LOG.warning('rtvswitch: %s', e)
            return
        for port in ports:
            name = port['name']
            owned = (name.startswith(constants.SOCKET_PREFIX) and
                     'iface-id' in port.get('external_ids', {}))
            if owned and name not in keep:
                try:
                    self.switch.port_del(name, if_exists=True)
                    LOG.info('removed stale port %s from rtvswitch', name)
                except client.SwitchError as e:
                    LOG.error('%s: %s', name, e)

    # Agent identity and RPC

    def get_agent_configurations(self):
        return {constants.CONF_SOCKET_DIR: self.socket_dir,
                constants.CONF_BRIDGE_MAPPINGS: self.bridge_mappings}

    def get_agent_id(self):
        return 'rtvswitch-%s' % cfg.CONF.host

    def get_extension_driver_type(self):
        return constants.EXTENSION_DRIVER_TYPE

    def get_rpc_callbacks(self, context, agent, sg_agent):
        self.agent = agent
        return RtvswitchRpcCallbacks(context, agent, sg_agent)

    def get_agent_api(self, **kwargs):
        return None

    def get_rpc_consumers(self):
        return [[topics.PORT, topics.UPDATE],
                [topics.PORT, topics.DELETE],
                [topics.NETWORK, topics.UPDATE],
                [topics.NETWORK, topics.DELETE],
                [topics.PORT_BINDING, topics.DEACTIVATE],
                [topics.PORT_BINDING, topics.ACTIVATE],
                [topics.SECURITY_GROUP, topics.UPDATE]]


class RtvswitchAgentLoop(ca.CommonAgentLoop):
    """The common loop, plus taking ports out of the switch."""

    def _process_device_if_exists(self, device_details):
        super(RtvswitchAgentLoop, self)._process_device_if_exists(
            device_details)
        if 'port_id' not in device_details:
            # Neutron does not know the port, or it is bound elsewhere.
            self.mgr.unplug([device_details['device']])

    def treat_devices_removed(self, devices):
        resync = super(RtvswitchAgentLoop, self).treat_devices_removed(
            devices)
        self.mgr.unplug(devices)
        return resync


def parse_bridge_mappings():
    try:
        return helpers.parse_mappings(cfg.CONF.rtvswitch.bridge_mappings)
    except ValueError as e:
        LOG.error('[rtvswitch] bridge_mappings: %s', e)
        sys.exit(1)


def validate_firewall_driver():
    fw_driver = cfg.CONF.SECURITYGROUP.firewall_driver
    if fw_driver not in ('noop', 'neutron.agent.firewall.NoopFirewallDriver',
                         None, ''):
        LOG.error('[securitygroup] firewall_driver = %s: rtvswitch filters '
                  'by MAC only (allowed-macs); set it to "noop"', fw_driver)
        sys.exit(1)


def main():
    common_config.register_common_config_options()
    common_config.init(sys.argv[1:])
    common_config.setup_logging()
    agent_config.setup_privsep()
    validate_firewall_driver()
    bridge_mappings = parse_bridge_mappings()
    conf = cfg.CONF.rtvswitch
    switch = client.Client(conf.control_socket, conf.switch_timeout)
    try:
        LOG.info('rtvswitch %s at %s', switch.version()['version'],
                 conf.control_socket)
        names = {p['name'] for p in switch.port_list()}
        for physnet, port in bridge_mappings.items():
            if port not in names:
                LOG.warning('bridge_mappings: %s maps to %s, which is not '
                            'a port of rtvswitch', physnet, port)
    except client.SwitchError as e:
        LOG.warning('rtvswitch not reachable yet: %s', e)
    manager = RtvswitchManager(switch, conf.socket_dir, bridge_mappings)
    agent = RtvswitchAgentLoop(manager, cfg.CONF.AGENT.polling_interval,
                               cfg.CONF.AGENT.quitting_rpc_timeout,
                               constants.AGENT_TYPE, constants.AGENT_BINARY)
    LOG.info('rtvswitch agent initialized, running')
    launcher = service.launch(cfg.CONF, agent, restart_method='mutate')
    launcher.wait()
