#!/usr/bin/env python3
"""The `hearth` command line as a user meets it: every command's help, and the errors of
common mistakes.

    scripts/test-cli.py HEARTH_BINARY MODEL.gguf

- `hearth --help` lists every command; `hearth CMD --help` (and the hub's subcommands) exits
  0, starts with an overview and a usage line, and keeps to 80 columns (but the usage line).
- Mistakes (a missing or unreadable model, a bad option value, an unknown task or command)
  exit non-zero with one line that names the problem, never a crash or a stack trace.
- `hearth run` writes only the generated text to standard output (scripts read it); its
  numbers go to standard error.
"""
import os
import re
import subprocess
import sys
import tempfile

from checks import check, finish

hearth, model = sys.argv[1], sys.argv[2]


def run(*args, home):
    return subprocess.run([hearth, *args], capture_output=True, text=True, timeout=300, env=dict(os.environ, HEARTH_HOME=home))


def crashed(r):
    return r.returncode < 0 or "Fatal error" in r.stderr or "Stack dump" in r.stderr or "Current stack trace" in r.stderr


def main():
    home = tempfile.mkdtemp(prefix="hearth-cli-")
    top = run("--help", home=home)
    commands = re.findall(r"^  ([a-z]+)(?:, [a-z]+)? {2,}", top.stdout, re.M)
    check("hearth --help lists the commands", top.returncode == 0 and {"run", "serve", "eval", "quantize", "hub"} <= set(commands),
          top.stdout[-400:])
    for path in [[c] for c in commands] + [["hub", c] for c in ["serve", "user", "org", "token", "private", "reproduce"]]:
        r = run(*path, "--help", home=home)
        # ArgumentParser writes the USAGE line unwrapped; the rest is the project's text.
        wide = [line for line in r.stdout.splitlines() if len(line) > 80 and not line.startswith("USAGE:")]
        check(f"hearth {' '.join(path)} --help: an overview, a usage line, 80 columns",
              r.returncode == 0 and r.stdout.startswith("OVERVIEW:") and "USAGE: hearth " + " ".join(path) in r.stdout and not wide,
              f"exit {r.returncode}; wide: {wide[:2]}; {r.stderr[-200:]}")

    missing = os.path.join(home, "nothing.gguf")
    not_gguf = os.path.join(home, "text.gguf")
    with open(not_gguf, "w") as f:
        f.write("this is not a model\n")
    mistakes = [
        (["run", missing, "Hi"], ["nothing.gguf"]),
        (["run", not_gguf, "Hi"], ["text.gguf"]),
        (["run", model, "--temperature", "-1", "Hi"], ["temperature"]),
        (["run", model, "-n", "-5", "Hi"], ["max-tokens"]),
        (["run", model, "--threads", "0", "Hi"], ["threads"]),
        (["serve", "--port", "0", model], ["--port"]),
        (["serve", "--keep-alive", "forever", model], ["--keep-alive"]),
        (["serve", "--idle-timeout", "0", model], ["--idle-timeout"]),
        (["serve", "--allowed-origins", "not an origin", model], ["--allowed-origins"]),
        (["eval", model, "--tasks", "no_such_task"], ["no_such_task"]),
        (["eval", model, "--tasks", "core", "--limit", "0"], ["--limit"]),
        (["quantize", model, os.path.join(home, "out.gguf"), "--type", "Q9_X"], ["Q9_X"]),
        (["hub", "token", "--data", os.path.join(home, "hub")], ["user"]),
        (["perplexity", model, missing], ["nothing.gguf"]),
        (["no-such-command"], ["no-such-command"]),
    ]
    for args, words in mistakes:
        r = run(*args, home=home)
        lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
        check(f"hearth {' '.join(a if a not in (model, missing, not_gguf) else os.path.basename(a) for a in args)}: "
              f"refused, naming {words[0]}",
              r.returncode != 0 and not crashed(r) and all(w in r.stderr for w in words) and lines and not r.stdout.strip(),
              f"exit {r.returncode}; stderr {r.stderr[-300:]!r}; stdout {r.stdout[-200:]!r}")

    r = run("run", model, "-n", "8", "--temperature", "0", "--verbose", "Once upon a time", home=home)
    check("hearth run writes only the generated text to standard output, its numbers to standard error",
          r.returncode == 0 and r.stdout.strip() and "tokens/s" not in r.stdout and "tokens/s" in r.stderr,
          f"stdout {r.stdout!r}; stderr {r.stderr[-200:]!r}")
    finish()


main()
