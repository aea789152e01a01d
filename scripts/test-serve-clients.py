#!/usr/bin/env python3
"""End-to-end test of `hearth serve` with the official `openai` and `ollama` Python clients.

Starts the real server binary on a free port with the real model, drives it with the clients
(as users' tools do), and checks what comes back against `hearth run` (the engine's greedy
output for the same chat) and against the APIs' documented shapes. Exits non-zero on the first
failed check, printing what was expected and what came.

    scripts/test-serve-clients.py HEARTH_BINARY MODEL.gguf

scripts/test.sh runs it in a virtual environment with both clients installed from PyPI.
"""
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import jsonschema
import ollama
import openai

from checks import check, finish, free_port


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    hearth, model_path = sys.argv[1], sys.argv[2]
    model = os.path.basename(model_path)[: -len(".gguf")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.environ.get("HEARTH_SERVE_LOG", os.devnull), "w")
    # A store of its own, holding the model under a name, served beside the file.
    home = tempfile.mkdtemp(prefix="hearth-serve-test-")
    os.environ["HEARTH_HOME"] = home
    subprocess.run([hearth, "import", model_path, "smollm2"], check=True, capture_output=True)
    server = subprocess.Popen([hearth, "serve", model_path, "--port", str(port), "--ctx-size", "1024",
                               "--parallel", "2", "--queue", "8"], stdout=log, stderr=log)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if server.poll() is not None or time.time() > deadline:
                sys.exit(f"the server did not become healthy (exit code {server.poll()})")
            time.sleep(0.2)
        run_checks(hearth, model_path, model, base)
        store_checks(hearth, model_path, base, home)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
            check("SIGTERM stops the server cleanly", code == 0, f"exit code {code}")
        except subprocess.TimeoutExpired:
            server.kill()
            check("SIGTERM stops the server cleanly", False, "still running 20 s after SIGTERM")
        shutil.rmtree(home, ignore_errors=True)
    finish()


def run_checks(hearth, model_path, model, base):
    question = "What is the capital of Germany?"
    engine = subprocess.run([hearth, "run", model_path, "--chat", "--temperature", "0", "-n", "24", question],
                            capture_output=True, text=True, check=True).stdout.rstrip("\n")

    client = openai.OpenAI(base_url=base + "/v1", api_key="not-needed", max_retries=0)
    models = [m.id for m in client.models.list()]
    check("openai: models.list names the model", model in models, str(models))

    chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                          temperature=0, max_tokens=24)
    content = chat.choices[0].message.content
    check("openai: greedy chat equals `hearth run --chat` (the engine)", content == engine,
          f"API: {content!r}\nengine: {engine!r}")
    check("openai: usage counts tokens", chat.usage.completion_tokens > 0 and
          chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens, str(chat.usage))

    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                            temperature=0, max_tokens=24, stream=True,
                                            stream_options={"include_usage": True})
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    check("openai: streamed chat adds up to the same text", "".join(pieces) == content, repr("".join(pieces)))
    check("openai: stream ends with a finish reason and usage", finish in ("stop", "length") and usage is not None,
          f"finish={finish} usage={usage}")

    several = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Name a colour."}],
                                             n=3, temperature=1.0, seed=5, max_tokens=8)
    check("openai: n=3 gives three choices, indexed 0-2",
          sorted(c.index for c in several.choices) == [0, 1, 2] and all(c.message.content for c in several.choices),
          str(several.choices))
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}], n=2,
                                            temperature=0, max_tokens=24, stream=True, stream_options={"include_usage": True})
    texts, finishes, usage = {0: "", 1: ""}, {}, None
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
            if c.finish_reason:
                finishes[c.index] = c.finish_reason
        usage = chunk.usage or usage
    check("openai: streamed n=2 chat: each choice's chunks add up to the greedy answer (the engine's)",
          texts[0] == engine and texts[1] == engine and set(finishes) == {0, 1} and usage is not None
          and usage.completion_tokens == 2 * chat.usage.completion_tokens, f"{texts} {finishes} {usage}")

    lp = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                        temperature=0, max_tokens=8, logprobs=True, top_logprobs=3)
    entries = lp.choices[0].logprobs.content
    check("openai: chat logprobs, one entry per token with 3 alternatives",
          len(entries) == lp.usage.completion_tokens and all(len(e.top_logprobs) == 3 for e in entries)
          and all(e.logprob <= 0 for e in entries), str(entries[:2]))
    check("openai: greedy tokens are the most likely ones",
          all(abs(e.logprob - max(t.logprob for t in e.top_logprobs)) < 1e-5 for e in entries))

    prompt = "The capital of France is Paris. The capital of Italy is"
    comp = client.completions.create(model=model, prompt=prompt, max_tokens=0, echo=True, logprobs=1, temperature=0)
    lps = comp.choices[0].logprobs
    check("openai: completions echo returns the prompt", comp.choices[0].text == prompt, repr(comp.choices[0].text))
    check("openai: prompt logprobs: null first, then one finite value per token",
          lps.token_logprobs[0] is None and len(lps.token_logprobs) == len(lps.tokens) > 5
          and all(v is not None and math.isfinite(v) and v <= 0 for v in lps.token_logprobs[1:]),
          str(lps.token_logprobs[:4]))
    gen = client.completions.create(model=model, prompt=prompt, max_tokens=3, temperature=0)
    check("openai: completion continues with ' Rome'", gen.choices[0].text.startswith(" Rome"), repr(gen.choices[0].text))
    other = "The capital of France is"
    alone = client.completions.create(model=model, prompt=other, max_tokens=6, temperature=0).choices[0].text
    first = client.completions.create(model=model, prompt=prompt, max_tokens=6, temperature=0).choices[0].text
    batch = client.completions.create(model=model, prompt=[prompt, other], n=2, max_tokens=6, temperature=0)
    by_index = {c.index: c.text for c in batch.choices}
    check("openai: completions with 2 prompts and n=2: choice p*n+i answers prompt p, as one request each would",
          by_index == {0: first, 1: first, 2: alone, 3: alone}, f"{by_index} vs {first!r} {alone!r}")
    pieces = {0: "", 1: "", 2: ""}
    for chunk in client.completions.create(model=model, prompt=other, n=3, max_tokens=6, temperature=0, stream=True):
        for c in chunk.choices:
            pieces[c.index] += c.text
    check("openai: streamed completions with n=3 add up per index", all(p == alone for p in pieces.values()), str(pieces))

    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
        check("openai: unknown model is NotFoundError", False, "no error")
    except openai.NotFoundError as e:
        check("openai: unknown model is NotFoundError naming it", "no-such-model" in str(e), str(e))
    try:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=5000)
        check("openai: prompt + max_tokens over the context is BadRequestError", False, "no error")
    except openai.BadRequestError as e:
        check("openai: prompt + max_tokens over the context is BadRequestError naming both numbers",
              "5000" in str(e) and "1024" in str(e), str(e))

    golden = json.load(open(os.path.join(os.path.dirname(__file__), "..", "Tests", "HearthServerTests", "Golden",
                                         "smollm2-embeddings.json")))

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    emb = client.embeddings.create(model=model, input=golden["texts"])  # the client asks for base64
    sims = [cosine(d.embedding, g) for d, g in zip(emb.data, golden["embeddings"])]
    check("openai: embeddings equal llama.cpp's (cosine > 0.999)", len(sims) == 3 and min(sims) > 0.999, str(sims))
    print(f"      cosine similarity with llama.cpp: {', '.join(f'{x:.6f}' for x in sims)}")

    # Constrained decoding: every answer parses and validates against the schema (jsonschema is
    # the oracle), at several seeds; an answer cut by max_tokens says "length".
    schema = {"type": "object", "properties": {
        "name": {"type": "string"}, "age": {"type": "integer"},
        "colors": {"type": "array", "items": {"type": "string", "enum": ["black", "white", "orange"]}},
        "indoor": {"type": "boolean"}}, "required": ["name", "age", "colors", "indoor"], "additionalProperties": False}
    finished = 0
    for seed in range(1, 7):
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Describe a cat as JSON."}],
                                           temperature=0.8, seed=seed, max_tokens=160,
                                           response_format={"type": "json_schema",
                                                            "json_schema": {"name": "cat", "schema": schema}})
        if r.choices[0].finish_reason != "stop":
            continue
        finished += 1
        try:
            jsonschema.validate(json.loads(r.choices[0].message.content), schema)
            check(f"openai: json_schema output (seed {seed}) parses and validates", True)
        except Exception as e:
            check(f"openai: json_schema output (seed {seed}) parses and validates", False, f"{e}\n{r.choices[0].message.content!r}")
    check("openai: most json_schema answers finish within 160 tokens", finished >= 3, f"{finished} of 6")
    obj = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "A person as JSON."}],
                                         temperature=0, max_tokens=100, response_format={"type": "json_object"})
    try:
        check("openai: json_object output is a JSON object", isinstance(json.loads(obj.choices[0].message.content), dict))
    except ValueError as e:
        check("openai: json_object output is a JSON object", False, f"{e}: {obj.choices[0].message.content!r}")
    try:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}],
                                       response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {
                                           "type": "string", "pattern": "^a+$"}}})
        check("openai: an unsupported schema keyword is a BadRequestError", False, "no error")
    except openai.BadRequestError as e:
        check("openai: an unsupported schema keyword is a BadRequestError naming it", "pattern" in str(e), str(e))

    # A tool call, forced, and its result sent back.
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                       "required": ["city"], "additionalProperties": False}}}]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = client.chat.completions.create(model=model, messages=messages, tools=tools, tool_choice="required",
                                       temperature=0, max_tokens=60)
    calls = r.choices[0].message.tool_calls or []
    ok = r.choices[0].finish_reason == "tool_calls" and len(calls) == 1 and calls[0].function.name == "get_weather"
    try:
        jsonschema.validate(json.loads(calls[0].function.arguments), tools[0]["function"]["parameters"])
    except Exception as e:
        ok = False
        print(f"      {e}")
    check("openai: a required tool call names the tool with arguments that validate", ok, str(r.choices[0]))
    # With two tools, a required call's arguments follow the schema of the function it names.
    both = tools + [{"type": "function", "function": {
        "name": "add", "description": "Add two whole numbers",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                       "required": ["a", "b"], "additionalProperties": False}}}]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in both}
    named, problems = set(), []
    for seed, ask_tools in enumerate(["What is the weather in Paris?", "What is 2 plus 3?", "Add 10 and 32.", "Is it raining in Oslo?"]):
        two = client.chat.completions.create(model=model, messages=[{"role": "user", "content": ask_tools}], tools=both,
                                           tool_choice="required", temperature=0.7, seed=seed, max_tokens=60)
        for call in two.choices[0].message.tool_calls or []:
            named.add(call.function.name)
            try:
                jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])
            except Exception as e:
                problems.append(f"{call.function.name}: {e}")
        if not two.choices[0].message.tool_calls:
            problems.append(f"no call: {two.choices[0]}")
    check("openai: with two tools, each required call's arguments validate against the function it names",
          not problems, "; ".join(problems) + f" (named: {named})")
    if calls:
        messages += [r.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": calls[0].id, "content": "18 degrees and sunny"}]
        follow = client.chat.completions.create(model=model, messages=messages, tools=tools, temperature=0, max_tokens=30)
        check("openai: the tool's result goes back in and the model answers", follow.choices[0].finish_reason in ("stop", "length", "tool_calls"),
              str(follow.choices[0]))

    # Four clients at once on two slots: every one gets its whole answer.
    results = [None] * 4

    def ask(i):
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": f"Count to {i + 3}."}],
                                           temperature=0, max_tokens=20)
        results[i] = r.choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("openai: four concurrent chats all answered", all(r for r in results), str(results))

    # A client that goes away mid-stream: its slot is freed.
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Tell me a long story."}],
                                            temperature=0, max_tokens=500, stream=True)
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    running = None
    for _ in range(50):
        metrics = urllib.request.urlopen(base + "/metrics").read().decode()
        running = next(l for l in metrics.splitlines() if l.startswith("hearth_requests_running "))
        if running.endswith(" 0"):
            break
        time.sleep(0.1)
    check("a client that disconnects frees its slot", running is not None and running.endswith(" 0"), running)

    # A client that goes away while waiting for a whole (not streamed) answer: the job stops
    # long before the answer's full length (measured first, the same request run to its end),
    # and its slot is freed.
    def gauge(name):
        metrics = urllib.request.urlopen(base + "/metrics").read().decode()
        return float(next(l for l in metrics.splitlines() if l.startswith(name + " ")).split()[1])
    request = {"model": model, "prompt": "Once upon a time", "max_tokens": 900, "temperature": 1.0, "seed": 3}
    full = client.completions.create(**request).usage.completion_tokens
    generated_before = gauge("hearth_generated_tokens_total")
    body = json.dumps(request).encode()
    sock = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.5)
    sock.close()
    freed = False
    for _ in range(30):
        if gauge("hearth_requests_running") == 0:
            freed = True
            break
        time.sleep(0.1)
    time.sleep(0.5)
    generated = gauge("hearth_generated_tokens_total") - generated_before
    check("a client that disconnects from a non-streamed request cancels its job",
          full >= 300 and freed and generated < full / 2, f"freed={freed}, {generated:.0f} of {full} tokens generated")
    kv = {l.split()[0]: float(l.split()[1]) for l in metrics.splitlines() if l.startswith("hearth_kv_cache")}
    check("metrics: KV cache use is reported", 0 < kv.get("hearth_kv_cache_tokens", 0) <= kv.get("hearth_kv_cache_capacity_tokens", 0),
          str(kv))

    oc = ollama.Client(host=base)
    names = [m.model for m in oc.list().models]
    check("ollama: list names the model", model in names, str(names))
    shown = oc.show(model)
    check("ollama: show gives GGUF details", shown.details.format == "gguf" and shown.details.family == "llama",
          str(shown.details))
    answer = oc.chat(model=model, messages=[{"role": "user", "content": question}],
                     options={"temperature": 0, "num_predict": 24, "repeat_penalty": 1})
    check("ollama: greedy chat equals the engine", answer.message.content == engine,
          f"API: {answer.message.content!r}\nengine: {engine!r}")
    check("ollama: the final answer carries counts and durations",
          answer.done and answer.eval_count > 0 and answer.total_duration > 0, str(answer))
    parts, last = [], None
    for part in oc.generate(model=model, prompt=question, stream=True, options={"temperature": 0, "num_predict": 12}):
        parts.append(part.response)
        last = part
    check("ollama: streamed generate ends with done, a reason and eval_count",
          last is not None and last.done and last.done_reason in ("stop", "length") and 0 < last.eval_count <= 12
          and len("".join(parts)) > 0, str(last))
    validated = None
    for seed in range(1, 7):
        answer = oc.chat(model=model, messages=[{"role": "user", "content": "Describe a cat as JSON."}], format=schema,
                         options={"temperature": 0.8, "seed": seed, "num_predict": 160})
        if answer.done_reason != "stop":
            continue
        try:
            jsonschema.validate(json.loads(answer.message.content), schema)
            validated = True
        except Exception as e:
            validated = False
            check("ollama: format=schema output parses and validates", False, f"{e}\n{answer.message.content!r}")
        break
    check("ollama: format=schema output parses and validates", validated is True, "no seed finished within 160 tokens")
    embedded = oc.embed(model=model, input=golden["texts"])
    sims = [cosine(e, g) for e, g in zip(embedded.embeddings, golden["embeddings"])]
    check("ollama: embed equals llama.cpp's (cosine > 0.999)", len(sims) == 3 and min(sims) > 0.999, str(sims))
    try:
        oc.chat(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
        check("ollama: unknown model is a 404 ResponseError", False, "no error")
    except ollama.ResponseError as e:
        check("ollama: unknown model is a 404 ResponseError", e.status_code == 404, f"{e.status_code} {e}")


def store_checks(hearth, model_path, base, home):
    """The store's models through the Ollama API: listed with their manifest digests, made
    with /api/create, their SYSTEM and PARAMETER lines applied, copied and deleted."""
    oc = ollama.Client(host=base)
    listed = {m.model: m for m in oc.list().models}
    manifest = os.path.join(home, "manifests", "local", "library", "smollm2", "latest")
    with open(manifest, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    check("store: list names the stored model with the sha256 of its manifest",
          "smollm2:latest" in listed and listed["smollm2:latest"].digest == digest, str(listed.keys()))

    system = "You are a pirate. Answer in one short sentence."
    question = "Where is the treasure?"
    statuses = [s.status for s in oc.create(model="pirate", from_="smollm2", system=system, stream=True,
                                            parameters={"temperature": 0, "num_predict": 24, "repeat_penalty": 1})]
    check("store: create from a stored model streams statuses ending in success", statuses[-1:] == ["success"], str(statuses))
    shown = oc.show("pirate")
    check("store: show gives the system message (in the Modelfile) and parameters", f"SYSTEM {system}" in (shown.modelfile or "") and
          "temperature 0" in (shown.parameters or "") and "num_predict 24" in (shown.parameters or ""),
          f"{shown.modelfile!r} {shown.parameters!r}")
    # The oracle: the engine on the file with the same system message, greedy.
    engine = subprocess.run([hearth, "run", model_path, "--system", system, "--temperature", "0", "-n", "24", question],
                            capture_output=True, text=True, check=True).stdout.rstrip("\n")
    answer = oc.chat(model="pirate", messages=[{"role": "user", "content": question}])
    check("store: a created model's SYSTEM and PARAMETERs apply (equals the engine given them)",
          answer.message.content == engine and answer.eval_count <= 24, f"API: {answer.message.content!r}\nengine: {engine!r}")
    by_name = subprocess.run([hearth, "run", "pirate", "--chat", question], capture_output=True, text=True, check=True).stdout.rstrip("\n")
    check("store: hearth run by store name applies them too", by_name == engine, f"run: {by_name!r}\nengine: {engine!r}")

    oc.copy("pirate", "crew/pirate:v2")
    names = [m.model for m in oc.list().models]
    check("store: copy adds the name", "crew/pirate:v2" in names, str(names))
    oc.delete("crew/pirate:v2")
    names = [m.model for m in oc.list().models]
    check("store: delete removes it", "crew/pirate:v2" not in names and "pirate:latest" in names, str(names))
    for what, call, status in [
        ("deleting a missing model is a 404", lambda: oc.delete("crew/pirate:v2"), 404),
        ("copying a missing model is a 404", lambda: oc.copy("nobody", "x"), 404),
        ("a name with '..' is a 400", lambda: oc.create(model="../evil", from_="smollm2"), 400),
        ("an Ollama Go TEMPLATE is a 400", lambda: oc.create(model="t", from_="smollm2", template="{{ .Prompt }}"), 400),
        ("an unknown PARAMETER is a 400", lambda: oc.create(model="t", from_="smollm2", parameters={"colour": 1}), 400),
    ]:
        try:
            call()
            check(f"store: {what}", False, "no error")
        except ollama.ResponseError as e:
            check(f"store: {what}", e.status_code == status, f"{e.status_code} {e}")


if __name__ == "__main__":
    main()
