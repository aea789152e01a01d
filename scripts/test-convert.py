#!/usr/bin/env python3
"""Tests `hearth convert` against folders the official `transformers` library writes.

    test-convert.py HEARTH SMOLLM2_Q4_1.gguf [QWEN2.gguf]

Run with a Python that has torch, transformers, accelerate and gguf (scripts/test.sh makes
one). transformers loads the published GGUF, dequantizes it, undoes llama.cpp's query/key row
order and saves a Hugging Face folder (scripts/make-hf-folder.py; cached under
~/.cache/hearth/hf). Then:
- SmolLM2 (llama), float32: the pre-tokenizer named from tokenizer.json's structure (which
  transformers writes without SmolLM's digit split, so `--pre smollm` restores it); then
  `hearth convert`, then `hearth quantize --type Q4_1` with the
  published file's q8_0 embedding, gives every tensor of the published file byte for byte, the
  same tokenizer (tokens, types, merges, special ids, chat template), and the same greedy
  text on the shared vectors' prompts; the F16 conversion does too.
- `hearth quantize --report` on the F16 conversion: the table agrees with `hearth perplexity`
  and the files.
- Qwen2.5 (qwen2), bfloat16: every tensor of the conversion equals the published file's
  dequantized weights rounded to bfloat16 (numpy's rounding here), with the same tokenizer.
- A folder split into two safetensors shards with an index converts to the same tensors;
  a missing shard is refused by name.
- Bad folders (none, no config.json, bad JSON, an unknown architecture, a truncated
  safetensors file), an existing output and a quantized --type give clear errors and leave no
  output.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish, sha256  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT.parent / "shared/vectors/smollm2-q4_1.json"
CACHE = Path(os.environ.get("HEARTH_HF_CACHE", Path.home() / ".cache/hearth/hf"))


def hf_folder(model, dtype):
    """transformers' folder for `model` in `dtype`, made once and cached by the file's sha256."""
    out = CACHE / f"{Path(model).stem}-{sha256(model)[:12]}-{dtype}"
    if not (out / "config.json").exists():
        tmp = Path(str(out) + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([sys.executable, str(ROOT / "scripts/make-hf-folder.py"), model, str(tmp), dtype], check=True)
        tmp.rename(out)
    return str(out)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def field(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode() for i in f.data]
        return [f.parts[i].tolist() for i in f.data]
    part = f.parts[f.data[0]]
    return bytes(part).decode() if f.types[0] == gguf.GGUFValueType.STRING else part.tolist()


TOKENIZER_KEYS = ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                  "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.chat_template"]


def hyperparameter_keys(arch):
    return [f"{arch}.{k}" for k in ["block_count", "context_length", "embedding_length", "feed_forward_length", "attention.head_count",
                                    "attention.head_count_kv", "rope.freq_base", "attention.layer_norm_rms_epsilon"]]


def expected_pre(folder):
    """What tokenizer.json's pre-tokenizer is, read here on its own: bare byte-level (GPT-2's
    regex), digits split first (StarCoder's, SmolLM's), or a Split by Qwen2's regex."""
    pre = json.load(open(os.path.join(folder, "tokenizer.json")))["pre_tokenizer"]
    steps = pre["pretokenizers"] if pre["type"] == "Sequence" else [pre]
    kinds = [s["type"] for s in steps]
    if kinds == ["ByteLevel"]:
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"]:
        return "smollm"
    if kinds == ["Split", "ByteLevel"] and r"\p{N}|" in steps[0]["pattern"]["Regex"]:
        return "qwen2"
    return None


def compare_metadata(name, original, converted, arch, pre):
    for key in TOKENIZER_KEYS + hyperparameter_keys(arch):
        a, b = field(original, key), field(converted, key)
        if isinstance(a, float) or isinstance(b, float):
            ok = a is not None and b is not None and abs(a - b) <= 1e-6 * max(1, abs(a))
        else:
            ok = a == b
        check(f"{name}: {key} as in the published file", ok, f"{str(a)[:120]} vs {str(b)[:120]}")
    check(f"{name}: tokenizer.ggml.pre is {pre}", field(converted, "tokenizer.ggml.pre") == pre, str(field(converted, "tokenizer.ggml.pre")))


def test_smollm2(hearth, model, work):
    folder = hf_folder(model, "float32")
    original = gguf.GGUFReader(model)
    # transformers writes SmolLM2's tokenizer.json without its digit split (a bare byte-level
    # pre-tokenizer): the conversion names what the file says (checked below), and with
    # --pre smollm it is the published tokenizer.
    plain = f"{work}/smollm2-plain.gguf"
    r = run(hearth, "convert", folder, plain)
    check("convert SmolLM2 as its tokenizer.json says", r.returncode == 0, r.stderr[-500:])
    check(f"SmolLM2: tokenizer.ggml.pre names what tokenizer.json describes ({expected_pre(folder)})",
          r.returncode == 0 and field(gguf.GGUFReader(plain), "tokenizer.ggml.pre") == expected_pre(folder))
    for kind in ["f32", "f16"]:
        converted = f"{work}/smollm2-{kind}.gguf"
        r = run(hearth, "convert", folder, converted, "--type", kind, "--pre", "smollm")
        check(f"convert SmolLM2 ({kind})", r.returncode == 0, r.stderr[-500:])
        if r.returncode != 0:
            return
        q41 = f"{work}/smollm2-{kind}-q4_1.gguf"
        r = run(hearth, "quantize", converted, q41, "--type", "Q4_1", "--output-tensor-type", "q8_0")
        check(f"quantize the {kind} conversion to Q4_1", r.returncode == 0, r.stderr[-500:])
        out = gguf.GGUFReader(q41)
        want = {t.name: (t.tensor_type, t.data.tobytes()) for t in original.tensors}
        got = {t.name: (t.tensor_type, t.data.tobytes()) for t in out.tensors}
        differing = [n for n in want if got.get(n) != want[n]]
        check(f"{kind} conversion, quantized to Q4_1: all {len(want)} tensors equal the published file's, byte for byte",
              not differing and set(got) == set(want), f"{len(differing)} differ, such as {differing[:3]}; extra {set(got) - set(want)}")
        if kind == "f32":
            compare_metadata("SmolLM2", original, out, "llama", "smollm")
            check("SmolLM2: no output.weight is written for the tied embedding", "output.weight" not in got)
    # Greedy text on the shared vectors' prompts, against the published file.
    q41 = f"{work}/smollm2-f32-q4_1.gguf"
    for prompt in json.load(open(VECTORS))["prompts"]:
        a = run(hearth, "run", model, prompt["prompt"], "--temperature", "0", "-n", "48", "--raw")
        b = run(hearth, "run", q41, prompt["prompt"], "--temperature", "0", "-n", "48", "--raw")
        check(f"greedy text of the converted model equals the published file's: {prompt['name']}",
              a.returncode == 0 and a.stdout == b.stdout and a.stdout.strip() != "", f"{a.stdout[:100]!r} vs {b.stdout[:100]!r} {b.stderr[-200:]}")


def test_report(hearth, work):
    """`hearth quantize --report`: the table's base perplexity is `hearth perplexity`'s on the
    same text and chunks, the sizes are the files', and the quantized model diverges a little."""
    f16 = f"{work}/smollm2-f16.gguf"
    text = f"{work}/report.txt"
    Path(text).write_text(Path(ROOT.parent / "shared/vectors/ppl-text.txt").read_text()[:5000])
    out = f"{work}/report-q4_k_m.gguf"
    r = run(hearth, "quantize", f16, out, "--type", "Q4_K_M", "--report", "--text", text, "--ctx", "256")
    check("quantize --report runs", r.returncode == 0, r.stderr[-500:])
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]] for line in r.stdout.splitlines() if line.startswith("| ")}
    p = run(hearth, "perplexity", f16, text, "--ctx", "256")
    expected = next((line.split("=")[1].split("+/-")[0].strip() for line in p.stdout.splitlines() + p.stderr.splitlines() if "Final estimate" in line), None)
    check("the report's base perplexity is hearth perplexity's", expected is not None and rows.get("perplexity", [""])[0].startswith(expected),
          f"{rows.get('perplexity')} vs {expected}")
    mib = lambda path: f"{os.path.getsize(path) / (1 << 20):.2f} MiB"
    check("the report gives both files' sizes", rows.get("file size") == [mib(f16), mib(out)], f"{rows.get('file size')}")
    kl = float(rows.get("mean KL divergence", ["", "nan"])[1].split()[0])
    top1 = float(rows.get("top-1 agreement", ["", "nan"])[1].rstrip("%"))
    check("Q4_K_M diverges a little from F16: 0 < KL < 0.5, top-1 agreement between 50% and 100%", 0 < kl < 0.5 and 50 < top1 < 100, f"{kl} {top1}")
    check("the report times generation of both", "generation, tokens/s" in rows, r.stdout[-300:])
    r = run(hearth, "quantize", f16, f"{work}/no.gguf", "--type", "Q4_0", "--report")
    check("--report without --text is refused before quantizing", r.returncode != 0 and "--text" in r.stderr and not os.path.exists(f"{work}/no.gguf"))


def test_shards(hearth, model, work):
    """A folder whose weights are split in two safetensors files with an index (as large models
    come) converts to the same tensors as the single file."""
    from safetensors.numpy import load_file, save_file
    folder = hf_folder(model, "float32")
    sharded = Path(work, "sharded")
    sharded.mkdir()
    for f in os.listdir(folder):
        if f != "model.safetensors":
            os.symlink(os.path.join(folder, f), sharded / f)
    tensors = load_file(os.path.join(folder, "model.safetensors"))
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[: len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for file, part in halves.items():
        save_file({n: tensors[n] for n in part}, str(sharded / file), metadata={"format": "pt"})
    (sharded / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {n: file for file, part in halves.items() for n in part}}))
    single, split = f"{work}/single.gguf", f"{work}/split.gguf"
    a = run(hearth, "convert", folder, single, "--pre", "smollm")
    b = run(hearth, "convert", str(sharded), split, "--pre", "smollm")
    check("a sharded folder converts", a.returncode == 0 and b.returncode == 0, (a.stderr + b.stderr)[-400:])
    if a.returncode == 0 and b.returncode == 0:
        x = {t.name: t.data.tobytes() for t in gguf.GGUFReader(single).tensors}
        y = {t.name: t.data.tobytes() for t in gguf.GGUFReader(split).tensors}
        check("the shards give the single file's tensors, byte for byte", x == y and len(x) == 272)
    os.remove(sharded / "model-00002-of-00002.safetensors")
    r = run(hearth, "convert", str(sharded), f"{work}/missing.gguf")
    check("a missing shard is refused, naming it", r.returncode != 0 and "model-00002-of-00002.safetensors" in r.stderr, r.stderr[-300:])


def bf16_round(x):
    """numpy float32 to bfloat16 and back, rounding to nearest even (as torch casts)."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32)


def test_qwen2(hearth, model, work):
    folder = hf_folder(model, "bfloat16")
    converted = f"{work}/qwen2-bf16.gguf"
    r = run(hearth, "convert", folder, converted)
    check("convert Qwen2.5 (bfloat16 weights give a BF16 file by default)", r.returncode == 0 and "to bf16" in r.stderr, r.stderr[-500:])
    if r.returncode != 0:
        return
    original, out = gguf.GGUFReader(model), gguf.GGUFReader(converted)
    got = {t.name: t for t in out.tensors}
    differing = []
    for t in original.tensors:
        c = got.get(t.name)
        want = bf16_round(gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1))
        have = gguf.quants.dequantize(c.data, c.tensor_type).reshape(-1).astype(np.float32) if c is not None else None
        if have is None or have.shape != want.shape or not np.array_equal(have, want):
            differing.append(t.name)
    check(f"Qwen2.5: all {len(original.tensors)} tensors equal the published weights rounded to bfloat16 (no rope regrouping for qwen2)",
          not differing and len(got) == len(original.tensors), f"{len(differing)} differ, such as {differing[:3]}")
    check("Qwen2.5: tokenizer.json describes Qwen2's pre-tokenizer", expected_pre(folder) == "qwen2")
    compare_metadata("Qwen2.5", original, out, "qwen2", "qwen2")
    r = run(hearth, "run", converted, "def fibonacci(n):", "--temperature", "0", "-n", "16", "--raw")
    check("the converted Qwen2.5 runs", r.returncode == 0 and r.stdout.strip() != "", r.stderr[-300:])


def test_errors(hearth, model, work):
    folder = hf_folder(model, "float32")
    out = f"{work}/bad.gguf"

    def refused(name, args, words):
        r = run(hearth, "convert", *args)
        message = r.stderr.strip()
        check(f"{name}: refused, saying {words!r}", r.returncode != 0 and all(w in message for w in words) and "Fatal" not in message,
              f"exit {r.returncode}: {message[-300:]}")

    refused("a folder that does not exist", [f"{work}/nowhere", out], ["not a folder"])
    empty = Path(work, "empty")
    empty.mkdir()
    refused("a folder without config.json", [str(empty), out], ["no config.json"])
    broken = Path(work, "broken")
    broken.mkdir()
    (broken / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], ')
    refused("a config.json that is not JSON", [str(broken), out], ["config.json", "not valid JSON"])
    other = Path(work, "other")
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}))
    refused("an architecture it does not know", [str(other), out], ["GPT2LMHeadModel", "LlamaForCausalLM"])
    truncated = Path(work, "truncated")
    truncated.mkdir()
    for f in os.listdir(folder):
        if f != "model.safetensors":
            os.symlink(os.path.join(folder, f), truncated / f)
    with open(os.path.join(folder, "model.safetensors"), "rb") as src:
        (truncated / "model.safetensors").write_bytes(src.read(1 << 20))
    refused("a truncated model.safetensors", [str(truncated), out], ["truncated"])
    refused("a quantized --type", [folder, out, "--type", "q4_0"], ["hearth quantize"])
    check("no output is left by the refused conversions", not os.path.exists(out) and not os.path.exists(out + ".partial"))
    Path(out).write_text("keep me")
    refused("an output that exists", [folder, out], ["exists", "--force"])
    check("the existing output is untouched", Path(out).read_text() == "keep me")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    hearth, smollm2 = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="hearth-convert-")
    try:
        test_smollm2(hearth, smollm2, work)
        test_report(hearth, work)
        test_shards(hearth, smollm2, work)
        if len(sys.argv) == 4:
            test_qwen2(hearth, sys.argv[3], work)
        test_errors(hearth, smollm2, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
