#!/usr/bin/env python3
"""Make the tokenizer golden files of HearthTokenizerTests with llama.cpp's llama-tokenize.

For every model and every text below, runs

    llama-tokenize -m MODEL -f TEXT_FILE --ids --log-disable --no-escape [--no-parse-special]

(-f reads the file verbatim; --no-escape keeps backslashes as they are; BOS is added when the
model asks for it, as llama-tokenize does by default) and writes
Tests/HearthTokenizerTests/Golden/tokenizer-<name>.json with the ids, the end-of-generation ids
llama.cpp reports while loading, and the exact command lines.

The reference is llama.cpp commit 0c1e57098 (vendored in llama-cpp-python 0.3.36), built CPU-only.

Usage:
    scripts/make-tokenizer-goldens.py /path/to/llama-tokenize [--models-dir DIR] [--out-dir DIR]
        [--vectors-dir DIR] [--only NAME ...]
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

MODELS = {
    # golden name: GGUF file in the models directory
    "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "gemma-3-270m": "gemma-3-270m-q4_k_m.gguf",
}

# (name, text). The first thirteen are the tokenizer_cases of shared/vectors/smollm2-q4_1.json.
TEXTS = [
    ("hello", "Hello world"),
    ("hello-leading-space", " Hello world"),
    ("two-leading-spaces", "  leading two spaces"),
    ("newlines", "Hello\n\nworld\n"),
    ("numbers", "12345 and 3.14159 and 1000000"),
    ("emoji", "emoji 🦙🔥 and 👩\u200d💻!"),
    ("cjk", "你好，世界！日本語のテキスト。"),
    ("code-tabs", "def f(x):\n\tif x:\n\t\treturn x  # tab-indented\n"),
    ("chatml", "<|im_start|>user\nhi<|im_end|>"),
    ("endoftext", "<|endoftext|> text <|im_end|>"),
    ("contractions-case", "don't I'll we're HELLO hello HeLLo"),
    ("accents-quotes", "naïve café résumé — “quotes” … "),
    ("empty", ""),
    # code and whitespace
    ("python-indented", "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n        self.items.append(x)\n"),
    ("go-tabs", "func main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(i)\n\t}\n}\n"),
    ("swift", "let xs = [1, 2, 3].map { $0 * 2 } // doubled\nprint(xs)"),
    ("many-spaces", "a          b"),
    ("forty-spaces", "x" + " " * 40 + "y"),
    ("only-spaces", "     "),
    ("trailing-spaces", "end   "),
    ("space-before-newline", "line   \nnext"),
    ("newline-runs", "a\n\n\n\nb\n\n\n\n\n\n\nc"),
    ("crlf", "line1\r\nline2\r\n\r\nline3"),
    ("mixed-indent", " \n\t \n  x"),
    ("tab-runs", "\t\t\tx\t\ty"),
    # numbers
    ("digits-run", "1234567"),
    ("digits-long", "3.14159265358979323846 and 12,345,678.90 and 0x1F2E"),
    ("digits-unicode", "٣٤٥ ١٢ and ２０２４年 and ⅫⅣ and ½"),
    ("digits-mixed", "abc123def456 v1.2.3-rc4"),
    # contractions
    ("contractions", "I'm sure DON'T they'll We'RE it'D you'VE She'S y'all rock 'n' roll"),
    ("apostrophes", "' '' ''' 'tis the '90s, isn't it? o'clock"),
    ("quotes-spaces", "hello ' world , foo . bar ! baz ?"),
    # accents and scripts
    ("accents", "Ångström Crème brûlée Tiếng Việt Ærøskøbing Łódź"),
    ("decomposed", "cafe\u0301 nai\u0308ve e\u0301e\u0301"),
    ("zalgo", "Z\u0324\u0354\u0367\u0311\u0353a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u030c\u0317\u035a\u031ao\u0319\u0314\u036e\u0307\u0350\u0307"),
    ("korean", "안녕하세요 세계! 한국어 텍스트입니다."),
    ("japanese", "東京都は日本の首都です。カタカナとひらがな、ｶﾀｶﾅ。"),
    ("chinese", "中国的首都是北京。北京是一座历史悠久的城市，"),
    ("arabic", "مرحبا بالعالم! كيف حالك؟ ١٢٣"),
    ("hebrew", "שלום עולם, מה שלומך?"),
    ("hindi", "नमस्ते दुनिया, आप कैसे हैं?"),
    ("thai", "สวัสดีชาวโลก ภาษาไทย"),
    ("russian", "Привет, мир! Как дела? Ёжик в тумане."),
    ("greek", "Γειά σου Κόσμε! Ελληνικά."),
    ("mixed-scripts", "Hello世界مرحباПривет🌍"),
    # emoji
    ("emoji-sequences", "🇫🇷🇯🇵 👍🏽 1️⃣ ❤️‍🔥 🏳️‍🌈 👨‍👩‍👧‍👦"),
    ("emoji-dense", "🦙🦙🦙🔥🔥🔥😀😃😄😁"),
    ("rare-scripts", "𓀀𓀁 hieroglyphs, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math, 鿰鿱"),
    # special-token text
    ("chatml-full", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"),
    ("gemma-turns", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"),
    ("bos-eos-text", "<bos>text<eos> <s>x</s> <unk> <pad>"),
    ("tool-call", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"),
    ("fim", "<|fim_prefix|>def add(a, b):<|fim_suffix|>\n<|fim_middle|>"),
    ("html-tags", "<table><tr><td>x</td></tr></table> <b>bold</b> <h1>T</h1>"),
    ("special-adjacent", "<<|im_end|>> <|im_start <|im_end|><|im_end|>[multimodal]<unused0>"),
    ("repo-tokens", "<reponame>x<file_sep>y<|repo_name|>z<|file_sep|>"),
    # leading spaces
    ("leading-space-word", " Hello"),
    ("leading-tab", "\tTab"),
    ("leading-newline", "\nNewline first"),
    ("leading-mixed", " \n leading mixed"),
    # misc
    ("url", "https://example.com/path?q=1&r=2#frag and user@example.org"),
    ("json", "{\"key\": [1, 2.5e-3, null, true], \"nested\": {\"a\": \"b\"}}"),
    ("markdown", "# Title\n\n- item one\n- **bold** and _italic_ and `code`\n\n> quote\n"),
    ("punctuation-runs", "!!!???... --- === *** ((()))"),
    ("math", "∑_{i=1}^n x_i² ≤ ∞ ≠ √2 ∫f(x)dx"),
    ("currency", "€100 £50 ¥1000 $5 ₹20 ₿0.1"),
    ("control-chars", "a\u0000b\u0001c\u007fd\u001be"),
    ("invisible", "a\u200bb\u00a0c\u3000d\u2028e\u00adf\ufeffg"),
    ("private-unassigned", "x\ue000y\u0378z"),
    ("unicode-16-letters", "x\u1c89y \U00013460\U00013461 \ua7cb\ua7cc z"),
    # letters newer than llama.cpp's Unicode table count as \p{C} there, which moves word edges
    ("unicode-16-contraction", "\u1c89's \U00013460's x\u1c89'll \ua7cb'S"),
    ("unicode-whitespace", "a\u0085b\u000bc\u000cd\u1680e\u2003f\u205fg\u3000h\u00a0 \u2029i"),
    ("long-word", "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis"),
    ("repeated-chars", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("base64", "U29tZSBiYXNlNjQgdGV4dCBmb3IgdGhlIHRva2VuaXplcg=="),
    ("sentencepiece-marker", "a▁b ▁▁ c"),
]

EOG_LINE = re.compile(r"EOG token\s*=\s*(\d+)")


def run(cmd, check=True):
    result = subprocess.run(cmd, capture_output=True)
    if check and result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}): {' '.join(cmd)}\n{result.stderr.decode(errors='replace')}")
    return result


def tokenize(tool, model, path, parse_special):
    cmd = [tool, "-m", str(model), "-f", str(path), "--ids", "--log-disable", "--no-escape"]
    if not parse_special:
        cmd.append("--no-parse-special")
    out = run(cmd).stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("[")]
    if len(line) != 1:
        sys.exit(f"unexpected llama-tokenize output for {path}: {out!r}")
    return json.loads(line[0])


def eog_ids(tool, model, path):
    """llama.cpp logs the end-of-generation ids while loading the vocabulary."""
    result = run([tool, "-m", str(model), "-f", str(path), "--ids", "--no-escape", "--verbose"])
    found = sorted({int(m.group(1)) for m in EOG_LINE.finditer(result.stderr.decode(errors="replace"))})
    if not found:
        sys.exit(f"no 'EOG token' lines in llama-tokenize's log for {model}")
    return found


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def to_json(doc):
    """Top-level keys one per line, each case on one line: readable diffs, compact id lists."""
    lines = ["{"]
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if key == "cases":
            lines.append(f'  "cases": [')
            for j, case in enumerate(value):
                inner = "," if j + 1 < len(value) else ""
                lines.append("    " + json.dumps(case, ensure_ascii=False, separators=(", ", ": ")) + inner)
            lines.append("  ]" + comma)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("llama_tokenize", help="path of the llama-tokenize binary")
    parser.add_argument("--models-dir", default=os.path.expanduser("~/.cache/hearth/models"))
    parser.add_argument("--vectors-dir", default=str(REPO.parent / "shared" / "vectors"),
                        help="directory with ppl-text.txt (default: shared/vectors beside the repo)")
    parser.add_argument("--out-dir", default=str(REPO / "Tests" / "HearthTokenizerTests" / "Golden"))
    parser.add_argument("--only", nargs="*", choices=sorted(MODELS), help="make only these goldens")
    args = parser.parse_args()

    assert len({n for n, _ in TEXTS}) == len(TEXTS), "duplicate case names"
    long_text = Path(args.vectors_dir) / "ppl-text.txt"

    with tempfile.TemporaryDirectory() as tmp:
        for golden, file_name in MODELS.items():
            if args.only and golden not in args.only:
                continue
            model = Path(args.models_dir) / file_name
            if not model.exists():
                print(f"skip {golden}: {model} not found", file=sys.stderr)
                continue
            cases = []
            inputs = [(n, t, None) for n, t in TEXTS]
            if long_text.exists():
                inputs.append(("ppl-text", None, long_text))
            for name, text, path in inputs:
                if path is None:
                    path = Path(tmp) / f"{name}.txt"
                    path.write_bytes(text.encode("utf-8"))
                case = {"name": name}
                if text is not None:
                    case["text"] = text
                else:
                    case["text_file"] = path.name
                case["ids"] = tokenize(args.llama_tokenize, model, path, parse_special=True)
                case["ids_no_parse_special"] = tokenize(args.llama_tokenize, model, path, parse_special=False)
                cases.append(case)
            golden_doc = {
                "model": file_name,
                "model_sha256": sha256(model),
                "reference": "llama.cpp 0c1e57098 (vendored in llama-cpp-python 0.3.36), llama-tokenize",
                "command": "llama-tokenize -m MODEL -f TEXT_FILE --ids --log-disable --no-escape [--no-parse-special]",
                "notes": "ids: special tokens parsed; ids_no_parse_special: --no-parse-special. "
                         "BOS is included when the model's add_bos_token asks for it.",
                "eog_ids": eog_ids(args.llama_tokenize, model, Path(tmp) / "hello.txt"),
                "cases": cases,
            }
            out = Path(args.out_dir) / f"tokenizer-{golden}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "w", encoding="utf-8") as f:
                f.write(to_json(golden_doc))
            print(f"wrote {out} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
