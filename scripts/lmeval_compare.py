"""lm-evaluation-harness against `hearth serve`, and `hearth eval`, on the same task files:
the built-in suite's. Imported by test-eval.py --lm-eval, and run on its own to make the
comparison table of the README:

    lmeval_compare.py HEARTH MODEL [--limit N] [--tasks a,b,...]

lm-eval reads each task's own task.yaml and data.jsonl, through a copy of the YAML that names
the data file by lm-eval's `dataset_path: json` (its loader does not resolve paths against the
YAML's folder) under the name `core_<task>` (lm-eval has tasks of its own called
`arithmetic`). Its `local-completions` model asks hearth serve for prompt log-probabilities
(`/v1/completions` with echo) and greedy generations; its tokenizer is the model's, as
transformers writes it from the GGUF file (for SmolLM2 with its digit-splitting
pre-tokenizer put back, which transformers drops). Compared: accuracies, every choice's
log-likelihood, rolling perplexities, generated and filtered texts, exact match.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, free_port  # noqa: E402

SUITE = Path(__file__).resolve().parent.parent / "Sources/HearthEval/Suites/core"
TASKS = ["definitions", "synonyms", "devils_dictionary", "antonyms", "arithmetic"]
LIMIT = 100


def lmeval_yaml(task, out):
    """The task's own YAML for lm-eval: the data file by absolute path, named core_<task>."""
    text = (SUITE / task / "task.yaml").read_text()
    data = SUITE / task / "data.jsonl"
    text = text.replace(f"task: {task}\n", f"task: core_{task}\n")
    text = text.replace("dataset_path: data.jsonl\n", f"dataset_path: json\ndataset_kwargs: {{data_files: {{test: {data}}}}}\ntest_split: test\n")
    path = out / f"core_{task}.yaml"
    path.write_text(text + "metadata: {version: 1.0}\n")
    return path


def tokenizer_folder(model, out):
    """The model's tokenizer for lm-eval: transformers' from the GGUF file; SmolLM2's digit
    split restored (transformers drops it)."""
    from transformers import AutoTokenizer
    folder, name = os.path.split(os.path.abspath(model))
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
    if "smollm2" not in name.lower():
        return
    path = Path(out, "tokenizer.json")
    tok = json.load(open(path))
    tok["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    path.write_text(json.dumps(tok))


def kind(task):
    """The task's output_type, from its own YAML."""
    return next(l.split(": ", 1)[1] for l in (SUITE / task / "task.yaml").read_text().splitlines() if l.startswith("output_type:"))


def run(hearth, model, work, tasks=TASKS, limit=LIMIT):
    """Runs both tools on `tasks` (their first `limit` docs), checks that they agree, and
    returns {task: {"hearth": metrics, "lm-eval": metrics}} and the two wall times."""
    work = Path(work, "lmeval")
    work.mkdir()
    for t in tasks:
        lmeval_yaml(t, work)
    tokenizer_folder(model, work / "tokenizer")

    # hearth eval on the suite's own files.
    start = time.time()
    r = subprocess.run([hearth, "eval", model, "--tasks", ",".join(tasks), "--limit", str(limit), "--output", str(work / "hearth")],
                       capture_output=True, text=True)
    hearth_seconds = time.time() - start
    check("hearth eval runs the suite's tasks", r.returncode == 0, r.stderr[-400:])
    if r.returncode != 0:
        return None
    ours = {t["task"]: t for t in json.load(open(work / "hearth/results.json"))["tasks"]}

    # lm-eval against hearth serve.
    port = free_port()
    served = Path(model).stem
    # One slot and one client: no batched decoding, so that greedy generations are the same
    # computation as hearth eval's.
    server = subprocess.Popen([hearth, "serve", model, "--port", str(port), "--parallel", "1", "--no-store"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        # The request lm-eval makes when the continuation's greedy next token ends generation:
        # the end token's log-probability must close the echoed list.
        body = json.dumps({"model": served, "prompt": "\nQ: What is rain made of?\nA: water", "max_tokens": 1, "temperature": 0,
                           "logprobs": 1, "echo": True}).encode()
        reply = json.load(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", body,
                                                                         {"Content-Type": "application/json"})))
        choice = reply["choices"][0]
        lp = choice["logprobs"]["token_logprobs"]
        generated = 1 if choice["finish_reason"] == "stop" else reply["usage"]["completion_tokens"]
        check("echo + logprobs lists every prompt token and the one drawn after it, also an end token",
              len(lp) == reply["usage"]["prompt_tokens"] + generated and lp[-1] is not None, json.dumps(choice)[:300])
        env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(work / "hf_home"), TOKENIZERS_PARALLELISM="false")
        start = time.time()
        lm = subprocess.run([sys.executable, "-m", "lm_eval", "--model", "local-completions", "--model_args",
                             f"model={served},base_url=http://127.0.0.1:{port}/v1/completions,tokenizer_backend=huggingface,"
                             f"tokenizer={work / 'tokenizer'},num_concurrent=1,max_retries=3,tokenized_requests=False",
                             "--include_path", str(work), "--tasks", ",".join(f"core_{t}" for t in tasks), "--limit", str(limit),
                             "--log_samples", "--output_path", str(work / "lm-eval")], capture_output=True, text=True, env=env)
        lm_seconds = time.time() - start
    finally:
        server.terminate()
        server.wait()
    check("lm-eval runs against hearth serve", lm.returncode == 0, lm.stderr[-800:])
    if lm.returncode != 0:
        return None
    results = json.load(open(next(work.glob("lm-eval/**/results_*.json"))))["results"]
    table = {}
    for t in tasks:
        theirs, mine = results[f"core_{t}"], ours[t]["metrics"]
        lm_samples = [json.loads(l) for l in open(next(work.glob(f"lm-eval/**/samples_core_{t}_*.jsonl")))]
        our_samples = {s["doc"]: s for s in map(json.loads, open(work / f"hearth/samples_{t}.jsonl"))}
        if kind(t) == "multiple_choice":
            metrics = {m: (mine[m]["value"], theirs[f"{m},none"]) for m in ["acc", "acc_norm"]}
            for m, (a, b) in metrics.items():
                check(f"{t} {m}: hearth eval {a * 100:.1f} and lm-eval through hearth serve {b * 100:.1f} agree within 0.5 points",
                      abs(a - b) <= 0.005)
            worst = 0.0
            for s in lm_samples:
                theirs_ll = [float(r[0][0]) for r in s["resps"]]
                worst = max([worst] + [abs(x - y) for x, y in zip(our_samples[s["doc_id"]]["logprobs"], theirs_ll)])
            check(f"{t}: every choice's log-likelihood agrees within 0.01 (worst {worst:.2e})", worst < 0.01)
        elif kind(t) == "loglikelihood_rolling":
            metrics = {m: (mine[m]["value"], theirs[f"{m},none"]) for m in ["word_perplexity", "byte_perplexity", "bits_per_byte"]}
            for m, (a, b) in metrics.items():
                check(f"{t} {m}: hearth eval {a:.4f} and lm-eval {b:.4f} agree within 0.1%", abs(a - b) <= 1e-3 * abs(b))
        else:
            key = next(k for k in theirs if k.startswith("exact_match,") and not k.startswith("exact_match_stderr"))
            metrics = {"exact_match": (mine["exact_match"]["value"], theirs[key])}
            a, b = metrics["exact_match"]
            check(f"{t} exact_match: hearth eval {a * 100:.1f} and lm-eval {b * 100:.1f} agree within 0.5 points", abs(a - b) <= 0.005)
            same_text = sum(our_samples[s["doc_id"]]["generated"] == s["resps"][0][0] for s in lm_samples)
            same_filtered = sum(our_samples[s["doc_id"]]["filtered"] == s["filtered_resps"][0] for s in lm_samples)
            check(f"{t}: the same generations ({same_text}/{len(lm_samples)}) and the same filtered answers ({same_filtered})",
                  same_text == len(lm_samples) and same_filtered == len(lm_samples))
        table[t] = metrics
    n = sum(ours[t]["samples"] for t in tasks)
    print(f"timing: hearth eval {hearth_seconds:.1f} s ({n / hearth_seconds:.2f} examples/s); "
          f"lm-eval + hearth serve {lm_seconds:.1f} s ({n / lm_seconds:.2f} examples/s); ratio {lm_seconds / hearth_seconds:.2f}x")
    return table, hearth_seconds, lm_seconds


def main():
    import argparse
    parser = argparse.ArgumentParser(description="hearth eval and lm-eval through hearth serve on the built-in suite's task files")
    parser.add_argument("hearth")
    parser.add_argument("model")
    parser.add_argument("--limit", type=int, default=LIMIT)
    parser.add_argument("--tasks", default=",".join(TASKS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hearth-lmeval-") as work:
        out = run(args.hearth, args.model, work, args.tasks.split(","), args.limit)
        if out:
            print("| task | metric | hearth eval | lm-eval + hearth serve |\n|---|---|---|---|")
            for t, metrics in out[0].items():
                for m, (a, b) in metrics.items():
                    print(f"| {t} | {m} | {a:.4f} | {b:.4f} |")
    finish()


if __name__ == "__main__":
    main()
