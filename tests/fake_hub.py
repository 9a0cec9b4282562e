"""A loopback server implementing the Hugging Face Hub endpoints `huggingface_hub` calls for a
dataset upload (repo info, create repo, tree listing, preupload, commit), keeping what arrives."""

from __future__ import annotations

import base64
import hashlib
import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlparse

from loopback import LoopbackServer, respond


class FakeHub(LoopbackServer):
    def __init__(self, token: str = "hf_test_token"):
        self.token = token
        self.repos: dict[str, dict] = {}  # repo id -> {"private": bool, "files": {path: bytes}, "commits": [...]}
        self.log: list[tuple[str, str]] = []
        self.create_requests: list[dict] = []
        self.lfs: dict[str, bytes] = {}  # oid -> content uploaded through the LFS batch API
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status, body=None, headers=None, raw: bytes | None = None):
                payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
                respond(self, status, payload, "application/json" if raw is None else "application/octet-stream", headers)

            def _body(self) -> bytes:
                n = int(self.headers.get("content-length") or 0)
                return self.rfile.read(n) if n else b""

            def _authorized(self) -> bool:
                if self.headers.get("authorization") != f"Bearer {hub.token}":
                    self._send(401, {"error": "Invalid credentials"}, {"X-Error-Code": "InvalidCredentials"})
                    return False
                return True

            def handle_any(self):
                path = unquote(urlparse(self.path).path)
                body = self._body()
                hub.log.append((self.command, path))
                if path.startswith("/lfs-upload/"):  # the upload href we handed out
                    hub.lfs[path.rsplit("/", 1)[1]] = body
                    return self._send(200, {})
                if not self._authorized():
                    return
                hub.route(self, self.command, path, body)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        super().__init__(Handler)

    # ------------------------------------------------------------------ routes
    def route(self, h, method: str, path: str, body: bytes) -> None:
        parts = path.strip("/").split("/")
        not_found = ({"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if method == "POST" and path == "/api/repos/create":
            data = json.loads(body)
            self.create_requests.append(data)
            repo = f"{data.get('organization') or 'user'}/{data['name']}" if "/" not in data["name"] else data["name"]
            if data.get("type") != "dataset":
                return h._send(400, {"error": "only datasets here"})
            if repo in self.repos:
                return h._send(409, {"error": "You already created this dataset repo", "url": f"{self.url}/datasets/{repo}"})
            private = bool(data.get("private")) or data.get("visibility") == "private"
            self.repos[repo] = {"private": private, "files": {}, "commits": []}
            return h._send(200, {"url": f"{self.url}/datasets/{repo}", "name": repo, "id": repo})
        if method == "POST" and path == "/api/validate-yaml":
            return h._send(200, {"errors": [], "warnings": []})
        if parts[:2] == ["api", "whoami-v2"]:
            return h._send(200, {"name": "user", "type": "user", "orgs": [], "auth": {"accessToken": {"role": "write"}}})
        if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
            repo = f"{parts[2]}/{parts[3]}"
            rest = parts[4:]
            if repo not in self.repos:
                return h._send(404, *not_found)
            state = self.repos[repo]
            if not rest or rest[:1] == ["revision"]:
                siblings = [{"rfilename": p} for p in sorted(state["files"])]
                return h._send(200, {"id": repo, "private": state["private"], "sha": f"{len(state['commits']):040d}", "siblings": siblings, "cardData": {}})
            if rest[:1] == ["tree"]:  # the real listing: direct children (folders too), or everything below with ?recursive=true
                prefix = "/".join(rest[2:])
                under = {p: c for p, c in state["files"].items() if not prefix or p.startswith(prefix + "/")}
                if prefix and not under:
                    return h._send(404, {"error": f"{prefix} does not exist on main"}, {"X-Error-Code": "EntryNotFound"})
                recursive = "recursive=true" in (urlparse(h.path).query or "").lower()
                entries, folders = [], set()
                for p, c in sorted(under.items()):
                    tail = p[len(prefix) + 1:] if prefix else p
                    parts = tail.split("/")
                    for depth in range(1, len(parts)):
                        folder = "/".join(filter(None, [prefix, *parts[:depth]]))
                        if (recursive or depth == 1) and folder not in folders:
                            folders.add(folder)
                            entries.append({"type": "directory", "path": folder, "oid": "0" * 40})
                    if recursive or len(parts) == 1:
                        entries.append({"type": "file", "path": p, "size": len(c), "oid": "0" * 40})
                return h._send(200, entries)
            if rest[:1] == ["paths-info"]:
                return h._send(200, [])
            if rest[:1] == ["preupload"]:
                files = json.loads(body)["files"]
                text = (".md", ".json", ".jsonl", ".txt", ".yaml", ".gitattributes")
                modes = [{"path": f["path"], "uploadMode": "regular" if f["path"].endswith(text) else "lfs", "shouldIgnore": False, "oid": None} for f in files]
                return h._send(200, {"files": modes, "commitOid": None})
            if rest[:1] == ["commit"]:
                return self._commit(h, repo, state, body)
        if method == "POST" and path.endswith(".git/info/lfs/objects/batch"):
            objects = json.loads(body)["objects"]
            answer = {"transfer": "basic", "objects": [
                {"oid": o["oid"], "size": o["size"], "authenticated": True,
                 "actions": {"upload": {"href": f"{self.url}/lfs-upload/{o['oid']}", "header": {}}}}
                for o in objects]}  # fmt: skip
            return h._send(200, answer, {"Content-Type": "application/vnd.git-lfs+json"})
        if len(parts) >= 5 and parts[0] == "datasets" and parts[3] == "resolve":
            repo, file = f"{parts[1]}/{parts[2]}", "/".join(parts[5:])
            content = self.repos.get(repo, {}).get("files", {}).get(file)
            if content is None:
                return h._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            etag = hashlib.sha256(content).hexdigest()  # huggingface_hub caches blobs by ETag: one per content
            return h._send(200, raw=content, headers={"ETag": f'"{etag}"', "X-Repo-Commit": "0" * 40})
        return h._send(404, {"error": f"not implemented in the fake hub: {method} {path}"})

    def _commit(self, h, repo: str, state: dict, body: bytes) -> None:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(l["value"] for l in lines if l["key"] == "header")
        for line in lines:
            if line["key"] == "file":
                value = line["value"]
                state["files"][value["path"]] = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
            elif line["key"] == "deletedFile":
                state["files"].pop(line["value"]["path"], None)
            elif line["key"] == "lfsFile":
                value = line["value"]
                if value["oid"] not in self.lfs:
                    return h._send(400, {"error": f"LFS object {value['oid']} was never uploaded"})
                state["files"][value["path"]] = self.lfs[value["oid"]]
        state["commits"].append(header.get("summary"))
        oid = f"{len(state['commits']):040x}"
        return h._send(200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{oid}", "commitOid": oid, "success": True})
