"""ML2 mechanism driver: binds ports to rtvswitch as vhost-user interfaces.

A port binds on a host whose rtvswitch agent is alive, for a flat or vlan
segment whose physical network is in the agent's bridge mappings. Nova gets
vif_type 'vhostuser' with the socket in the agent's socket directory and
vhostuser_mode 'server': QEMU is the socket server and the switch connects to
it (rtvswitch's 'vhostuserclient' port), so either side can restart. With
none of the vhostuser_*_plug flags Nova plugs nothing (os-vif's noop plugin):
the agent creates the switch port when the socket appears.
"""

import os

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from oslo_log import log as logging

from neutron.plugins.ml2.drivers import mech_agent

from networking_rtvswitch import constants

LOG = logging.getLogger(__name__)

SUPPORTED_NETWORK_TYPES = (n_const.TYPE_FLAT, n_const.TYPE_VLAN)


class RtvswitchMechanismDriver(mech_agent.SimpleAgentMechanismDriverBase):

    def __init__(self):
        super(RtvswitchMechanismDriver, self).__init__(
            constants.AGENT_TYPE,
            portbindings.VIF_TYPE_VHOST_USER,
            {portbindings.CAP_PORT_FILTER: False,
             portbindings.VHOST_USER_MODE:
                 portbindings.VHOST_USER_MODE_SERVER},
            supported_vnic_types=[portbindings.VNIC_NORMAL])

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent=None):
        return SUPPORTED_NETWORK_TYPES

    def get_mappings(self, agent):
        return agent['configurations'].get(constants.CONF_BRIDGE_MAPPINGS,
                                           {})

    def check_segment_for_agent(self, segment, agent):
        if not agent['configurations'].get(constants.CONF_SOCKET_DIR):
            LOG.warning('rtvswitch agent on %s reports no socket directory',
                        agent['host'])
            return False
        return super(RtvswitchMechanismDriver,
                     self).check_segment_for_agent(segment, agent)

    def get_vif_details(self, context, agent, segment):
        details = dict(self.vif_details)
        sock_dir = agent['configurations'][constants.CONF_SOCKET_DIR]
        details[portbindings.VHOST_USER_SOCKET] = os.path.join(
            sock_dir, constants.socket_name(context.current['id']))
        return details
