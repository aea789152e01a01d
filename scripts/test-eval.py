#!/usr/bin/env python3
"""Tests `hearth eval` through the binary.

    test-eval.py HEARTH MODEL [--lm-eval]

- Perplexity: a .txt task gives exactly `hearth perplexity`'s value on the same text and chunks.
- The built-in suite (`--tasks core`): every task runs; each task file's digest is the sha256
  of its task.yaml and data.jsonl; the prompts in the sample logs are the documented formats,
  rebuilt here from data.jsonl on their own, with the gold answers; a missing suite folder is
  an error that says where it looked.
- BIG-bench's task.json format (a task written here): the prompts in the sample log are
  BIG-bench's default format, rebuilt here from task.json on their own.
- A task file with a typo, a dataset row that is not JSON, and an unknown task are refused,
  naming the file and line.
- A run killed part way resumes from its cache: the finished examples are not computed again,
  and the results equal an uninterrupted run's.
- With --lm-eval (lm-evaluation-harness installed in this Python): on the built-in suite's
  task files, lm-eval's `local-completions` model against `hearth serve` (prompt
  log-probabilities via /v1/completions with echo) and `hearth eval` agree (see
  lmeval_compare.py).
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import bigbench_gold, bigbench_prompt, check, finish  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEXT = ROOT.parent / "shared/vectors/ppl-text.txt"


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


SUITE = ROOT / "Sources/HearthEval/Suites/core"


def description(task):
    """The task's description, from its task.yaml (a double-quoted string, JSON's escapes)."""
    line = next((l for l in (SUITE / task / "task.yaml").read_text().splitlines() if l.startswith("description: ")), None)
    return json.loads(line[len("description: "):]) if line else ""


def core_prompt(task, doc):
    """The prompt of a built-in task's doc, as its README and task.yaml document it: the
    description, then the doc's text."""
    if task == "definitions":
        text = f"Definition: {doc['definition']}\nWord:"
    elif task == "synonyms":
        text = f"Which word is closest in meaning to \"{doc['word']}\"?\n" + "".join(f"{l}. {c}\n" for l, c in zip("ABCD", doc["choices"])) + "Answer:"
    elif task == "hypernyms":
        text = f"Word: {doc['word']}\nIt is a kind of:"
    elif task == "elements":
        text = doc["question"]
    elif task == "antonyms":
        text = f"{doc['word']} ->"
    elif task == "arithmetic":
        text = f"Question: What is {doc['a']} {doc['op']} {doc['b']}?\nAnswer:"
    return description(task) + text


def test_core_suite(hearth, model, work):
    tasks = sorted(p.name for p in SUITE.iterdir() if p.is_dir())
    check("the core suite has its seven tasks", tasks == ["antonyms", "arithmetic", "definitions", "devils_dictionary", "elements", "hypernyms", "synonyms"],
          str(tasks))
    r = run(hearth, "eval", model, "--tasks", "core", "--limit", "6", "--output", f"{work}/core")
    check("hearth eval --tasks core runs every task of the suite", r.returncode == 0, r.stderr[-400:])
    if r.returncode != 0:
        return
    results = {t["task"]: t for t in json.load(open(f"{work}/core/results.json"))["tasks"]}
    check("...and reports each of them", sorted(results) == tasks, str(sorted(results)))
    for name in tasks:
        folder = SUITE / name
        digest = "sha256:" + hashlib.sha256((folder / "task.yaml").read_bytes() + (folder / "data.jsonl").read_bytes()).hexdigest()
        check(f"{name}: the reported file digest is sha256(task.yaml + data.jsonl)", results[name]["fileDigest"] == digest,
              f"{results[name]['fileDigest']} vs {digest}")
        docs = [json.loads(l) for l in open(folder / "data.jsonl")][:6]
        samples = [json.loads(l) for l in open(f"{work}/core/samples_{name}.jsonl")]
        if name == "devils_dictionary":
            check(f"{name}: word perplexity and bits per byte over 6 entries",
                  results[name]["samples"] == 6 and results[name]["metrics"]["bits_per_byte"]["value"] > 0, json.dumps(results[name])[:300])
            continue
        expected = [core_prompt(name, d) for d in docs]
        check(f"{name}: prompts are the documented format", [s["prompt"] for s in samples] == expected,
              f"{samples[0]['prompt']!r} vs {expected[0]!r}")
        if "answer" in docs[0] and isinstance(docs[0]["answer"], int):
            check(f"{name}: gold answers are the data's", [s["gold"] for s in samples] == [d["answer"] for d in docs])
    # The suite's folder is found beside the binary; HEARTH_SUITES points elsewhere.
    r = run(hearth, "eval", model, "--tasks", "core", "--output", f"{work}/nowhere", env=dict(os.environ, HEARTH_SUITES=f"{work}/no-such-folder"))
    check("a missing suites folder is an error naming it", r.returncode != 0 and "no-such-folder" in r.stderr and "Fatal" not in r.stderr, r.stderr[-300:])
    r = run(hearth, "eval", model, "--tasks", "antonym", "--output", f"{work}/nowhere")
    check("an unknown task name lists the built-in tasks", r.returncode != 0 and "unknown task 'antonym'" in r.stderr and "antonyms" in r.stderr,
          r.stderr[-300:])


def test_perplexity(hearth, model, work):
    r = run(hearth, "eval", model, "--tasks", TEXT, "--ctx", "256", "--output", f"{work}/ppl")
    p = run(hearth, "perplexity", model, TEXT, "--ctx", "256")
    got = json.load(open(f"{work}/ppl/results.json"))["tasks"][0]["metrics"]["perplexity"]["value"] if r.returncode == 0 else None
    want = next((float(l.split("=")[1].split("+/-")[0]) for l in p.stdout.splitlines() if "Final estimate" in l), None)
    check("perplexity task equals hearth perplexity (same text, chunks of 256)", got is not None and want is not None and abs(got - want) < 1e-3,
          f"{got} vs {want}; {r.stderr[-300:]}")


def test_bigbench_format(hearth, model, work):
    """A task in BIG-bench's task.json format, written here (BIG-bench's own data is not needed)."""
    folder = Path(work, "bigbench/opposites")
    folder.mkdir(parents=True)
    task = {"name": "opposites", "task_prefix": "Choose the opposite.\n", "keywords": ["antonyms"], "metrics": ["multiple_choice_grade"],
            "examples": [{"input": f"The opposite of {w}", "target_scores": {a: 1, b: 0, c: 0}}
                         for w, a, b, c in [("hot", "cold", "warm", "red"), ("up", "down", "over", "high"), ("wet", "dry", "damp", "blue"),
                                            ("early", "late", "soon", "first"), ("full", "empty", "whole", "heavy")]]}
    (folder / "task.json").write_text(json.dumps(task))
    r = run(hearth, "eval", model, "--tasks", "opposites", "--bigbench", folder.parent, "--output", f"{work}/bb")
    check("hearth eval runs a BIG-bench task by name from --bigbench", r.returncode == 0, r.stderr[-400:])
    if r.returncode != 0:
        return
    samples = [json.loads(l) for l in open(f"{work}/bb/samples_opposites.jsonl")]
    expected = [bigbench_prompt(task, e) for e in task["examples"]]
    check("its prompts are BIG-bench's default format", [s["prompt"] for s in samples] == expected, f"{samples[0]['prompt']!r} vs {expected[0]!r}")
    check("its gold answers are the best-scored choices", [s["gold"] for s in samples] == [bigbench_gold(e) for e in task["examples"]])
    results = json.load(open(f"{work}/bb/results.json"))
    check("results.json records the model's sha256 and each task file's", results["model"]["digest"].startswith("sha256:")
          and all(t["fileDigest"].startswith("sha256:") for t in results["tasks"]))
    check("results.md has a row for the task", "| opposites |" in open(f"{work}/bb/results.md").read())


def test_bad_input(hearth, model, work):
    d = Path(work, "bad")
    d.mkdir()
    (d / "data.jsonl").write_text('{"q": "a", "options": ["x", "y"], "answer": 0}\n{"q": "b", "options": ["x"], "answer": 0\n')
    base = 'dataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_text: "{{q}}"\ndoc_to_choice: options\ndoc_to_target: answer\n'
    (d / "typo.yaml").write_text(base + "num_fewshots: 2\n")
    (d / "good.yaml").write_text(base)
    for name, task, words in [("a typo in the task file", d / "typo.yaml", ["typo.yaml:6", "num_fewshots"]),
                              ("a dataset row that is not JSON", d / "good.yaml", ["data.jsonl:2", "not a JSON object"]),
                              ("an unknown task", "no_such_task", ["unknown task 'no_such_task'"])]:
        r = run(hearth, "eval", model, "--tasks", task, "--output", f"{work}/bad-out")
        check(f"{name} is refused, naming it", r.returncode != 0 and all(w in r.stderr for w in words) and "Fatal" not in r.stderr,
              r.stderr[-300:])


def test_resume(hearth, model, work):
    args = [hearth, "eval", model, "--tasks", "definitions", "--limit", "60"]
    out = f"{work}/resume"
    p = subprocess.Popen([str(a) for a in args + ["--output", out]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cache = Path(out, "cache.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and (not cache.exists() or len(cache.read_text().splitlines()) < 20):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = len(cache.read_text().splitlines()) if cache.exists() else 0
    check("the first run is killed part way", 0 < done < 60, f"{done} cached")
    r = run(*args, "--output", out)
    check("the second run finishes", r.returncode == 0, r.stderr[-300:])
    resumed = json.load(open(f"{out}/results.json"))["tasks"][0]
    check(f"the second run takes the {done}+ finished examples from the cache", resumed["cachedSamples"] >= done, str(resumed["cachedSamples"]))
    r = run(*args, "--output", f"{work}/fresh")
    fresh = json.load(open(f"{work}/fresh/results.json"))["tasks"][0]
    check("the resumed results equal an uninterrupted run's", resumed["metrics"] == fresh["metrics"], f"{resumed['metrics']} vs {fresh['metrics']}")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    hearth, model = args
    with tempfile.TemporaryDirectory(prefix="hearth-eval-") as work:
        test_perplexity(hearth, model, work)
        test_core_suite(hearth, model, work)
        test_bigbench_format(hearth, model, work)
        test_bad_input(hearth, model, work)
        test_resume(hearth, model, work)
        if "--lm-eval" in sys.argv:
            import lmeval_compare
            lmeval_compare.run(hearth, model, work)
    finish()


if __name__ == "__main__":
    main()
