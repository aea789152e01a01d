#!/usr/bin/env python3
"""Makes a Hugging Face model folder from a GGUF file with the official `transformers`
library, as the independent input of `hearth convert`'s test: transformers dequantizes the
weights, undoes llama.cpp's query/key row order for llama, and writes config.json,
model.safetensors, tokenizer.json, tokenizer_config.json and chat_template.jinja.

    make-hf-folder.py MODEL.gguf OUT_DIR [float32|bfloat16|float16]

Needs torch, transformers, accelerate and gguf (scripts/test-convert.py installs them).
"""
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    source, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[sys.argv[3] if len(sys.argv) == 4 else "float32"]
    folder, name = os.path.split(source)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    options = {}
    try:
        # transformers 5 keeps a "gguf" quantizer on models loaded from GGUF and will not save
        # them unless the weights are dequantized as they load.
        from transformers import GgufConfig
        options["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:
        pass
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype, **options)
    except TypeError:  # transformers before 4.56 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=dtype, **options)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    print(f"wrote {out} ({dtype}) from {source}")


if __name__ == "__main__":
    main()
