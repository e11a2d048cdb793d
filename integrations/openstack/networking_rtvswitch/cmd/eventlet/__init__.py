# As neutron.cmd.eventlet: the agent's entry points run under eventlet, so
# the standard library is patched before anything else is imported.
from neutron.common import eventlet_utils

eventlet_utils.monkey_patch()
