#!/usr/bin/env python3
"""configs/kubevirt against KubeVirt's own OpenAPI schema: the VirtualMachine (rt-vm.yaml) and
the KubeVirt CR (kubevirt-vhostuser-binding.yaml) validate against the definitions of
kubevirt/kubevirt's api/openapi-spec/swagger.json (the subset they need, in
tests/data/kubevirt/kubevirt-openapi-subset.json; see its x-source), made strict: an object
schema with properties accepts no other field, so a misspelled or misplaced field fails as the
API server's strict field validation would (kubectl apply --validate=strict). A mutated copy
(a typo'd field) must fail, so the check is not vacuous.
The core Kubernetes objects (Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding,
DaemonSet) are checked against the Kubernetes API types of Debian's python3-kubernetes (the
client generated from Kubernetes' OpenAPI spec, API 1.22): every field must be a field of its
type (strict, as above), every value of the field's type, and the object must deserialize into
the client's model, whose setters refuse a missing required field. Mutated copies (a typo'd
field, a wrong type, a missing required field) must fail.
The resource.k8s.io/v1 objects (DeviceClass, ResourceClaimTemplate; Kubernetes 1.34) are newer
than any packaged schema: tests/scripts checks them for structure and consistency only.
"""

import copy
import json
import os
import sys

import jsonschema
import kubernetes.client
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def strict(o):
    if isinstance(o, dict):
        o = {k: strict(v) for k, v in o.items()}
        if "properties" in o and "additionalProperties" not in o:
            o["additionalProperties"] = False
        return o
    if isinstance(o, list):
        return [strict(v) for v in o]
    return o


def validator(defs, name):
    schema = {"$ref": f"#/definitions/{name}", "definitions": defs}
    return jsonschema.Draft4Validator(schema)


def errors(v, obj):
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(obj)]


def main():
    with open(os.path.join(ROOT, "tests", "data", "kubevirt", "kubevirt-openapi-subset.json")) as f:
        defs = strict(json.load(f)["definitions"])
    cfg = os.path.join(ROOT, "configs", "kubevirt")
    checked = 0
    for fname, kind, name in (("rt-vm.yaml", "VirtualMachine", "v1.VirtualMachine"),
                              ("kubevirt-vhostuser-binding.yaml", "KubeVirt", "v1.KubeVirt")):
        with open(os.path.join(cfg, fname)) as f:
            objs = [o for o in yaml.safe_load_all(f) if o["kind"] == kind]
        assert len(objs) == 1, f"{fname}: {len(objs)} {kind}"
        v = validator(defs, name)
        errs = errors(v, objs[0])
        assert not errs, f"{fname} {kind}: " + "; ".join(errs)
        bad = copy.deepcopy(objs[0])
        spec = bad["spec"]["template"]["spec"] if kind == "VirtualMachine" else bad["spec"]
        spec["networkz"] = []
        assert errors(v, bad), f"{fname}: a misspelled field was accepted"
        checked += 1
    print(f"test_manifests: {checked} objects valid against KubeVirt's schema")
    core = check_core_objects(os.path.join(cfg, "rtvswitch-dra.yaml"))
    print(f"test_manifests: {core} objects valid against Kubernetes' API types")


# Kubernetes' own types, from the generated client: openapi_types names each field's type
# ('str', 'int', 'bool', 'object', 'datetime', 'list[T]', 'dict(str, T)' or a model class) and
# attribute_map its JSON name.
SCALARS = {"str": str, "int": int, "bool": bool}


def type_errors(value, tname, path):
    if value is None:
        return []
    if tname in SCALARS:
        t = SCALARS[tname]
        ok = isinstance(value, t) and not (t is int and isinstance(value, bool))
        return [] if ok else [f"{path}: {value!r} is not {tname}"]
    if tname == "object":
        return []
    if tname == "datetime":
        return [] if isinstance(value, str) else [f"{path}: not a date-time"]
    if tname.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        inner = tname[5:-1]
        return [e for i, v in enumerate(value) for e in type_errors(v, inner, f"{path}[{i}]")]
    if tname.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        inner = tname[tname.index(",") + 1:-1].strip()
        return [e for k, v in value.items() for e in type_errors(v, inner, f"{path}.{k}")]
    model = getattr(kubernetes.client, tname)
    if not isinstance(value, dict):
        return [f"{path}: not an object ({tname})"]
    json_to_attr = {j: a for a, j in model.attribute_map.items()}
    errs = []
    for key, v in value.items():
        if key not in json_to_attr:
            errs.append(f"{path}.{key}: not a field of {tname}")
            continue
        errs += type_errors(v, model.openapi_types[json_to_attr[key]], f"{path}.{key}")
    return errs


def k8s_errors(obj):
    tname = "V1" + obj["kind"]
    assert obj["apiVersion"] in ("v1", "apps/v1", "rbac.authorization.k8s.io/v1"), obj["apiVersion"]
    errs = type_errors(obj, tname, obj["kind"])
    if errs:
        return errs
    try:
        # The client's models refuse a missing required field when they are built.
        kubernetes.client.ApiClient().deserialize(FakeResponse(obj), tname)
    except ValueError as e:
        return [f"{obj['kind']}: {e}"]
    return []


class FakeResponse:
    """What ApiClient.deserialize reads: an HTTP response's data."""

    def __init__(self, obj):
        self.data = json.dumps(obj)


def check_core_objects(path):
    with open(path) as f:
        objs = [o for o in yaml.safe_load_all(f) if o and "resource.k8s.io" not in o["apiVersion"]]
    kinds = sorted(o["kind"] for o in objs)
    want = ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Namespace", "ServiceAccount"]
    assert kinds == want, f"{path}: {kinds}"
    for o in objs:
        errs = k8s_errors(o)
        assert not errs, f"{path} {o['kind']}: " + "; ".join(errs)
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    mutants = {
        "a misspelled field": lambda d: d["spec"]["template"]["spec"].update(hostNetwrk=True),
        "a wrong type": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
            image=["not", "a", "string"]),
        "a missing required field": lambda d: d["spec"]["template"]["spec"]["containers"][0].pop(
            "name"),
        "a missing selector": lambda d: d["spec"].pop("selector"),
    }
    assert pod["containers"], "the DaemonSet has no container"
    for what, mutate in mutants.items():
        bad = copy.deepcopy(ds)
        mutate(bad)
        assert k8s_errors(bad), f"DaemonSet with {what} was accepted"
    return len(objs)


if __name__ == "__main__":
    sys.exit(main())
