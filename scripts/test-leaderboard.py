#!/usr/bin/env python3
"""End-to-end test of the leaderboard: `hearth hub serve --reproduce` on a real port, a real
model pushed to it, `hearth eval --push`, the API, the pages and `hearth leaderboard`.

    scripts/test-leaderboard.py HEARTH_BINARY MODEL.gguf

The oracle for signatures is the `cryptography` package (OpenSSL's Ed25519), which must be
importable: it checks the hub's stored signature, derives the public key from the instance
key file, and signs forged reports the way the format says (RFC 8032 over
"hearth eval report v1\\n" + the report's bytes). The oracle for scores is the results.json
that `hearth eval` wrote.

Checks, each printed PASS or FAIL:
- the pushed report is results.json byte for byte, signed with HEARTH_HOME/instance-key (0600);
- a report changed after signing, a wrong or missing token, malformed bodies and a model the
  hub does not have are refused with the right status, and nothing is kept;
- the same report twice is kept once;
- the hub reproduces an honest run (same scores; one task of the built-in suite, which every
  hub finds, and one text from its --tasks folder), flags a validly signed report with false
  scores as `differs`, and says `cannot` when it lacks a task file;
- /api/leaderboard, /leaderboard (sorted by any column) and the model page show the results
  the viewer may see (a private model's results are hidden from others);
- results survive a hub restart; `hearth leaderboard` prints the same board;
- headless Chromium renders the leaderboard and the model page into .build/test-output/.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization
from cryptography.exceptions import InvalidSignature

from checks import Hub, check, finish, http, screenshots

PREFIX = b"hearth eval report v1\n"
SUITE = Path(__file__).resolve().parent.parent / "Sources/HearthEval/Suites/core"
hearth, model_path = sys.argv[1], sys.argv[2]


def run(*args, home, check_ok=True, stdin=None):
    r = subprocess.run([hearth, *args], env=dict(os.environ, HEARTH_HOME=home), capture_output=True, text=True, input=stdin)
    if check_ok and r.returncode != 0:
        sys.exit(f"hearth {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r


def start_hub(data, tasks):
    """The hub with background reproduction, its output kept beside its data folder."""
    return Hub(hearth, data, "--reproduce", "--tasks", tasks, "--reproduce-threads", "1", log=open(data + "-log.txt", "a"))


def post(hub, envelope, token):
    return http("POST", hub.base + "/api/evals", json.dumps(envelope).encode(), token)


def sign(key, report_text):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"report": report_text, "public_key": base64.b64encode(raw).decode(),
            "signature": base64.b64encode(key.sign(PREFIX + report_text.encode())).decode()}


def board(hub, token=None):
    status, body = http("GET", hub.base + "/api/leaderboard", token=token)
    assert status == 200, (status, body)
    return json.loads(body)


def wait_for_state(hub, token, ids, timeout=300):
    """Waits until every result in `ids` has left the unchecked state; returns id -> entry."""
    deadline = time.time() + timeout
    while True:
        entries = {e["id"]: e for e in board(hub, token)["entries"]}
        if all(i in entries and entries[i]["reproduction"] != "unchecked" for i in ids) or time.time() > deadline:
            return entries
        time.sleep(0.5)


def write_tasks(folder):
    """A text for perplexity, a task only the hub's --tasks folder has (the other task of the
    runs, elements, is the built-in suite's, which every hub has)."""
    os.makedirs(folder, exist_ok=True)
    story = ("The lighthouse keeper climbed the stairs every evening to light the lamp. Ships passed far out at sea, "
             "and the keeper wrote their names in a book. One winter a storm broke the window at the top of the tower, "
             "and the keeper spent the night holding a lantern against the glass so the ships would still see the light. ")
    with open(os.path.join(folder, "story.txt"), "w") as f:
        f.write(story * 4)


def main():
    work = tempfile.mkdtemp(prefix="hearth-leaderboard-")
    hub_data, tasks, home = os.path.join(work, "hub"), os.path.join(work, "tasks"), os.path.join(work, "home")
    write_tasks(tasks)
    run("hub", "user", "add", "alice", "--data", hub_data, home=home, stdin="password123\n")
    run("hub", "user", "add", "bob", "--data", hub_data, home=home, stdin="password123\n")
    bob_read = run("hub", "token", "bob", "--scope", "read", "--data", hub_data, home=home).stdout.strip()
    bob_write = run("hub", "token", "bob", "--scope", "write", "--data", hub_data, home=home).stdout.strip()
    hub = start_hub(hub_data, tasks)
    try:
        run("import", model_path, "smollm2", home=home)
        run("login", hub.host, "--user", "alice", home=home, stdin="password123\n")
        alice = json.load(open(os.path.join(home, "credentials.json")))[hub.host]
        run("push", "smollm2", f"{hub.host}/alice/smollm2:q4_1", home=home)

        # A push that cannot happen fails before the model runs.
        r = run("eval", model_path, "--tasks", "elements", "--output", os.path.join(work, "never"),
                "--push", hub.host, home=os.path.join(work, "stranger"), check_ok=False)
        check("eval --push without a login fails at once, naming hearth login",
              r.returncode != 0 and "hearth login" in r.stderr and not os.path.exists(os.path.join(work, "never")), r.stderr)

        # An honest run, pushed.
        out = os.path.join(work, "out")
        r = run("eval", "smollm2", "--tasks", f"elements,{tasks}/story.txt", "--limit", "24", "--ctx", "128",
                "--output", out, "--push", hub.host, home=home)
        m = re.search(r"pushed result (\d+) for alice/smollm2:q4_1, signed with (ed25519:[0-9a-f]{16})", r.stdout)
        check("hearth eval --push reports the result's id, the model and the key", m is not None, r.stdout[-400:])
        honest = int(m.group(1)) if m else 1
        results_bytes = open(os.path.join(out, "results.json"), "rb").read()
        results = json.loads(results_bytes)
        acc = next(t for t in results["tasks"] if t["task"] == "elements")["metrics"]["acc"]["value"]
        ppl = next(t for t in results["tasks"] if t["task"] == "story")["metrics"]["perplexity"]["value"]

        key_file = os.path.join(home, "instance-key")
        mode = stat.S_IMODE(os.stat(key_file).st_mode)
        check("the instance key is kept in HEARTH_HOME/instance-key, mode 0600", mode == 0o600, oct(mode))
        seed = base64.b64decode(open(key_file).read().strip())
        instance = Ed25519PrivateKey.from_private_bytes(seed)
        instance_public = instance.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        fingerprint = "ed25519:" + hashlib.sha256(instance_public).hexdigest()[:16]
        check("the printed fingerprint is the sha256 of the instance's public key", m is not None and m.group(2) == fingerprint,
              f"{m and m.group(2)} {fingerprint}")

        status, body = http("GET", f"{hub.base}/api/evals/{honest}")
        stored = json.loads(body) if status == 200 else {}
        check("the hub keeps the report byte for byte as results.json", stored.get("report", "").encode() == results_bytes)
        check("...with the instance's public key", base64.b64decode(stored.get("public_key", "")) == instance_public)
        try:
            Ed25519PublicKey.from_public_bytes(instance_public).verify(base64.b64decode(stored["signature"]), PREFIX + results_bytes)
            check("the stored signature verifies with OpenSSL's Ed25519 over the prefix and results.json", True)
        except (InvalidSignature, KeyError) as e:
            check("the stored signature verifies with OpenSSL's Ed25519 over the prefix and results.json", False, repr(e))
        envelope = {k: stored[k] for k in ("report", "public_key", "signature")} if stored else {}

        # Refusals: nothing of these is kept.
        before = len(board(hub, alice)["entries"])
        tampered = dict(envelope, report=envelope["report"].replace(f'"value" : {acc}', '"value" : 0.99', 1))
        check("the test changes the report (sanity)", tampered["report"] != envelope["report"])
        status, body = post(hub, tampered, alice)
        check("a report changed after signing is 422 SIGNATURE_INVALID", status == 422 and b"SIGNATURE_INVALID" in body, f"{status} {body[:200]}")
        status, body = post(hub, envelope, None)
        check("pushing without a token is 401", status == 401, f"{status} {body[:200]}")
        status, body = post(hub, envelope, bob_read)
        check("pushing with a read token is 403", status == 403 and b"read-only" in body, f"{status} {body[:200]}")
        status, body = post(hub, envelope, "hearth_" + "0" * 48)
        check("pushing with an unknown token is 401", status == 401, f"{status} {body[:200]}")
        status, body = http("POST", hub.base + "/api/evals", b'{"report": ', alice)
        check("malformed JSON is 400", status == 400 and b"BODY_INVALID" in body, f"{status} {body[:200]}")
        forger = Ed25519PrivateKey.generate()
        status, body = post(hub, sign(forger, "this is not a report"), alice)
        check("a signed text that is not a report is 422 REPORT_INVALID", status == 422 and b"REPORT_INVALID" in body, f"{status} {body[:200]}")
        other_model = envelope["report"].replace(results["model"]["digest"], "sha256:" + hashlib.sha256(b"another model").hexdigest())
        status, body = post(hub, sign(forger, other_model), alice)
        check("a report of a model the hub does not have is 422 MODEL_UNKNOWN, naming the digest",
              status == 422 and b"MODEL_UNKNOWN" in body and hashlib.sha256(b"another model").hexdigest().encode() in body, f"{status} {body[:200]}")
        bad_limit = envelope["report"].replace('"limit" : 24', '"limit" : -1', 1)
        status, body = post(hub, sign(forger, bad_limit), alice)
        check("a signed report whose settings no run could have (limit -1) is 422, naming the limit",
              bad_limit != envelope["report"] and status == 422 and b"limit" in body, f"{status} {body[:200]}")
        huge = envelope["report"].replace(f'"value" : {acc}', '"value" : 1e308', 1)
        status, body = post(hub, sign(forger, huge), alice)
        check("a signed report with an accuracy of 1e308 is 422, naming the metric",
              huge != envelope["report"] and status == 422 and b"acc" in body, f"{status} {body[:200]}")
        check("...and the leaderboard still answers", http("GET", hub.base + "/api/leaderboard")[0] == 200)
        no_tasks = json.loads(envelope["report"])
        no_tasks["tasks"] = []
        status, body = post(hub, sign(forger, json.dumps(no_tasks)), alice)
        check("a signed report with no tasks is 422", status == 422 and b"no task" in body, f"{status} {body[:200]}")
        check("...and nothing refused was kept", len(board(hub, alice)["entries"]) == before)

        status, body = post(hub, envelope, alice)
        again = json.loads(body) if status == 200 else {}
        check("the same report again is 200 with the same id, not a second result",
              status == 200 and again.get("id") == honest and again.get("is_new") is False, f"{status} {body[:200]}")
        r = run("leaderboard", hub.host, "--submit", out, home=home)
        check("hearth leaderboard --submit DIR pushes results.json (here: already there)", f"already on the hub: result {honest}" in r.stdout, r.stdout)
        r = run("eval", "smollm2", "--tasks", f"elements,{tasks}/story.txt", "--limit", "24", "--ctx", "128",
                "--output", out, "--push", hub.host, home=home)
        check("the same run again (from its cache, new timings) is the same result, not a second row",
              f"already on the hub: result {honest}" in r.stdout and open(os.path.join(out, "results.json"), "rb").read() != results_bytes, r.stdout[-300:])

        # A validly signed report with false scores (bob's key and token): kept, then caught.
        forged_text = envelope["report"].replace(f'"value" : {acc}', '"value" : 0.95', 1).replace(f'"value" : {ppl}', f'"value" : {ppl * 2}', 1)
        check("the forged report differs in both scores (sanity)", forged_text.count('"value" : 0.95') == 1 and str(ppl * 2) in forged_text)
        status, body = post(hub, sign(forger, forged_text), bob_write)
        forged = json.loads(body).get("id") if status == 201 else None
        check("a validly signed report of a model on the hub is accepted (201)", forged is not None, f"{status} {body[:200]}")

        # A run with a task file the hub does not have.
        elsewhere = os.path.join(work, "elsewhere")
        os.makedirs(elsewhere)
        shutil.copy(SUITE / "elements/data.jsonl", elsewhere)
        with open(os.path.join(elsewhere, "elements.yaml"), "w") as f:
            f.write((SUITE / "elements/task.yaml").read_text().replace("task: elements", "task: elements_elsewhere"))
        r = run("eval", "smollm2", "--tasks", os.path.join(elsewhere, "elements.yaml"), "--limit", "8", "--output", os.path.join(work, "out2"),
                "--push", hub.host, home=home)
        m = re.search(r"pushed result (\d+)", r.stdout)
        unknown_task = int(m.group(1)) if m else -1

        entries = wait_for_state(hub, alice, [honest, forged, unknown_task])
        e = entries.get(honest, {})
        check("the hub reproduces the honest run", e.get("reproduction") == "reproduced", f"{e.get('reproduction')}: {e.get('reproduction_detail')}")
        elements, story = e.get("scores", {}).get("elements", {}), e.get("scores", {}).get("story", {})
        check("its entry shows results.json's scores, and the hub's own equal them",
              elements.get("value") == acc and elements.get("reproduced") == acc and story.get("value") == ppl
              and abs(story.get("reproduced", 0) - ppl) <= 1e-3 * ppl, json.dumps(e.get("scores")))
        check("...names the model by repository and digest, and the submitter and key",
              e.get("models") == ["alice/smollm2:q4_1"] and e.get("model_digest") == results["model"]["digest"]
              and e.get("submitter") == "alice" and e.get("key") == fingerprint, json.dumps(e)[:400])
        check("...and its average is the accuracy tasks' mean", e.get("average") == acc, str(e.get("average")))
        f = entries.get(forged, {})
        check("the forged report is marked differs, naming the claimed and measured numbers",
              f.get("reproduction") == "differs" and "elements acc: claimed 0.9500" in (f.get("reproduction_detail") or "")
              and "story perplexity" in (f.get("reproduction_detail") or ""), f"{f.get('reproduction')}: {f.get('reproduction_detail')}")
        u = entries.get(unknown_task, {})
        check("a run whose task file the hub lacks is marked cannot, naming the task",
              u.get("reproduction") == "cannot" and "elements_elsewhere" in (u.get("reproduction_detail") or ""), f"{u.get('reproduction')}: {u.get('reproduction_detail')}")

        # hearth hub reproduce, run by hand on the hub's data, agrees.
        r = run("hub", "reproduce", str(forged), "--data", hub_data, "--tasks", tasks, home=home)
        check("hearth hub reproduce ID checks a result again", f"result {forged}: differs" in r.stdout, r.stdout + r.stderr)

        # Sorting: the forged report claims the best accuracy and the worst perplexity.
        page = http("GET", hub.base + "/leaderboard?sort=elements")[1].decode()
        check("/leaderboard?sort=elements ranks the higher accuracy first",
              0 <= page.find(f'id="eval-{forged}"') < page.find(f'id="eval-{honest}"'))
        page = http("GET", hub.base + "/leaderboard?sort=story")[1].decode()
        check("/leaderboard?sort=story ranks the lower perplexity first",
              0 <= page.find(f'id="eval-{honest}"') < page.find(f'id="eval-{forged}"'))
        check("the page marks reproduced and differing runs", "✓ reproduced" in page and "✗ differs" in page)
        r = run("leaderboard", hub.host, "--sort", "story", home=home)
        rows = [line.split() for line in r.stdout.splitlines()[1:] if line[:1].isdigit()]
        check("hearth leaderboard --sort story lists the honest run first, with its score and state",
              len(rows) >= 2 and rows[0][-1] == str(honest) and f"{acc * 100:.1f}" in rows[0] and "reproduced" in rows[0], r.stdout)
        r = run("leaderboard", hub.host, "--json", home=home)
        check("hearth leaderboard --json is the hub's board", json.loads(r.stdout)["entries"] == board(hub, alice)["entries"])
        r = run("leaderboard", hub.host + "/alice/smollm2", home=home, check_ok=False)
        check("a hub written with a path is refused, saying HOST[:PORT]", r.returncode != 0 and "HOST[:PORT]" in r.stderr, r.stderr)
        r = run("leaderboard", hub.host, "--sort", "nope", home=home, check_ok=False)
        check("sorting by an unknown task names the known ones", r.returncode != 0 and "elements" in r.stderr and "story" in r.stderr, r.stderr)
        model_page = http("GET", hub.base + "/alice/smollm2?tag=q4_1")[1].decode()
        check("the model page has an Evaluations section with the results",
              'id="evals"' in model_page and f"#{honest}</a>" in model_page and "✓ reproduced" in model_page)

        screenshots(hub.base, [("/leaderboard", "hub-leaderboard.png"), ("/alice/smollm2?tag=q4_1", "hub-model-evals.png")])

        # Privacy: a private model's results are hidden from others.
        run("hub", "private", "alice/smollm2", "--data", hub_data, home=home)
        check("a private model's results are not on the anonymous board", board(hub)["entries"] == [])
        check("...nor bob's", board(hub, bob_read)["entries"] == [])
        check("...but alice sees them", len(board(hub, alice)["entries"]) == 3)
        status, _ = http("GET", f"{hub.base}/api/evals/{honest}")
        check("...and /api/evals/ID is 404 to others", status == 404)
        run("hub", "private", "alice/smollm2", "--off", "--data", hub_data, home=home)

        # A restart keeps everything.
        hub.stop()
        hub = start_hub(hub_data, tasks)
        after = {e["id"]: e["reproduction"] for e in board(hub)["entries"]}
        check("results and their states survive a restart",
              after == {honest: "reproduced", forged: "differs", unknown_task: "cannot"}, str(after))
    finally:
        hub.stop()
        shutil.rmtree(work, ignore_errors=True)
    finish()


main()
