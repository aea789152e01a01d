#!/usr/bin/env python3
"""Tests `hearth eval` through the binary.

    test-eval.py HEARTH MODEL [--lm-eval]

- Perplexity: a .txt task gives exactly `hearth perplexity`'s value on the same text and chunks.
- BIG-bench (fetched by scripts/fetch-bigbench.sh): the prompts in the sample log are
  BIG-bench's default format, rebuilt here from task.json on their own.
- A task file with a typo, a dataset row that is not JSON, and an unknown task are refused,
  naming the file and line.
- A run killed part way resumes from its cache: the finished examples are not computed again,
  and the results equal an uninterrupted run's.
- With --lm-eval (lm-evaluation-harness installed in this Python): on two BIG-bench tasks,
  lm-eval's `local-completions` model against `hearth serve` (prompt log-probabilities via
  /v1/completions with echo) and `hearth eval` read the same local file through the same task
  YAML, and their accuracies agree within 0.5 points.
"""
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


def bigbench_root():
    return Path(subprocess.run([str(ROOT / "scripts/fetch-bigbench.sh")], capture_output=True, text=True, check=True).stdout.strip())


def test_perplexity(hearth, model, work):
    r = run(hearth, "eval", model, "--tasks", TEXT, "--ctx", "256", "--output", f"{work}/ppl")
    p = run(hearth, "perplexity", model, TEXT, "--ctx", "256")
    got = json.load(open(f"{work}/ppl/results.json"))["tasks"][0]["metrics"]["perplexity"]["value"] if r.returncode == 0 else None
    want = next((float(l.split("=")[1].split("+/-")[0]) for l in p.stdout.splitlines() if "Final estimate" in l), None)
    check("perplexity task equals hearth perplexity (same text, chunks of 256)", got is not None and want is not None and abs(got - want) < 1e-3,
          f"{got} vs {want}; {r.stderr[-300:]}")


def test_bigbench_prompts(hearth, model, work, root):
    r = run(hearth, "eval", model, "--tasks", "navigate,general_knowledge", "--limit", "5", "--output", f"{work}/bb", "--bigbench", root)
    check("hearth eval runs two BIG-bench tasks", r.returncode == 0, r.stderr[-400:])
    for name in ["navigate", "general_knowledge"]:
        task = json.load(open(root / name / "task.json"))
        samples = [json.loads(l) for l in open(f"{work}/bb/samples_{name}.jsonl")]
        expected = [bigbench_prompt(task, e) for e in task["examples"][:5]]
        check(f"{name}: prompts are BIG-bench's default format", [s["prompt"] for s in samples] == expected,
              f"{samples[0]['prompt']!r} vs {expected[0]!r}")
        golds = [bigbench_gold(e) for e in task["examples"][:5]]
        check(f"{name}: gold answers are the best-scored choices", [s["gold"] for s in samples] == golds)
    results = json.load(open(f"{work}/bb/results.json"))
    check("results.json records the model's sha256 and each task file's", results["model"]["digest"].startswith("sha256:")
          and all(t["fileDigest"].startswith("sha256:") for t in results["tasks"]))
    check("results.md has a row per task", all(f"| {n} |" in open(f"{work}/bb/results.md").read() for n in ["navigate", "general_knowledge"]))


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


def test_resume(hearth, model, work, root):
    args = [hearth, "eval", model, "--tasks", "winowhy", "--limit", "60", "--bigbench", root]
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
    root = bigbench_root()
    with tempfile.TemporaryDirectory(prefix="hearth-eval-") as work:
        test_perplexity(hearth, model, work)
        test_bigbench_prompts(hearth, model, work, root)
        test_bad_input(hearth, model, work)
        test_resume(hearth, model, work, root)
        if "--lm-eval" in sys.argv:
            import lmeval_compare
            lmeval_compare.run(hearth, model, work, root)
    finish()


if __name__ == "__main__":
    main()
