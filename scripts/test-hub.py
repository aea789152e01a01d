#!/usr/bin/env python3
"""End-to-end test of the hub: `hearth hub serve` on a real port, `hearth push` and `hearth
pull` between two stores, raw registry requests for what a client would never send, and
throughput against curl on the same blob.

    scripts/test-hub.py HEARTH_BINARY MODEL.gguf

Checks, each printed PASS or FAIL:
- push from one HEARTH_HOME, pull into another, run: the blob digests are the file's sha256
  and the pulled model generates what the file does;
- a pull killed with SIGKILL part way resumes and completes with the right digest;
- an upload whose bytes do not match its digest is refused and leaves nothing behind; an
  upload over the hub's size limit is a 413;
- two concurrent pushes of one model both succeed with one stored copy;
- names with '..' are refused; writes without a token are 401, to another namespace 403;
  private models are 404 to others;
- the official `huggingface_hub` client (it must be importable) lists, describes and
  downloads the same bytes with `endpoint=` pointing at the hub.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from checks import Hub, check, finish, sha256, free_port, screenshots


def http(method, url, data=None, token=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def hugging_face_checks(hub, expected, token, work):
    """The official huggingface_hub client, pointed at the hub with endpoint=, as users do."""
    import huggingface_hub as hf
    from huggingface_hub.utils import RepositoryNotFoundError, EntryNotFoundError

    api = hf.HfApi(endpoint=hub.base)
    cache = os.path.join(work, "hf-cache")
    path = hf.hf_hub_download(repo_id="alice/smollm2", filename="model.gguf", revision="q4_1", endpoint=hub.base, cache_dir=cache)
    check("huggingface_hub.hf_hub_download fetches the same bytes", sha256(path) == expected, path)
    info = api.model_info("alice/smollm2", revision="q4_1")
    names = {s.rfilename: s for s in info.siblings}
    check("model_info lists model.gguf with its size and sha256",
          "model.gguf" in names and names["model.gguf"].lfs is not None and names["model.gguf"].lfs.sha256 == expected,
          str(info.siblings))
    check("the snapshot folder is the revision's commit", f"/snapshots/{info.sha}/" in path, f"{path} {info.sha}")
    ids = [m.id for m in api.list_models(search="twins")]
    check("list_models(search=) finds a repository", ids == ["alice/twins"], str(ids))
    ids = [m.id for m in api.list_models(author="alice", sort="created_at")]
    check("list_models(author=, sort=) lists alice's repositories", set(ids) >= {"alice/smollm2", "alice/twins"}, str(ids))
    ids = [m.id for m in api.list_models(filter="llama")]
    check("list_models(filter=llama) matches the architecture tag", "alice/smollm2" in ids, str(ids))
    status, headers, body = http("GET", hub.base + "/api/models?author=alice&limit=1")
    link = headers.get("Link", "")
    first = [m["id"] for m in json.loads(body)]
    ok = status == 200 and len(first) == 1 and 'rel="next"' in link
    if ok:
        status2, _, body2 = http("GET", link[1:link.index(">")])
        ok = status2 == 200 and len(json.loads(body2)) == 1 and json.loads(body2)[0]["id"] != first[0]
    check("/api/models pages with a Link header", ok, f"{status} {link!r} {first}")
    try:
        hf.hf_hub_download(repo_id="alice/nothing-here", filename="model.gguf", endpoint=hub.base, cache_dir=cache)
        check("an unknown repository is RepositoryNotFoundError", False, "downloaded")
    except RepositoryNotFoundError:
        check("an unknown repository is RepositoryNotFoundError", True)
    try:
        hf.hf_hub_download(repo_id="alice/smollm2", filename="nope.txt", revision="q4_1", endpoint=hub.base, cache_dir=cache)
        check("an unknown file is EntryNotFoundError", False, "downloaded")
    except EntryNotFoundError:
        check("an unknown file is EntryNotFoundError", True)
    subprocess.run([sys.argv[1], "hub", "private", "alice/twins", "--data", hub.data], check=True, capture_output=True)
    try:
        hf.hf_hub_download(repo_id="alice/twins", filename="model.gguf", revision="v1", endpoint=hub.base, cache_dir=cache)
        check("a private repository is RepositoryNotFoundError without a token", False, "downloaded")
    except RepositoryNotFoundError:
        check("a private repository is RepositoryNotFoundError without a token", True)
    path = hf.hf_hub_download(repo_id="alice/twins", filename="model.gguf", revision="v1", endpoint=hub.base, cache_dir=cache, token=token)
    check("...and downloads with its owner's token", sha256(path) == expected)
    ids = [m.id for m in api.list_models(author="alice")]
    check("a private repository is not listed to others", "alice/twins" not in ids, str(ids))
    subprocess.run([sys.argv[1], "hub", "private", "alice/twins", "--off", "--data", hub.data], check=True, capture_output=True)
    home = os.path.join(work, "hf-home")
    r = subprocess.run([sys.argv[1], "pull", "hf://alice/smollm2/model.gguf", "--revision", "q4_1", "--endpoint", hub.base],
                       env=dict(os.environ, HEARTH_HOME=home), capture_output=True, text=True)
    blob = os.path.join(home, "blobs", "sha256-" + expected)
    check("hearth pull hf:// fetches a file of a Hugging Face compatible hub, sha256 checked",
          r.returncode == 0 and os.path.exists(blob) and sha256(blob) == expected and f"127.0.0.1:{hub.port}/alice/smollm2:model" in r.stdout,
          r.stdout + r.stderr)
    r = subprocess.run([sys.argv[1], "pull", "hf://alice/smollm2/missing.gguf", "--revision", "q4_1", "--endpoint", hub.base],
                       env=dict(os.environ, HEARTH_HOME=home), capture_output=True, text=True)
    check("hearth pull hf:// of a missing file says so", r.returncode != 0 and "404" in r.stderr and "EntryNotFound" in r.stderr, r.stderr)


CARD = """---
license: apache-2.0
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
tags: [chat, small]
datasets:
  - HuggingFaceTB/smoltalk
language: en
---
# SmolLM2 card heading

A **small** chat model.

<script>alert("card")</script>
"""


def tiny_gguf(path):
    """A minimal valid GGUF v3 file (one F32 tensor), written from the format's spec."""
    import struct

    def string(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    header += string("general.architecture") + struct.pack("<I", 8) + string("llama")
    header += string("weight") + struct.pack("<I", 1) + struct.pack("<Q", 32) + struct.pack("<IQ", 0, 0)
    header += b"\0" * (-len(header) % 32)
    with open(path, "wb") as f:
        f.write(header + struct.pack("<32f", *range(32)))


def card_and_page_checks(hearth, model, hub, host, alice, bob, work, expected):
    """Model cards (front matter indexed), lineage by digest, likes, and the web pages,
    screenshotted with headless Chromium into .build/test-output/."""
    import yaml

    home = os.path.join(work, "cards")
    os.makedirs(home)
    env = dict(os.environ, HEARTH_HOME=home)
    with open(os.path.join(home, "README.md"), "w") as f:
        f.write(CARD)
    with open(os.path.join(home, "Modelfile"), "w") as f:
        f.write(f"FROM {model}\nREADME README.md\n")
    tiny_gguf(os.path.join(home, "child.gguf"))
    with open(os.path.join(home, "Modelfile.child"), "w") as f:
        f.write(f"FROM child.gguf\nPARENT sha256:{expected}\nREADME \"\"\"---\nbase_model: alice/carded\n---\n# A child\"\"\"\n")
    with open(os.path.join(home, "Modelfile.bad"), "w") as f:
        f.write(f"FROM {model}\nREADME \"\"\"---\nlicense: [unclosed\n---\n\"\"\"\n")
    def hearth_run(*args):
        return subprocess.run([hearth, *args], env=env, capture_output=True, text=True, cwd=home)
    for args in [["create", "carded", "-f", "Modelfile"], ["create", "child", "-f", "Modelfile.child"],
                 ["login", host, "--token", alice], ["push", "carded", f"{host}/alice/carded"], ["push", "child", f"{host}/alice/child"]]:
        r = hearth_run(*args)
        if r.returncode != 0:
            check(f"hearth {' '.join(args)}", False, r.stderr)
            return
    r = hearth_run("create", "bad", "-f", "Modelfile.bad")
    check("a card whose front matter is not YAML is refused at create", r.returncode != 0 and "YAML" in r.stderr, r.stderr)

    status, _, body = http("GET", hub.base + "/api/models/alice/carded")
    card = json.loads(body).get("cardData", {})
    front = yaml.safe_load(CARD.split("---")[1])
    as_list = lambda v: v if isinstance(v, list) else [v]
    check("the card's front matter is indexed (cardData equals the YAML)",
          card.get("license") == front["license"] and card.get("base_model") == as_list(front["base_model"])
          and card.get("tags") == front["tags"] and card.get("datasets") == front["datasets"]
          and card.get("language") == as_list(front["language"]), str(card))
    status, _, body = http("GET", hub.base + "/api/models?filter=dataset:HuggingFaceTB/smoltalk")
    check("/api/models filters by a card's dataset", [m["id"] for m in json.loads(body)] == ["alice/carded"], body[:200])
    status, _, body = http("POST", hub.base + "/api/models/alice/carded/like", token=bob)
    status2, _, _ = http("POST", hub.base + "/api/models/alice/carded/like", token=bob)
    check("a like counts once per user", status == 200 and status2 == 200 and json.loads(body)["likes"] == 1, body)
    check("liking needs a token", http("POST", hub.base + "/api/models/alice/carded/like")[0] == 401)
    status, _, body = http("GET", hub.base + "/api/models?sort=likes&limit=1")
    check("/api/models sorts by likes", json.loads(body)[0]["id"] == "alice/carded", body[:200])

    status, headers, page = http("GET", hub.base + "/alice/carded")
    page = page.decode()
    check("the model page renders the card's Markdown", status == 200 and "<h1>SmolLM2 card heading</h1>" in page and "<strong>small</strong>" in page,
          page[:300])
    check("the card's raw HTML is shown as text, and the page allows no scripts",
          "<script>" not in page and "&lt;script&gt;" in page and "script-src" not in headers.get("Content-Security-Policy", "x")
          and "default-src 'none'" in headers.get("Content-Security-Policy", ""), headers.get("Content-Security-Policy"))
    check("the model page lists files, versions, GGUF metadata and tensors",
          all(x in page for x in ["model.gguf", "README.md", "latest", "general.architecture", "blk.0.attn_q.weight"]))
    check("the parent's page lists the child (lineage by digest)", 'href="/alice/child?tag=latest"' in page)
    _, _, child = http("GET", hub.base + "/alice/child")
    check("the child's page names its parent's digest and links to it",
          f"sha256:{expected}" in child.decode() and 'href="/alice/carded?tag=latest"' in child.decode())
    _, _, listing = http("GET", hub.base + "/?q=card")
    listing = listing.decode()
    check("the list page searches", "alice/carded" in listing and "alice/child" not in listing)
    check("an unknown model's page is a 404", http("GET", hub.base + "/alice/nothing")[0] == 404)

    screenshots(hub.base, [("/", "hub-models.png"), ("/alice/carded", "hub-model.png"), ("/alice/child", "hub-child.png")])


def ollama_checks(hearth, model, hub, token, home, expected):
    """`hearth serve`'s /api/pull and /api/push, driven by the official ollama client."""
    import ollama

    env = dict(os.environ, HEARTH_HOME=home)
    host = f"127.0.0.1:{hub.port}"
    subprocess.run([hearth, "login", host, "--token", token], env=env, check=True, capture_output=True)
    port = free_port()
    # The store starts empty, so the server is given the model file to serve as well.
    # --allow-hub-credentials: the pulls and pushes below use the token of hearth login.
    server = subprocess.Popen([hearth, "serve", "--port", str(port), "--ctx-size", "512", "--allow-hub-credentials", model],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (_up(port) and http("GET", f"http://127.0.0.1:{port}/health")[0] == 200):
            if time.time() > deadline or server.poll() is not None:
                check("hearth serve starts for the pull checks", False)
                return
            time.sleep(0.2)
        oc = ollama.Client(host=f"http://127.0.0.1:{port}")
        name = f"{host}/alice/smollm2:q4_1"
        events = list(oc.pull(name, stream=True))
        last_progress = [e for e in events if e.total]
        check("ollama client: pull through hearth serve streams progress and ends in success",
              events[-1].status == "success" and last_progress and last_progress[-1].completed == last_progress[-1].total,
              str(events[-3:]))
        blob = os.path.join(home, "blobs", "sha256-" + expected)
        check("...the pulled blob is the file's sha256", os.path.exists(blob) and sha256(blob) == expected)
        names = [m.model for m in oc.list().models]
        check("...and the model is listed and answers", name in names and
              oc.generate(model=name, prompt="Hi", options={"num_predict": 4, "temperature": 0}).done, str(names))
        oc.copy(name, f"{host}/alice/served:v1")
        events = list(oc.push(f"{host}/alice/served:v1", stream=True))
        check("ollama client: push through hearth serve ends in success", events[-1].status == "success", str(events[-3:]))
        check("...and the hub has it", http("GET", f"{hub.base}/v2/alice/served/manifests/v1")[0] == 200)
        try:
            oc.pull(f"{host}/alice/no-such-model:v1")
            check("ollama client: pulling a missing model fails", False, "no error")
        except ollama.ResponseError as e:
            check("ollama client: pulling a missing model fails with the hub's message", "404" in str(e), str(e))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)


def _up(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    hearth, model = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    expected = sha256(model)
    work = tempfile.mkdtemp(prefix="hearth-hub-test-")
    homes = {n: os.path.join(work, n) for n in ["a", "b", "c", "d", "f"]}
    data = os.path.join(work, "hub")

    def run(home, *args, check_ok=False, **kw):
        r = subprocess.run([hearth, *args], env=dict(os.environ, HEARTH_HOME=homes[home]), capture_output=True, text=True, **kw)
        if check_ok and r.returncode != 0:
            sys.exit(f"hearth {' '.join(args)} failed: {r.stderr}")
        return r

    def admin(*args, stdin=None):
        r = subprocess.run([hearth, "hub", *args, "--data", data], capture_output=True, text=True, input=stdin)
        if r.returncode != 0:
            sys.exit(f"hearth hub {' '.join(args)} failed: {r.stderr}")
        return r.stdout.strip()

    admin("user", "add", "alice", stdin="alice-password\n")
    admin("user", "add", "bob", stdin="bob-password\n")
    alice = admin("token", "alice", "--scope", "write")
    alice_read = admin("token", "alice", "--scope", "read")
    bob = admin("token", "bob", "--scope", "write")
    hub = Hub(hearth, data)
    host = f"127.0.0.1:{hub.port}"
    remote = f"{host}/alice/smollm2:q4_1"
    try:
        run("a", "import", model, "smollm2", check_ok=True)
        r = run("a", "push", "smollm2", remote)
        check("push without a token is refused (401) with a hint to log in", r.returncode != 0 and "401" in r.stderr and "hearth login" in r.stderr,
              r.stderr)
        check("login with a wrong token is refused", run("a", "login", host, "--token", "hearth_wrong").returncode != 0)
        run("a", "login", host, "--token", alice, check_ok=True)
        r = run("a", "push", "smollm2", remote)
        check("push with alice's write token succeeds", r.returncode == 0, r.stderr)
        push_line = r.stdout.strip()
        hub_blob = os.path.join(data, "store", "blobs", "sha256-" + expected)
        check("the hub stores the model blob under the file's sha256", os.path.exists(hub_blob) and sha256(hub_blob) == expected)

        r = run("b", "pull", remote)
        check("pull into a second store succeeds", r.returncode == 0, r.stderr)
        pull_line = r.stdout.strip()
        pulled = os.path.join(homes["b"], "blobs", "sha256-" + expected)
        check("the pulled blob's digest is the file's sha256", os.path.exists(pulled) and sha256(pulled) == expected)
        manifest = json.load(open(os.path.join(homes["b"], "manifests", host, "alice", "smollm2", "q4_1")))
        digests = sorted(l["digest"] for l in [manifest["config"]] + manifest["layers"])
        ok = all(sha256(os.path.join(homes["b"], "blobs", d.replace(":", "-"))) == d[7:] for d in digests)
        check("every pulled blob is stored under its own sha256", ok, str(digests))
        prompt = ["--temperature", "0", "-n", "12", "The capital of France is"]
        via_file = subprocess.run([hearth, "run", model, *prompt], capture_output=True, text=True).stdout
        via_pull = run("b", "run", remote, *prompt).stdout
        check("the pulled model generates what the file does", via_file == via_pull and len(via_file) > 0, f"{via_file!r} vs {via_pull!r}")

        # A pull killed part way, then resumed.
        p = subprocess.Popen([hearth, "pull", "--parallel", "1", remote], env=dict(os.environ, HEARTH_HOME=homes["c"]),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = os.path.join(homes["c"], "blobs", f"sha256-{expected}.partial.chunks")
        deadline = time.time() + 30
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(journal) and open(journal).read().count("\n") >= 2:
                break
            time.sleep(0.005)
        p.send_signal(signal.SIGKILL)
        p.wait()
        killed_mid = os.path.exists(journal)
        check("a pull killed with SIGKILL leaves a partial blob", killed_mid, "the pull finished before the kill")
        r = run("c", "pull", remote)
        resumed = os.path.join(homes["c"], "blobs", "sha256-" + expected)
        check("the pull resumes and completes with the right digest",
              r.returncode == 0 and "resumed" in r.stdout and os.path.exists(resumed) and sha256(resumed) == expected,
              r.stdout + r.stderr)
        check("no partial files remain", not [f for f in os.listdir(os.path.join(homes["c"], "blobs")) if "partial" in f])

        # An upload whose bytes do not match their digest.
        v2 = hub.base + "/v2/alice/junk"
        status, headers, _ = http("POST", v2 + "/blobs/uploads/", token=alice)
        location = headers.get("Location", "")
        http("PATCH", hub.base + location, data=b"these are not the bytes", token=alice, headers={"Content-Range": "0-22"})
        wrong = "sha256:" + hashlib.sha256(b"other bytes").hexdigest()
        status, _, body = http("PUT", hub.base + location + "?digest=" + wrong, data=b"", token=alice)
        leftovers = os.listdir(os.path.join(data, "uploads"))
        check("an upload that does not match its digest is refused (400 DIGEST_INVALID)", status == 400 and b"DIGEST_INVALID" in body, f"{status} {body!r}")
        check("...and leaves nothing behind", not leftovers and not os.path.exists(os.path.join(data, "store", "blobs", wrong.replace(":", "-"))),
              str(leftovers))
        status, _, body = http("POST", v2 + "/blobs/uploads/?digest=" + wrong, data=b"monolithic but wrong", token=alice)
        check("a whole-blob upload with the wrong digest is refused, nothing kept", status == 400 and not os.listdir(os.path.join(data, "uploads")),
              f"{status} {body!r}")

        # Access.
        status, _, body = http("POST", v2 + "/blobs/uploads/")
        check("an upload without a token is 401", status == 401, f"{status} {body!r}")
        status, _, body = http("POST", v2 + "/blobs/uploads/", token=bob)
        check("bob uploading to alice's namespace is 403", status == 403, f"{status} {body!r}")
        status, _, body = http("POST", v2 + "/blobs/uploads/", token=alice_read)
        check("a read-only token cannot upload (403)", status == 403, f"{status} {body!r}")
        status, _, body = http("POST", v2 + "/blobs/uploads/", token="hearth_not_a_token")
        check("an unknown token is 401, not anonymous", status == 401, f"{status} {body!r}")
        for bad in ["/v2/al..ice/x/manifests/latest", "/v2/alice/x..y/manifests/latest", "/v2/alice/-x/manifests/latest",
                    "/v2/alice/x/manifests/..", "/v2/alice/x%2F..%2Fy/manifests/latest"]:
            status, _, body = http("GET", hub.base + bad)
            check(f"the name in {bad} is refused", status in (400, 404) and (b"NAME_INVALID" in body or status == 404), f"{status} {body!r}")
        r = run("a", "push", "smollm2", f"{host}/alice/..:x")
        check("hearth push refuses a name with '..' before sending", r.returncode != 0 and "'..'" in r.stderr, r.stderr)

        # Organisations: members push to the organisation's namespace and read its private models.
        admin("org", "add", "acme", "--member", "alice")
        r = run("a", "push", "smollm2", f"{host}/acme/smollm2:v1")
        check("a member pushes to the organisation's namespace", r.returncode == 0, r.stderr)
        status, _, _ = http("POST", hub.base + "/v2/acme/smollm2/blobs/uploads/", token=bob)
        check("a non-member cannot (403)", status == 403)
        admin("private", "acme/smollm2")
        acme_url = hub.base + "/v2/acme/smollm2/manifests/v1"
        check("an organisation's private model is 404 to non-members and 200 to members",
              http("GET", acme_url, token=bob)[0] == 404 and http("GET", acme_url, token=alice_read)[0] == 200)
        admin("org", "join", "acme", "bob")
        check("...and 200 to a member who joins", http("GET", acme_url, token=bob)[0] == 200)

        # Password login.
        password_file = os.path.join(work, "password")
        with open(password_file, "w") as f:
            f.write("bob-password\n")
        r = run("f", "login", host, "--user", "bob", "--password-file", password_file)
        check("hearth login --user trades a password for a token", r.returncode == 0 and "as bob" in r.stdout, r.stderr)
        with open(password_file, "w") as f:
            f.write("wrong-password\n")
        r = run("f", "login", host, "--user", "bob", "--password-file", password_file)
        check("a wrong password is refused (401)", r.returncode != 0 and "401" in r.stderr, r.stderr)
        basic = {"Authorization": "Basic " + base64.b64encode(b"bob:wrong-password").decode()}
        status, _, body = http("POST", hub.base + "/api/tokens", b"{not json", headers=basic)
        check("POST /api/tokens checks the password before the body (401)", status == 401, f"{status} {body[:200]}")
        basic = {"Authorization": "Basic " + base64.b64encode(b"bob:bob-password").decode()}
        status, _, body = http("POST", hub.base + "/api/tokens", b"{not json", headers=basic)
        check("...and a body that is not JSON is 400 BODY_INVALID", status == 400 and b"BODY_INVALID" in body, f"{status} {body[:200]}")

        admin("private", "alice/smollm2")
        manifest_url = hub.base + "/v2/alice/smollm2/manifests/q4_1"
        check("a private model is 404 to anonymous clients", http("GET", manifest_url)[0] == 404)
        check("a private model is 404 to another user", http("GET", manifest_url, token=bob)[0] == 404)
        check("a private model is 200 to its owner", http("GET", manifest_url, token=alice_read)[0] == 200)
        r = run("d", "pull", remote)
        check("hearth pull of a private model without a token fails", r.returncode != 0 and "404" in r.stderr, r.stderr)
        admin("private", "alice/smollm2", "--off")

        # Two pushes of one model at once, from two stores, to a new repository.
        run("d", "import", model, "smollm2", check_ok=True)
        run("d", "login", host, "--token", alice, check_ok=True)
        pushes = [subprocess.Popen([hearth, "push", "smollm2", f"{host}/alice/twins:v1"], env=dict(os.environ, HEARTH_HOME=homes[h]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for h in ["a", "d"]]
        codes = [p.wait() for p in pushes]
        check("two concurrent pushes of one model both succeed", codes == [0, 0], str([p.stderr.read() for p in pushes]))
        size = os.path.getsize(model)
        blobs = os.path.join(data, "store", "blobs")
        copies = [f for f in os.listdir(blobs) if os.path.getsize(os.path.join(blobs, f)) == size]
        check("...with one stored copy", copies == ["sha256-" + expected], str(copies))

        # A blob over the hub's limit.
        small = Hub(hearth, os.path.join(work, "small-hub"), "--max-blob", "0.00001")
        subprocess.run([hearth, "hub", "user", "add", "alice", "--data", small.data], input="alice-password\n", text=True, capture_output=True)
        token = subprocess.run([hearth, "hub", "token", "alice", "--scope", "write", "--data", small.data], capture_output=True, text=True).stdout.strip()
        run("a", "login", f"127.0.0.1:{small.port}", "--token", token, check_ok=True)
        r = run("a", "push", "smollm2", f"127.0.0.1:{small.port}/alice/smollm2")
        small_left = os.listdir(os.path.join(small.data, "uploads"))
        small.stop()
        check("a blob over --max-blob is refused with 413, nothing kept", r.returncode != 0 and "413" in r.stderr and not small_left,
              r.stderr + str(small_left))

        hugging_face_checks(hub, expected, alice, work)
        card_and_page_checks(hearth, model, hub, host, alice, bob, work, expected)
        ollama_checks(hearth, model, hub, alice, os.path.join(work, "e"), expected)

        # Throughput against curl downloading the same blob from the same hub.
        blob_url = f"{hub.base}/v2/alice/smollm2/blobs/sha256:{expected}"
        out = os.path.join(work, "curl.bin")
        curl_times = []
        for _ in range(3):
            t = time.time()
            subprocess.run(["curl", "-sf", "-o", out, blob_url], check=True)
            curl_times.append(time.time() - t)
        check("curl downloads the same bytes", sha256(out) == expected)
        pull_times = []
        for i in range(3):
            shutil.rmtree(homes["c"], ignore_errors=True)
            t = time.time()
            run("c", "pull", remote, check_ok=True)
            pull_times.append(time.time() - t)
        push_times = []
        for i in range(3):
            # Repositories share blobs: remove it so that each push sends it.
            os.remove(hub_blob)
            t = time.time()
            run("a", "push", "smollm2", f"{host}/alice/fresh{i}:v1", check_ok=True)
            push_times.append(time.time() - t)
        mib = size / 2**20
        best = lambda ts: min(ts)
        print(f"throughput on loopback, {mib:.1f} MiB, best of 3 (whole command, process start included):")
        print(f"  curl download  {best(curl_times):6.3f} s  {mib / best(curl_times):7.1f} MiB/s")
        print(f"  hearth pull    {best(pull_times):6.3f} s  {mib / best(pull_times):7.1f} MiB/s  ratio to curl {best(curl_times) / best(pull_times):.2f}")
        print(f"  hearth push    {best(push_times):6.3f} s  {mib / best(push_times):7.1f} MiB/s  ratio to curl download {best(curl_times) / best(push_times):.2f}")
        print(f"  (first push: {push_line}; first pull: {pull_line})")
    finally:
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
