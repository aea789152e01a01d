#!/usr/bin/env python3
"""End-to-end test of the model store through the real `hearth` binary, in a fresh HEARTH_HOME.

- `hearth import` killed with SIGKILL at moments through the copy leaves a consistent store:
  every manifest names blobs that are present and whose sha256 is their name; `hearth gc`
  removes the unfinished files; a new import then completes with the file's sha256.
- Two concurrent imports of one file both succeed, with one stored copy.
- Bad names and missing models are refused with a message and a non-zero exit.

    scripts/test-store-cli.py HEARTH_BINARY MODEL.gguf
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, finish, sha256


def consistent(home):
    """Every manifest's blobs are present, of their size, and named by their sha256."""
    problems = []
    root = os.path.join(home, "manifests")
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith("."):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                manifest = json.load(f)
            for blob in [manifest["config"]] + manifest["layers"]:
                path = os.path.join(home, "blobs", blob["digest"].replace(":", "-"))
                if not os.path.exists(path):
                    problems.append(f"{name}: {blob['digest']} missing")
                elif os.path.getsize(path) != blob["size"] or "sha256:" + sha256(path) != blob["digest"]:
                    problems.append(f"{name}: {blob['digest']} damaged")
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    hearth, model = sys.argv[1], sys.argv[2]
    expected = sha256(model)
    home = tempfile.mkdtemp(prefix="hearth-store-test-")
    env = dict(os.environ, HEARTH_HOME=home)

    def run(*args):
        return subprocess.run([hearth, *args], env=env, capture_output=True, text=True)

    try:
        # Kills at moments through the copy: before it starts, and once the unfinished blob
        # holds a given share of the file.
        size = os.path.getsize(model)
        blobs = os.path.join(home, "blobs")
        for share in [None, 0.0, 0.1, 0.3, 0.6, 0.9]:
            p = subprocess.Popen([hearth, "import", model, f"killed:{share}"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 20
            while share is not None and p.poll() is None and time.time() < deadline:
                partial = [f for f in os.listdir(blobs) if f.startswith(".tmp-")] if os.path.isdir(blobs) else []
                if any(os.path.getsize(os.path.join(blobs, f)) >= share * size for f in partial if os.path.exists(os.path.join(blobs, f))):
                    break
                time.sleep(0.001)
            p.send_signal(signal.SIGKILL)
            p.wait()
            what = "before it starts" if share is None else f"with {int(share * 100)}% copied"
            problems = consistent(home)
            check(f"an import killed {what} leaves the store consistent", not problems, "; ".join(problems))
            listing = run("list")
            check(f"hearth list works after the kill {what}", listing.returncode == 0 and "damaged" not in listing.stdout,
                  listing.stdout + listing.stderr)
        unfinished = [f for f in os.listdir(blobs) if f.startswith(".tmp-")] if os.path.isdir(blobs) else []
        check("some kill landed in the middle of a copy", len(unfinished) > 0, "no unfinished file was left to test gc with")
        gc = run("gc")
        leftovers = [f for f in os.listdir(os.path.join(home, "blobs")) if f.startswith(".tmp-")] if os.path.isdir(os.path.join(home, "blobs")) else []
        check("hearth gc removes the unfinished files", gc.returncode == 0 and not leftovers, gc.stdout + gc.stderr + str(leftovers))

        # Two imports at once.
        a = subprocess.Popen([hearth, "import", model, "one"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        b = subprocess.Popen([hearth, "import", model, "team/two:v1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        codes = (a.wait(), b.wait())
        check("two concurrent imports both succeed", codes == (0, 0), f"exit codes {codes}: {a.stderr.read()} {b.stderr.read()}")
        blob = os.path.join(home, "blobs", "sha256-" + expected)
        size = os.path.getsize(model)
        copies = [f for f in os.listdir(os.path.join(home, "blobs")) if os.path.getsize(os.path.join(home, "blobs", f)) == size]
        check("the model file is stored once, under its sha256", os.path.exists(blob) and copies == ["sha256-" + expected],
              str(copies))
        check("the store is consistent after concurrent imports", not consistent(home), "; ".join(consistent(home)))

        show = run("show", "team/two:v1")
        check("hearth show names the model blob's digest", show.returncode == 0 and expected in show.stdout, show.stdout + show.stderr)
        gen = run("run", "one", "--temperature", "0", "-n", "4", "The capital of France is")
        check("hearth run takes a store name", gen.returncode == 0 and "Paris" in gen.stdout, gen.stdout + gen.stderr)

        for args, words in [
            (["import", model, "../evil"], "'..'"),
            (["import", model, "a/b/c/d"], "not a model name"),
            (["run", "nobody-here", "hi"], "no model 'nobody-here:latest'"),
            (["rm", "nobody-here"], "no model 'nobody-here:latest'"),
            (["import", "/no/such/file.gguf", "x"], "no such file"),
            (["import", __file__, "notgguf"], "not a usable GGUF file"),
        ]:
            r = run(*args)
            check(f"hearth {' '.join(a if a != model else 'MODEL' for a in args)} fails with a clear message",
                  r.returncode != 0 and words in r.stderr and "Fatal" not in r.stderr, f"{r.returncode} {r.stderr!r}")

        removed = run("rm", "one", "team/two:v1")
        left = [f for f in os.listdir(os.path.join(home, "blobs"))]
        check("removing the last names frees the blob", removed.returncode == 0 and not os.path.exists(blob), removed.stdout + str(left))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
