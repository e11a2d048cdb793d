"""A small Kubernetes API server for rtvswitch-dra's tests: HTTPS with a self-signed
certificate, bearer-token authentication, and the few resources the plugin uses, as Kubernetes
serves them (paths, list objects, 404/409 Status objects, resourceVersion on update):

    GET    /api/v1/nodes/NAME
    GET    /apis/resource.k8s.io/v1/namespaces/NS/resourceclaims/NAME
    GET    /apis/resource.k8s.io/v1/resourceslices[?fieldSelector=spec.nodeName=N,spec.driver=D]
    GET    /apis/resource.k8s.io/v1/resourceslices?watch=true[&fieldSelector=...]
           [&resourceVersion=RV][&timeoutSeconds=S]
    POST   /apis/resource.k8s.io/v1/resourceslices
    GET|PUT|DELETE /apis/resource.k8s.io/v1/resourceslices/NAME

Every request is recorded (``requests``: method, path, body) and checked; a request the real
server would reject (no or wrong token, a slice without the fields resource.k8s.io/v1 requires,
an update with a stale resourceVersion) gets the real server's status and is counted in
``rejected``. A watch streams one JSON event per line (``{"type": "ADDED"|"MODIFIED"|"DELETED",
"object": ...}``) as Kubernetes does: without a resourceVersion it starts with a synthetic ADDED
per existing object, with one it replays what changed after it (``ERROR`` 410 Gone when that
is older than the kept history); it ends after timeoutSeconds. Slices changed through the API
or with ``add_slice``/``delete_slice`` reach every watcher. Python 3 standard library only
(ssl, http.server); ``openssl`` makes the cert.
"""

import json
import os
import queue
import re
import ssl
import subprocess
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 (the CA file is the certificate itself)."""
    cert, key = os.path.join(directory, "apiserver.crt"), os.path.join(directory, "apiserver.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=kube-apiserver", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def check_slice(s):
    """What resource.k8s.io/v1 validation requires of the slices the plugin writes."""
    errs = []
    if s.get("apiVersion") != "resource.k8s.io/v1" or s.get("kind") != "ResourceSlice":
        errs.append("apiVersion/kind")
    name = s.get("metadata", {}).get("name", "")
    if not DNS_SUBDOMAIN.match(name):
        errs.append(f"metadata.name {name!r}")
    spec = s.get("spec", {})
    if not DNS_SUBDOMAIN.match(spec.get("driver", "")):
        errs.append("spec.driver")
    if not spec.get("nodeName"):
        errs.append("spec.nodeName (a node-local slice)")
    pool = spec.get("pool", {})
    if not pool.get("name") or pool.get("resourceSliceCount", 0) < 1 or \
            not isinstance(pool.get("generation"), int):
        errs.append("spec.pool")
    names = [d.get("name", "") for d in spec.get("devices", [])]
    if len(set(names)) != len(names) or not all(DNS_LABEL.match(n) for n in names):
        errs.append("spec.devices[].name")
    for d in spec.get("devices", []):
        for k, v in d.get("attributes", {}).items():
            if len(v) != 1 or next(iter(v)) not in ("int", "bool", "string", "version"):
                errs.append(f"attribute {k}")
    for o in s.get("metadata", {}).get("ownerReferences", []):
        if not (o.get("apiVersion") and o.get("kind") and o.get("name") and o.get("uid")):
            errs.append("ownerReferences")
    return errs


class KubeApiServer:
    def __init__(self, directory, token="test-token"):
        self.token = token
        self.token_file = os.path.join(directory, "token")
        with open(self.token_file, "w") as f:
            f.write(token + "\n")
        self.ca_file, key = make_cert(directory)
        self.lock = threading.Lock()
        self.nodes = {}
        self.claims = {}      # (ns, name) -> object
        self.slices = {}      # name -> object
        self.requests = []
        self.rejected = []
        self.version = 100
        self.history = []     # (resourceVersion, event) of slices, oldest first
        self.history_from = self.version  # events after this version are all in history
        self.watchers = []    # (fieldSelector dict, queue of events)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _watch(self, want, q):
                """Streams events (close-delimited, HTTP/1.0) until timeout or shutdown."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    while True:
                        ev = q.get()
                        if ev is None:
                            break
                        if ev["type"] != "ERROR" and not outer._selected(ev["object"], want):
                            continue
                        self.wfile.write(json.dumps(ev).encode() + b"\n")
                        self.wfile.flush()
                        if ev["type"] == "ERROR":
                            break
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass
                finally:
                    with outer.lock:
                        outer.watchers = [w for w in outer.watchers if w[1] is not q]

            def _handle(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                with outer.lock:
                    outer.requests.append((method, self.path, body))
                    code, obj = outer._serve(method, self.path, body, self.headers)
                    if not isinstance(obj, queue.Queue) and code >= 400:
                        outer.rejected.append((method, self.path, code, obj.get("message")))
                if isinstance(obj, queue.Queue):
                    self._watch(code, obj)
                    return
                self._reply(code, obj)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_DELETE(self):
                self._handle("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_file, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        with self.lock:
            for _, q in self.watchers:
                q.put(None)
        self.httpd.shutdown()
        self.httpd.server_close()

    def watch_count(self):
        with self.lock:
            return len(self.watchers)

    @staticmethod
    def _selected(obj, want):
        return all(obj["spec"].get(k.split(".", 1)[1]) == v for k, v in want.items())

    def _event(self, kind, obj):
        """Called with the lock held: records a slice change and tells every watcher."""
        ev = {"type": kind, "object": json.loads(json.dumps(obj))}
        self.history.append((int(obj["metadata"]["resourceVersion"]), ev))
        for _, q in self.watchers:
            q.put(ev)

    def _start_watch(self, want, rv, timeout):
        q = queue.Queue()
        if rv is None:
            for s in self.slices.values():
                q.put({"type": "ADDED", "object": json.loads(json.dumps(s))})
        elif int(rv) < self.history_from:
            gone = status(410, "Expired", f"too old resource version: {rv}")
            q.put({"type": "ERROR", "object": gone})
        else:
            for v, ev in self.history:
                if v > int(rv):
                    q.put(ev)
        self.watchers.append((want, q))
        timer = threading.Timer(timeout, q.put, args=(None,))
        timer.daemon = True
        timer.start()
        return q

    def delete_slice(self, name):
        """A slice deleted behind the plugin's back (a watcher sees it)."""
        with self.lock:
            s = self.slices.pop(name)
            s["metadata"]["resourceVersion"] = self._rv()
            self._event("DELETED", s)

    def _rv(self):
        self.version += 1
        return str(self.version)

    def add_node(self, name):
        self.nodes[name] = {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": name, "uid": str(uuid.uuid4())}}

    def add_claim(self, obj):
        with self.lock:
            obj["metadata"].setdefault("resourceVersion", self._rv())
            self.claims[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj

    def add_slice(self, obj):
        with self.lock:
            obj["metadata"]["resourceVersion"] = self._rv()
            new = obj["metadata"]["name"] not in self.slices
            self.slices[obj["metadata"]["name"]] = obj
            self._event("ADDED" if new else "MODIFIED", obj)

    def slice_requests(self):
        with self.lock:
            return [(m, p) for m, p, _ in self.requests if "resourceslices" in p]

    def _serve(self, method, path, body, headers):
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, status(401, "Unauthorized", "Unauthorized")
        url = urllib.parse.urlsplit(path)
        parts = url.path.strip("/").split("/")
        if method in ("POST", "PUT") and headers.get("Content-Type") != "application/json":
            return 415, status(415, "UnsupportedMediaType", "Content-Type must be JSON")
        if parts[:3] == ["api", "v1", "nodes"] and len(parts) == 4 and method == "GET":
            node = self.nodes.get(parts[3])
            return (200, node) if node else (404, status(404, "NotFound",
                                                         f'nodes "{parts[3]}" not found'))
        if parts[:4] == ["apis", "resource.k8s.io", "v1", "namespaces"] and len(parts) == 7 \
                and parts[5] == "resourceclaims" and method == "GET":
            claim = self.claims.get((parts[4], parts[6]))
            if not claim:
                return 404, status(404, "NotFound",
                                   f'resourceclaims.resource.k8s.io "{parts[6]}" not found')
            return 200, claim
        if parts[:4] == ["apis", "resource.k8s.io", "v1", "resourceslices"]:
            return self._slices(method, parts[4] if len(parts) > 4 else None, url.query, body)
        return 404, status(404, "NotFound", f"the server could not find {url.path}")

    def _slices(self, method, name, query, body):
        if name is None and method == "GET":
            q = urllib.parse.parse_qs(query)
            sel = q.get("fieldSelector", [""])[0]
            want = dict(kv.split("=", 1) for kv in sel.split(",") if kv)
            if q.get("watch", ["false"])[0] in ("true", "1"):
                timeout = float(q.get("timeoutSeconds", ["1800"])[0])
                return want, self._start_watch(want, q.get("resourceVersion", [None])[0], timeout)
            items = [s for s in self.slices.values() if self._selected(s, want)]
            return 200, {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSliceList",
                         "metadata": {"resourceVersion": str(self.version)}, "items": items}
        if name is None and method == "POST":
            errs = check_slice(body)
            if errs:
                return 422, status(422, "Invalid", "ResourceSlice is invalid: " + ", ".join(errs))
            if body["metadata"]["name"] in self.slices:
                return 409, status(409, "AlreadyExists", "already exists")
            if "resourceVersion" in body["metadata"]:
                return 422, status(422, "Invalid", "resourceVersion must not be set on create")
            body["metadata"]["resourceVersion"] = self._rv()
            body["metadata"]["uid"] = str(uuid.uuid4())
            self.slices[body["metadata"]["name"]] = body
            self._event("ADDED", body)
            return 201, body
        cur = self.slices.get(name)
        if cur is None:
            return 404, status(404, "NotFound",
                               f'resourceslices.resource.k8s.io "{name}" not found')
        if method == "GET":
            return 200, cur
        if method == "DELETE":
            del self.slices[name]
            cur["metadata"]["resourceVersion"] = self._rv()
            self._event("DELETED", cur)
            return 200, status(200, "", "deleted") | {"status": "Success"}
        if method == "PUT":
            errs = check_slice(body)
            if errs or body["metadata"]["name"] != name:
                return 422, status(422, "Invalid", "ResourceSlice is invalid: " + ", ".join(errs))
            if body["metadata"].get("resourceVersion") != cur["metadata"]["resourceVersion"]:
                return 409, status(409, "Conflict", "the object has been modified")
            body["metadata"]["resourceVersion"] = self._rv()
            body["metadata"]["uid"] = cur["metadata"]["uid"]
            self.slices[name] = body
            self._event("MODIFIED", body)
            return 200, body
        return 405, status(405, "MethodNotAllowed", method)
