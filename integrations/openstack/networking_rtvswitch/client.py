"""A small client of rtvswitch's JSON-RPC control socket (docs/api.md).

One JSON-RPC 2.0 request per line on an AF_UNIX stream socket, one reply per
line. The connection is kept and re-opened when the daemon restarts.
"""

import itertools
import json
import socket
import threading

# JSON-RPC error codes of rtvswitch (docs/api.md).
INVALID_PARAMS = -32602
FAILED = -32000
NOT_FOUND = -32001
EXISTS = -32002
PERMISSION_DENIED = -32003

MAX_REPLY = 1 << 20


class SwitchError(Exception):
    """The switch could not be reached, or it broke the protocol."""


class RpcError(SwitchError):
    """The switch answered with a JSON-RPC error."""

    def __init__(self, method, code, message):
        super().__init__('%s: %s (code %s)' % (method, message, code))
        self.method = method
        self.code = code
        self.message = message


class Client(object):
    def __init__(self, path, timeout=10.0):
        self.path = path
        self.timeout = timeout
        self._sock = None
        self._buf = b''
        self._ids = itertools.count(1)
        # The agent loop and RPC handlers (green threads) share the connection.
        self._lock = threading.Lock()

    def close(self):
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._buf = b''

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise SwitchError('cannot connect to %s: %s' % (self.path, e))
        self._sock = s
        self._buf = b''

    def _exchange(self, line):
        if self._sock is None:
            self._connect()
        self._sock.sendall(line)
        while b'\n' not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionResetError('connection closed by rtvswitch')
            self._buf += chunk
            if len(self._buf) > MAX_REPLY:
                raise SwitchError('reply longer than %d bytes' % MAX_REPLY)
        reply, self._buf = self._buf.split(b'\n', 1)
        return reply

    def call(self, method, params=None):
        with self._lock:
            return self._call(method, params)

    def _call(self, method, params):
        req = {'jsonrpc': '2.0', 'id': next(self._ids), 'method': method}
        if params is not None:
            req['params'] = params
        line = (json.dumps(req) + '\n').encode()
        try:
            reply = self._exchange(line)
        except (ConnectionError, BrokenPipeError):
            # The daemon restarted since the last call: one new connection.
            self.close()
            try:
                reply = self._exchange(line)
            except OSError as e:
                self.close()
                raise SwitchError('%s: %s' % (method, e))
        except OSError as e:
            self.close()
            raise SwitchError('%s: %s' % (method, e))
        try:
            msg = json.loads(reply)
        except ValueError:
            self.close()
            raise SwitchError('%s: reply is not JSON' % method)
        if msg.get('id') != req['id']:
            self.close()
            raise SwitchError('%s: reply to another request' % method)
        if 'error' in msg:
            err = msg['error']
            raise RpcError(method, err.get('code'), err.get('message'))
        return msg.get('result')

    # The calls the agent makes (CONTRACT: ports an orchestrator drives).

    def version(self):
        return self.call('version')

    def port_list(self, external_ids=None):
        params = {'external_ids': external_ids} if external_ids else None
        return self.call('port.list', params)['ports']

    def port_show(self, name):
        return self.call('port.show', {'name': name})

    def port_add(self, name, options, external_ids=None, may_exist=False):
        return self.call('port.add', {'name': name, 'options': options,
                                      'external_ids': external_ids or {},
                                      'may_exist': may_exist})

    def port_set(self, name, options=None, external_ids=None):
        params = {'name': name}
        if options:
            params['options'] = options
        if external_ids:
            params['external_ids'] = external_ids
        return self.call('port.set', params)

    def port_del(self, name, if_exists=False):
        return self.call('port.del', {'name': name, 'if_exists': if_exists})
