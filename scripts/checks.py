"""What the end-to-end test scripts share: named checks that print PASS or FAIL and are
counted, the summary that ends a run, a file's sha256, a free port on the loopback, an HTTP
request that returns its status and body,
BIG-bench's prompt format, page screenshots, and a `hearth hub serve` process."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

_failed = 0


def check(name, ok, detail=""):
    """Prints PASS or FAIL for one check (with `detail` under a failure) and counts failures."""
    global _failed
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        _failed += 1


def finish():
    """Prints the summary and exits: 1 when a check failed."""
    print("all checks passed" if _failed == 0 else f"{_failed} check(s) failed")
    sys.exit(1 if _failed else 0)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def bigbench_prompt(task, example):
    """BIG-bench's default prompt for a task.json example (bigbench/api/json_task.py), the
    task prefix first, appended choices sorted (BIG-bench shuffles them with numpy)."""
    text = example["input"]
    if task.get("append_choices_to_input", True):
        prefix = task.get("choice_prefix", "\n  choice: ")
        text += prefix + prefix.join(sorted(example["target_scores"]))
    return task.get("task_prefix", "") + task.get("example_input_prefix", "\nQ: ") + text + task.get("example_output_prefix", "\nA: ")


def bigbench_gold(example):
    """The index of the first best-scored choice, as BIG-bench takes the target."""
    scores = list(example["target_scores"].values())
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def http(method, url, body=None, token=None, headers=None):
    """(status, body bytes) of one request; a dict or list body is sent as JSON, bytes as
    they are (as JSON unless `headers` names a Content-Type)."""
    import json
    import urllib.error
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshots(base, pages):
    """Renders each (path, file name) of the server at `base` with headless Chromium into
    .build/test-output/, checking that a PNG of some substance came out."""
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "test-output")
    os.makedirs(out, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        check("headless Chromium is installed for the page screenshots (apt-get install chromium)", False)
        return
    for page_path, name in pages:
        shot = os.path.join(out, name)
        if os.path.exists(shot):
            os.remove(shot)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1600",
                        f"--screenshot={shot}", base + page_path], capture_output=True, timeout=120)
        ok = os.path.exists(shot) and os.path.getsize(shot) > 10000 and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        check(f"Chromium renders {page_path} ({os.path.relpath(shot)})", ok)


class Hub:
    """`hearth hub serve --data DATA` on a free loopback port (extra arguments appended),
    waited for until /v2/ answers; its output goes to `log` (a file) or nowhere."""

    def __init__(self, hearth, data, *extra, log=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.host = f"127.0.0.1:{self.port}"
        self.data = data
        out = log or subprocess.DEVNULL
        self.process = subprocess.Popen([hearth, "hub", "serve", "--data", data, "--port", str(self.port), *extra],
                                        stdout=out, stderr=out)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base + "/v2/", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                sys.exit(f"the hub did not start (exit code {self.process.poll()})")
            time.sleep(0.1)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
