"""rtvswitch-agent options: the [rtvswitch] group of its configuration."""

from oslo_config import cfg

rtvswitch_opts = [
    cfg.StrOpt('control_socket', default='/run/rtvswitch/rtvswitch.ctl',
               help='rtvswitch\'s JSON-RPC control socket (its '
                    '"control-socket" key).'),
    cfg.StrOpt('socket_dir', default='/run/rtvswitch/vhost',
               help='Directory of the guests\' vhost-user sockets, reported '
                    'to the Neutron server: Nova\'s QEMU creates '
                    '"vhu<port id[:11]>" there (it must be writable by '
                    'libvirt\'s QEMU user and in rtvswitch\'s '
                    '"allowed-socket-dirs").'),
    cfg.ListOpt('bridge_mappings', default=[],
                help='<physical_network>:<switch port> pairs: the rtvswitch '
                     'port (a NIC, "type=dpdk") that carries each physical '
                     'network; VLAN networks reach it tagged.'),
    cfg.FloatOpt('switch_timeout', default=10.0,
                 help='Seconds to wait for an answer of rtvswitch.'),
]


def register_opts(conf=cfg.CONF):
    conf.register_opts(rtvswitch_opts, 'rtvswitch')


def list_opts():
    return [('rtvswitch', rtvswitch_opts)]
