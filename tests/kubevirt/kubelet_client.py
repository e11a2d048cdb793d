"""The kubelet's side of a DRA plugin, for tests: Python modules generated at run time from the
same .proto files the plugin is built from (kubevirt/proto, protoc + grpc_python_plugin), the
plugin watcher's registration handshake and the DRAPlugin v1 calls, as the kubelet makes them.
"""

import importlib
import os
import subprocess
import sys
import time

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kubevirt",
                         "proto")


def generate(out_dir):
    """Generates the Python modules into out_dir and imports them: (dra_v1, registration)."""
    for p in ("dra_v1.proto", "pluginregistration_v1.proto"):
        subprocess.run(["protoc", "-I", PROTO_DIR, f"--python_out={out_dir}",
                        f"--grpc_out={out_dir}",
                        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                        os.path.join(PROTO_DIR, p)], check=True)
    sys.path.insert(0, out_dir)
    names = ("dra_v1_pb2", "dra_v1_pb2_grpc", "pluginregistration_v1_pb2",
             "pluginregistration_v1_pb2_grpc")
    return [importlib.import_module(m) for m in names]


class Kubelet:
    def __init__(self, out_dir):
        import grpc
        self.grpc = grpc
        self.dra, self.dra_grpc, self.reg, self.reg_grpc = generate(out_dir)

    def wait_socket(self, path, timeout=30.0, proc=None):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if proc is not None and not proc.alive():
                raise RuntimeError(f"the plugin exited: {proc.stderr_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} did not appear in {timeout} s")
            time.sleep(0.05)

    def register(self, reg_socket):
        """The plugin watcher's handshake: GetInfo, then NotifyRegistrationStatus(true)."""
        with self.grpc.insecure_channel(f"unix://{reg_socket}") as ch:
            stub = self.reg_grpc.RegistrationStub(ch)
            info = stub.GetInfo(self.reg.InfoRequest(), timeout=10)
            stub.NotifyRegistrationStatus(self.reg.RegistrationStatus(plugin_registered=True),
                                          timeout=10)
        return info

    def _claims(self, claims):
        return [self.dra.Claim(namespace=ns, name=name, uid=uid) for ns, name, uid in claims]

    def prepare(self, endpoint, claims):
        """claims: [(namespace, name, uid)] -> {uid: NodePrepareResourceResponse}."""
        with self.grpc.insecure_channel(f"unix://{endpoint}") as ch:
            stub = self.dra_grpc.DRAPluginStub(ch)
            r = stub.NodePrepareResources(
                self.dra.NodePrepareResourcesRequest(claims=self._claims(claims)), timeout=60)
        return dict(r.claims)

    def unprepare(self, endpoint, claims):
        with self.grpc.insecure_channel(f"unix://{endpoint}") as ch:
            stub = self.dra_grpc.DRAPluginStub(ch)
            r = stub.NodeUnprepareResources(
                self.dra.NodeUnprepareResourcesRequest(claims=self._claims(claims)), timeout=60)
        return dict(r.claims)
