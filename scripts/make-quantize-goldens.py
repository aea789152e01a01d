#!/usr/bin/env python3
"""Makes the golden file that Hearth's weight quantizers are checked against, using the PyPI
`gguf` package's numpy quantizers (gguf-py, llama.cpp's own Python library) as the oracle.

    python3 -m venv /tmp/venv-k && /tmp/venv-k/bin/pip install gguf numpy
    /tmp/venv-k/bin/python scripts/make-quantize-goldens.py

Writes Tests/HearthKernelsTests/Golden/weight-quantize.json: for q4_0, q4_1, q5_0, q5_1 and
q8_0, seeded weight-like rows (normal values, with blocks that are all zero, constant,
one-signed, tiny, and exact rounding ties) and the bytes gguf.quants.quantize makes of them.
Seeded: running it again with the same gguf and numpy versions gives the same bytes.
"""
import base64
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

SEED = 20261130
OUT = Path(__file__).resolve().parent.parent / "Tests/HearthKernelsTests/Golden/weight-quantize.json"


def rows(rng):
    x = rng.standard_normal((6, 256)).astype(np.float32) * 0.05
    x[1, :32] = 0                                        # an all-zero block
    x[1, 32:64] = 0.25                                   # a constant block
    x[1, 64:96] = np.abs(x[1, 64:96])                    # one-signed
    x[1, 96:128] = -np.abs(x[1, 96:128])
    x[2, :] *= 1e-6                                      # tiny values (f16 subnormal scales)
    x[3, :32] = np.arange(32, dtype=np.float32) - 16.5   # ties for the nibble formats
    x[3, 32:64] = [127.0, 2.5, -2.5, 0.5, -0.5, 1.5, 126.5, -126.5] * 4  # ties for q8_0
    x[4, :] *= 40                                        # large values
    return x


def main():
    rng = np.random.default_rng(SEED)
    x = rows(rng)
    cases = []
    for qtype in (Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q8_0):
        q = gguf.quants.quantize(x, qtype)
        cases.append(dict(type=qtype.name.lower(), oracle="gguf.quants.quantize", rows=x.shape[0], columns=x.shape[1],
                          expected=base64.b64encode(q.tobytes()).decode()))
    OUT.write_text(json.dumps(dict(generator="scripts/make-quantize-goldens.py", gguf_version=version("gguf"),
                                   numpy_version=np.__version__, seed=SEED,
                                   input=base64.b64encode(x.astype("<f4").tobytes()).decode(), cases=cases), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
