"""Names the ML2 driver and the agent share."""

AGENT_TYPE = 'rtvswitch agent'
AGENT_BINARY = 'rtvswitch-agent'
EXTENSION_DRIVER_TYPE = 'rtvswitch'

# Agent state report keys (agent['configurations']).
CONF_SOCKET_DIR = 'vhostuser_socket_dir'
CONF_BRIDGE_MAPPINGS = 'bridge_mappings'

# As the OVS agent: the socket, and the switch port, are 'vhu' plus the
# first 11 characters of the Neutron port id; the full id is the port's
# 'iface-id' external id.
SOCKET_PREFIX = 'vhu'
# The device name the agent uses towards the Neutron server: 'tap' is one of
# the prefixes ML2 strips to find a port from a partial id (as the Linux
# bridge agent does).
DEVICE_PREFIX = 'tap'
PORT_ID_CHARS = 11


def socket_name(port_id):
    return SOCKET_PREFIX + port_id[:PORT_ID_CHARS]


def device_name(port_id):
    return DEVICE_PREFIX + port_id[:PORT_ID_CHARS]
