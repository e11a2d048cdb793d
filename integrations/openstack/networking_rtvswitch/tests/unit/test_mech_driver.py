"""The ML2 driver against Neutron's own mechanism-driver test bases."""

from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base

from networking_rtvswitch import constants
from networking_rtvswitch.ml2 import mech_driver

SOCKET_DIR = '/run/rtvswitch'


class PortContextWithId(base.FakePortContext):
    def __init__(self, port_id, *args, **kwargs):
        super(PortContextWithId, self).__init__(*args, **kwargs)
        self._port_id = port_id

    @property
    def current(self):
        current = super(PortContextWithId, self).current
        current['id'] = self._port_id
        return current


class RtvswitchMechanismBaseTestCase(base.AgentMechanismBaseTestCase):
    VIF_TYPE = portbindings.VIF_TYPE_VHOST_USER
    VIF_DETAILS = {portbindings.VIF_DETAILS_CONNECTIVITY:
                   portbindings.CONNECTIVITY_L2,
                   portbindings.CAP_PORT_FILTER: False,
                   portbindings.VHOST_USER_MODE:
                       portbindings.VHOST_USER_MODE_SERVER,
                   # FakePortContext's port id is 'fake_port'.
                   portbindings.VHOST_USER_SOCKET:
                       SOCKET_DIR + '/vhufake_port'}
    AGENT_TYPE = constants.AGENT_TYPE

    GOOD_CONFIGS = {constants.CONF_SOCKET_DIR: SOCKET_DIR,
                    constants.CONF_BRIDGE_MAPPINGS:
                        {'fake_physical_network': 'nic0'}}
    BAD_CONFIGS = {constants.CONF_SOCKET_DIR: SOCKET_DIR,
                   constants.CONF_BRIDGE_MAPPINGS:
                       {'wrong_physical_network': 'nic0'}}
    NO_SOCKET_DIR_CONFIGS = {constants.CONF_BRIDGE_MAPPINGS:
                             {'fake_physical_network': 'nic0'}}

    AGENTS = [{'alive': True, 'configurations': GOOD_CONFIGS,
               'host': 'host', 'agent_type': AGENT_TYPE}]
    AGENTS_DEAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                    'host': 'dead_host', 'agent_type': AGENT_TYPE}]
    AGENTS_BAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                   'host': 'bad_host_1', 'agent_type': AGENT_TYPE},
                  {'alive': True, 'configurations': BAD_CONFIGS,
                   'host': 'bad_host_2', 'agent_type': AGENT_TYPE},
                  {'alive': True, 'configurations': NO_SOCKET_DIR_CONFIGS,
                   'host': 'bad_host_3', 'agent_type': AGENT_TYPE}]

    def setUp(self):
        super(RtvswitchMechanismBaseTestCase, self).setUp()
        self.driver = mech_driver.RtvswitchMechanismDriver()
        self.driver.initialize()


class RtvswitchMechanismGenericTestCase(RtvswitchMechanismBaseTestCase,
                                        base.AgentMechanismGenericTestCase):
    pass


class RtvswitchMechanismFlatTestCase(RtvswitchMechanismBaseTestCase,
                                     base.AgentMechanismFlatTestCase):

    def test_type_flat_dead_agent(self):
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS_DEAD,
                                       self.FLAT_SEGMENTS)
        self.driver.bind_port(context)
        self._check_unbound(context)

    def test_type_flat_no_agent(self):
        context = base.FakePortContext(self.AGENT_TYPE, [],
                                       self.FLAT_SEGMENTS)
        self.driver.bind_port(context)
        self._check_unbound(context)

    def test_socket_named_after_port_id(self):
        port_id = '0123456789ab-cdef-0123-4567-89abcdef0123'
        context = PortContextWithId(port_id, self.AGENT_TYPE, self.AGENTS,
                                    self.FLAT_SEGMENTS)
        self.driver.bind_port(context)
        self.assertEqual(SOCKET_DIR + '/vhu0123456789a',
                         context._bound_vif_details[
                             portbindings.VHOST_USER_SOCKET])

    def test_other_vnic_type_refused(self):
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS,
                                       self.FLAT_SEGMENTS,
                                       vnic_type=portbindings.VNIC_DIRECT)
        self.driver.bind_port(context)
        self._check_unbound(context)


class RtvswitchMechanismVlanTestCase(RtvswitchMechanismBaseTestCase,
                                     base.AgentMechanismVlanTestCase):

    def test_type_vlan_dead_agent(self):
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS_DEAD,
                                       self.VLAN_SEGMENTS)
        self.driver.bind_port(context)
        self._check_unbound(context)


class RtvswitchMechanismRefusedTypesTestCase(RtvswitchMechanismBaseTestCase):

    def _refused(self, network_type, **extra):
        segment = {api.ID: network_type + '_segment_id',
                   api.NETWORK_TYPE: network_type,
                   api.NETWORK_ID: 'fake_network_id'}
        segment.update(extra)
        context = base.FakePortContext(self.AGENT_TYPE, self.AGENTS,
                                       [segment])
        self.driver.bind_port(context)
        self._check_unbound(context)

    def test_local_refused(self):
        self._refused('local')

    def test_vxlan_refused(self):
        self._refused('vxlan', **{api.SEGMENTATION_ID: 1234})

    def test_gre_refused(self):
        self._refused('gre', **{api.SEGMENTATION_ID: 1234})

    def test_geneve_refused(self):
        self._refused('geneve', **{api.SEGMENTATION_ID: 1234})
