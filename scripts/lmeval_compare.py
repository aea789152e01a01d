"""lm-evaluation-harness against `hearth serve`, and `hearth eval`, on the same data and
prompt format: imported by test-eval.py --lm-eval (which documents it).

Two BIG-bench tasks are written as JSON lines here, from task.json on their own (BIG-bench's
default prompt, choices sorted), with one task YAML each that both tools read; and two more
tasks: loglikelihood_rolling over paragraphs of the shared text (word and byte perplexity,
bits per byte) and generate_until on sums (regex filter, exact match). lm-eval's
`local-completions` model asks hearth serve for prompt log-probabilities (`/v1/completions`
with echo); its tokenizer is SmolLM2's, as transformers writes it from the GGUF file with
SmolLM2's digit-splitting pre-tokenizer put back (transformers drops it).
"""
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from checks import bigbench_gold, bigbench_prompt, check, free_port

TASKS = ["navigate", "winowhy"]
LIMIT = 300


def bigbench_jsonl(task_json, out):
    task = json.load(open(task_json))
    with open(out, "w") as f:
        for e in task["examples"]:
            f.write(json.dumps({"input": bigbench_prompt(task, e), "choices": list(e["target_scores"]), "gold": bigbench_gold(e)}) + "\n")


def rolling_jsonl(out):
    """Paragraphs of the shared perplexity text, each short enough for one window."""
    text = (Path(__file__).resolve().parent.parent.parent / "shared/vectors/ppl-text.txt").read_text()
    paragraphs = [p for p in text.split("\n\n") if 200 < len(p) < 1500][:8]
    with open(out, "w") as f:
        for p in paragraphs:
            f.write(json.dumps({"text": p + "\n"}) + "\n")


def arithmetic_jsonl(out):
    with open(out, "w") as f:
        for i in range(40):
            a, b = 3 + i * 7 % 50, 2 + i * 11 % 40
            f.write(json.dumps({"question": f"What is {a} + {b}?", "answer": str(a + b)}) + "\n")


def tokenizer_folder(model, out):
    """SmolLM2's tokenizer for lm-eval: transformers' from the GGUF, digit split restored."""
    from transformers import AutoTokenizer
    folder, name = os.path.split(os.path.abspath(model))
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
    path = Path(out, "tokenizer.json")
    tok = json.load(open(path))
    tok["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    path.write_text(json.dumps(tok))


def task_yaml(work, name, data, body):
    """A task YAML both tools read: the local JSON-lines file through lm-eval's json loader,
    then `body`."""
    path = work / f"{name}.yaml"
    path.write_text(f"task: {name}\ndataset_path: json\ndataset_kwargs: {{data_files: {{test: {data}}}}}\ntest_split: test\n"
                    + body + "metadata: {version: 1.0}\n")
    return path


def run(hearth, model, work, bigbench):
    work = Path(work, "lmeval")
    work.mkdir()
    yamls = []
    for t in TASKS:
        data = work / f"{t}.jsonl"
        bigbench_jsonl(bigbench / t / "task.json", data)
        yamls.append(task_yaml(work, f"bb_{t}", data, """output_type: multiple_choice
doc_to_text: input
doc_to_choice: choices
doc_to_target: gold
target_delimiter: ""
num_fewshot: 0
metric_list: [{metric: acc, aggregation: mean, higher_is_better: true}, {metric: acc_norm, aggregation: mean, higher_is_better: true}]
"""))
    rolling_jsonl(work / "paragraphs.jsonl")
    yamls.append(task_yaml(work, "rolling_text", work / "paragraphs.jsonl", """output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: text
metric_list: [{metric: word_perplexity}, {metric: byte_perplexity}, {metric: bits_per_byte}]
"""))
    arithmetic_jsonl(work / "arithmetic.jsonl")
    yamls.append(task_yaml(work, "arithmetic", work / "arithmetic.jsonl", """output_type: generate_until
description: "Question: What is 2 + 2?\\nAnswer: 4\\n\\nQuestion: What is 10 + 5?\\nAnswer: 15\\n\\n"
doc_to_text: "Question: {{question}}\\nAnswer:"
doc_to_target: answer
generation_kwargs: {until: ["\\n", "Question:"], max_gen_toks: 12, do_sample: false}
filter_list: [{name: number, filter: [{function: regex, regex_pattern: "(-?[0-9]+)"}, {function: take_first}]}]
metric_list: [{metric: exact_match, ignore_case: true}]
"""))
    tokenizer_folder(model, work / "tokenizer")

    # hearth eval on the same YAML files.
    start = time.time()
    r = subprocess.run([hearth, "eval", model, "--tasks", ",".join(map(str, yamls)), "--limit", str(LIMIT), "--output", str(work / "hearth")],
                       capture_output=True, text=True)
    hearth_seconds = time.time() - start
    check("hearth eval reads the lm-eval task YAML files", r.returncode == 0, r.stderr[-400:])
    if r.returncode != 0:
        return
    ours = {t["task"]: t for t in json.load(open(work / "hearth/results.json"))["tasks"]}

    # lm-eval against hearth serve.
    port = free_port()
    served = Path(model).stem
    # One slot and one client: no batched decoding, so that greedy generations are the same
    # computation as hearth eval's.
    server = subprocess.Popen([hearth, "serve", model, "--port", str(port), "--parallel", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
                             "--include_path", str(work), "--tasks", ",".join([f"bb_{t}" for t in TASKS] + ["rolling_text", "arithmetic"]), "--limit", str(LIMIT),
                             "--log_samples", "--output_path", str(work / "lm-eval")], capture_output=True, text=True, env=env)
        lm_seconds = time.time() - start
    finally:
        server.terminate()
        server.wait()
    check("lm-eval runs against hearth serve", lm.returncode == 0, lm.stderr[-800:])
    if lm.returncode != 0:
        return
    results = json.load(open(next(work.glob("lm-eval/**/results_*.json"))))["results"]
    for t in TASKS:
        theirs = results[f"bb_{t}"]
        for metric in ["acc", "acc_norm"]:
            a, b = ours[f"bb_{t}"]["metrics"][metric]["value"] * 100, theirs[f"{metric},none"] * 100
            check(f"bb_{t} {metric}: hearth eval {a:.1f} and lm-eval through hearth serve {b:.1f} agree within 0.5 points", abs(a - b) <= 0.5)
        # Per example: the log-likelihoods of every choice.
        lm_samples = [json.loads(l) for l in open(next(work.glob(f"lm-eval/**/samples_bb_{t}_*.jsonl")))]
        our_samples = {s["doc"]: s for s in map(json.loads, open(work / f"hearth/samples_bb_{t}.jsonl"))}
        worst = 0.0
        for s in lm_samples:
            theirs_ll = [float(r[0][0]) for r in s["resps"]]
            worst = max([worst] + [abs(x - y) for x, y in zip(our_samples[s["doc_id"]]["logprobs"], theirs_ll)])
        check(f"bb_{t}: every choice's log-likelihood agrees within 0.01 (worst {worst:.2e})", worst < 0.01)
    theirs = results["rolling_text"]
    for metric in ["word_perplexity", "byte_perplexity", "bits_per_byte"]:
        a, b = ours["rolling_text"]["metrics"][metric]["value"], theirs[f"{metric},none"]
        check(f"rolling_text {metric}: hearth eval {a:.4f} and lm-eval {b:.4f} agree within 0.1%", abs(a - b) <= 1e-3 * abs(b))
    a, b = ours["arithmetic"]["metrics"]["exact_match"]["value"] * 100, results["arithmetic"]["exact_match,number"] * 100
    check(f"arithmetic exact_match: hearth eval {a:.1f} and lm-eval {b:.1f} agree within 0.5 points", abs(a - b) <= 0.5)
    lm_samples = [json.loads(l) for l in open(next(work.glob("lm-eval/**/samples_arithmetic_*.jsonl")))]
    our_samples = {s["doc"]: s for s in map(json.loads, open(work / "hearth/samples_arithmetic.jsonl"))}
    same_text = sum(our_samples[s["doc_id"]]["generated"] == s["resps"][0][0] for s in lm_samples)
    same_filtered = sum(our_samples[s["doc_id"]]["filtered"] == s["filtered_resps"][0] for s in lm_samples)
    check(f"arithmetic: the same generations ({same_text}/{len(lm_samples)}) and the same filtered answers ({same_filtered})",
          same_text == len(lm_samples) and same_filtered == len(lm_samples))
    n = LIMIT * len(TASKS)
    print(f"timing: hearth eval {hearth_seconds:.1f} s ({n / hearth_seconds:.2f} examples/s); "
          f"lm-eval + hearth serve {lm_seconds:.1f} s ({n / lm_seconds:.2f} examples/s); ratio {lm_seconds / hearth_seconds:.2f}x")
