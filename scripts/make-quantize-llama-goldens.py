#!/usr/bin/env python3
"""Makes the golden file that `hearth quantize` is checked against: what llama-quantize writes
for every type Hearth makes, from the same F16 file.

    python3 -m venv /tmp/venv-k && /tmp/venv-k/bin/pip install gguf numpy
    /tmp/venv-k/bin/python scripts/make-quantize-llama-goldens.py LLAMA_QUANTIZE HEARTH SmolLM2-135M-Instruct.Q4_1.gguf

The F16 file is made by `hearth quantize MODEL f16.gguf --type F16 --allow-requantize`
(Hearth's dequantizers are checked against gguf-py's elsewhere), so the test can make the
same file. For each type, llama-quantize (built outside this repository; its version is
recorded from LLAMA_CPP_VERSION) quantizes it with 2 threads, and the golden keeps each tensor's type and the
first 32 hex digits of its bytes' sha256.

Writes Tests/HearthQuantizeTests/Golden/llama-quantize-smollm2.json.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf

TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"]
OUT = Path(__file__).resolve().parent.parent / "Tests/HearthQuantizeTests/Golden/llama-quantize-smollm2.json"


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    llama_quantize, hearth, model = sys.argv[1:]
    work = tempfile.mkdtemp()
    f16 = os.path.join(work, "f16.gguf")
    subprocess.run([hearth, "quantize", model, f16, "--type", "F16", "--allow-requantize"], check=True, capture_output=True)
    cases = {}
    for t in TYPES:
        out = os.path.join(work, f"{t}.gguf")
        subprocess.run([llama_quantize, f16, out, t, "2"], check=True, capture_output=True)
        reader = gguf.GGUFReader(out)
        cases[t] = {x.name: f"{x.tensor_type.name.lower()}:{hashlib.sha256(x.data.tobytes()).hexdigest()[:32]}" for x in reader.tensors}
    OUT.write_text(json.dumps(dict(generator="scripts/make-quantize-llama-goldens.py",
                                   llama_cpp=os.environ.get("LLAMA_CPP_VERSION", "unknown"),
                                   source=os.path.basename(model), source_sha256=hashlib.sha256(open(model, "rb").read()).hexdigest(),
                                   f16="hearth quantize SOURCE f16.gguf --type F16 --allow-requantize",
                                   command="llama-quantize f16.gguf OUT.gguf TYPE 2", cases=cases), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
