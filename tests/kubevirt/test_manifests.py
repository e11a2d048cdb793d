#!/usr/bin/env python3
"""configs/kubevirt against KubeVirt's own OpenAPI schema: the VirtualMachine (rt-vm.yaml) and
the KubeVirt CR (kubevirt-vhostuser-binding.yaml) validate against the definitions of
kubevirt/kubevirt's api/openapi-spec/swagger.json (the subset they need, in
tests/data/kubevirt/kubevirt-openapi-subset.json; see its x-source), made strict: an object
schema with properties accepts no other field, so a misspelled or misplaced field fails as the
API server's strict field validation would (kubectl apply --validate=strict). A mutated copy
(a typo'd field) must fail, so the check is not vacuous.
The resource.k8s.io/v1 objects (DeviceClass, ResourceClaimTemplate), the DaemonSet and RBAC are
checked for structure and consistency by tests/scripts (yaml), not against a schema here.
"""

import copy
import json
import os
import sys

import jsonschema
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


if __name__ == "__main__":
    sys.exit(main())
