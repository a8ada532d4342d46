#!/usr/bin/python3
"""A Hugging Face Hub-shaped HTTP server for nuri's store e2e test (standard library only).

spec.json: {"repos": {"OWNER/NAME": {"sha": COMMIT, "files": {RFILENAME: {"path": LOCAL,
  "lfs": bool, "bad_hash": bool, "drop_once": bool}}}}}
- GET  /api/models/OWNER/NAME/revision/REV -> {"id", "sha", "siblings": [{"rfilename"}]}, 404 otherwise
- HEAD/GET /OWNER/NAME/resolve/REV/FILE: LFS files answer 302 to /lfs/SHA256 with X-Linked-Etag
  (the SHA-256 from hashlib, or a wrong one for bad_hash), X-Linked-Size, X-Repo-Commit; small
  files answer 200 with the git blob SHA-1 as ETag.
- GET /lfs/SHA256: the bytes, with Range (206); drop_once files send half and close the first time.
Every request is appended to log (method, path, Range, Authorization) as JSON lines.
"""
import hashlib
import http.server
import json
import os
import socket
import sys
import threading

spec_path, port_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(spec_path) as f:
    SPEC = json.load(f)
FILES = {}   # repo -> rfilename -> info
BLOBS = {}   # served sha256 id -> info
LOCK = threading.Lock()
for repo, r in SPEC["repos"].items():
    FILES[repo] = {}
    for name, info in r["files"].items():
        data = open(info["path"], "rb").read()
        info = dict(info, data=data, sha256=hashlib.sha256(data).hexdigest(),
                    git_sha1=hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest())
        info["etag"] = hashlib.sha256(b"not the content").hexdigest() if info.get("bad_hash") else info["sha256"]
        FILES[repo][name] = info
        BLOBS[info["sha256"]] = info


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log(self):
        with LOCK, open(log_path, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                                "auth": self.headers.get("Authorization")}) + "\n")

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log()
        parts = self.path.split("?")[0].split("/")[1:]
        if len(parts) >= 6 and parts[0] == "api" and parts[1] == "models" and parts[4] == "revision":
            repo = parts[2] + "/" + parts[3]
            if repo not in FILES:
                return self.send(404, b'{"error":"Repository not found"}', [("Content-Type", "application/json")])
            body = json.dumps({"id": repo, "sha": SPEC["repos"][repo]["sha"],
                               "siblings": [{"rfilename": n} for n in FILES[repo]]}).encode()
            return self.send(200, body, [("Content-Type", "application/json")])
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, name = parts[0] + "/" + parts[1], "/".join(parts[4:])
            info = FILES.get(repo, {}).get(name)
            if info is None:
                return self.send(404, b"Entry not found", [("X-Error-Code", "EntryNotFound")])
            commit = SPEC["repos"][repo]["sha"]
            if info.get("lfs"):
                return self.send(302, b"", [("Location", "/lfs/" + info["sha256"]),
                                            ("X-Linked-Etag", '"%s"' % info["etag"]),
                                            ("X-Linked-Size", str(len(info["data"]))), ("X-Repo-Commit", commit),
                                            ("ETag", '"%s"' % info["git_sha1"])])
            return self.send(200, info["data"], [("ETag", '"%s"' % info["git_sha1"]), ("X-Repo-Commit", commit)])
        if len(parts) == 2 and parts[0] == "lfs" and parts[1] in BLOBS:
            info = BLOBS[parts[1]]
            data = info["data"]
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    return self.send(416, b"", [("Content-Range", "bytes */%d" % len(data))])
                return self.send(206, data[start:], [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))),
                                                     ("ETag", '"%s"' % info["sha256"]), ("Accept-Ranges", "bytes")])
            with LOCK:
                drop = info.get("drop_once") and not info.get("dropped")
                info["dropped"] = True
            if drop:  # announce everything, send half, hang up
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            return self.send(200, data, [("ETag", '"%s"' % info["sha256"]), ("Accept-Ranges", "bytes")])
        self.send(404, b"not found")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
