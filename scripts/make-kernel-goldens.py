#!/usr/bin/env python3
"""Makes the golden files that Hearth's kernel and GGUF tests compare against, using the PyPI
`gguf` package (gguf-py, llama.cpp's own Python library) as an oracle independent of Hearth.

    python3 -m venv /tmp/venv-k && /tmp/venv-k/bin/pip install gguf numpy
    /tmp/venv-k/bin/python scripts/make-kernel-goldens.py

Writes (paths relative to the repository root):
  Tests/HearthKernelsTests/Golden/dequant.json    seeded random blocks of every format, and the
                                                  floats gguf-py's dequantizers make of them
  Tests/HearthKernelsTests/Golden/quantize.json   seeded activations and the bytes gguf-py's
                                                  quantizers make of them (q8_0, q4_0, q4_1)
  Tests/HearthGGUFTests/Golden/gguf-py-written.gguf  a small file written by gguf.GGUFWriter
  Tests/HearthGGUFTests/Golden/gguf-py-written.json  what that file holds, value by value

Everything is seeded: running it again with the same gguf and numpy versions gives the same
bytes. Binary payloads are base64; floats in dequant.json are little-endian f32 bit patterns,
so the comparison in Swift can be bit-exact.
"""
from __future__ import annotations

import base64
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

SEED = 20240611
ROOT = Path(__file__).resolve().parent.parent
KGOLD = ROOT / "Tests/HearthKernelsTests/Golden"
GGOLD = ROOT / "Tests/HearthGGUFTests/Golden"


def b64(a) -> str:
    return base64.b64encode(bytes(a)).decode("ascii")


def sane_f16(rng: np.random.Generator, n: int) -> np.ndarray:
    """f16 scales d in ±[1e-3, 1e-1]: no NaN, Inf or subnormal, so the floats compare exactly."""
    mag = rng.uniform(1e-3, 1e-1, n)
    sign = np.where(rng.integers(0, 2, n) == 1, -1.0, 1.0)
    return (sign * mag).astype(np.float16)


# Byte offsets of the f16 scale fields in each block (ggml's block_xxx structs). Everything
# else in a block is quants or packed integer scales, where every bit pattern is valid.
F16_FIELDS = {
    Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q8_0: [0], Q.Q8_1: [0, 2],
    Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208],
}
# ggml's (elements, bytes) per block. gguf 0.19.0's GGML_QUANT_SIZES gives Q8_1 as 4 + 4 + 32
# = 40 bytes, a leftover from when its d and s were f32; ggml-common.h has block_q8_1 as two
# ggml_half and 32 int8 (static_assert: 2*sizeof(ggml_half) + QK8_1 = 36), so that one is fixed here.
SIZES = {t: gguf.GGML_QUANT_SIZES[t] for t in list(F16_FIELDS) + [Q.Q8_K]}
SIZES[Q.Q8_1] = (32, 36)


def random_blocks(rng: np.random.Generator, qtype: Q, nblocks: int) -> np.ndarray:
    """Random bytes with sane scales. Block 0 has every payload byte 0x00, block 1 0xFF, so the
    extreme quants (and, for q3_K, every high-bit mask) are covered, not just typical ones."""
    _, nbytes = SIZES[qtype]
    blocks = rng.integers(0, 256, (nblocks, nbytes), dtype=np.uint8)
    blocks[0, :] = 0x00
    blocks[1, :] = 0xFF
    if qtype == Q.Q8_K:
        d = (rng.uniform(1e-3, 1e-1, nblocks) * np.where(rng.integers(0, 2, nblocks) == 1, -1, 1)).astype(np.float32)
        blocks[:, 0:4] = d.view(np.uint8).reshape(nblocks, 4)
    else:
        for off in F16_FIELDS[qtype]:
            blocks[:, off:off + 2] = sane_f16(rng, nblocks).view(np.uint8).reshape(nblocks, 2)
    return blocks


def oracle_dequant(blocks: np.ndarray, qtype: Q) -> tuple[np.ndarray, str]:
    """gguf-py's dequantizer where it has one. gguf 0.19.0 has none for the two activation
    formats q8_1 and q8_K (ggml only ever reads them inside dot products); for those this script
    applies the formula of ggml's struct comments itself: x = d * q."""
    if qtype == Q.Q8_1:
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        q = blocks[:, 4:36].copy().view(np.int8).astype(np.float32)
        return (d * q).reshape(-1), "script numpy: x = f16(d) * qs (block_q8_1: d f16, s f16, qs[32] i8)"
    if qtype == Q.Q8_K:
        d = blocks[:, 0:4].copy().view(np.float32)
        q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
        return (d * q).reshape(-1), "script numpy: x = d * qs (block_q8_K: d f32, qs[256] i8, bsums[16] i16)"
    out = gguf.quants.dequantize(blocks.reshape(-1), qtype)
    return np.asarray(out, dtype=np.float32).reshape(-1), "gguf.quants.dequantize"


def float_specials() -> np.ndarray:
    return np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 65504.0, 6.1e-5, 5.96e-8, 1e-40, 3.0e38],
                    dtype=np.float32)


def make_dequant(rng: np.random.Generator) -> list[dict]:
    cases = []
    # Plain float formats: 256 elements, a few specials first (NaN compares as NaN, not by bits).
    x = np.concatenate([float_specials(), (rng.standard_normal(244) * 10).astype(np.float32)])
    cases.append(dict(type="f32", oracle="gguf.quants.dequantize", elements=len(x),
                      data=b64(x.tobytes()), expected=b64(gguf.quants.dequantize(x.view(np.uint8), Q.F32).tobytes())))
    with np.errstate(over="ignore"):
        h = x.astype(np.float16)  # 3e38 becomes inf on purpose
    cases.append(dict(type="f16", oracle="gguf.quants.dequantize", elements=len(h),
                      data=b64(h.tobytes()),
                      expected=b64(np.asarray(gguf.quants.dequantize(h.view(np.uint8), Q.F16), dtype=np.float32).tobytes())))
    bf = gguf.quants.quantize(x, Q.BF16)  # uint8, ggml's round-to-nearest-even float -> bf16
    cases.append(dict(type="bf16", oracle="gguf.quants.dequantize", elements=len(x),
                      data=b64(bf.tobytes()),
                      expected=b64(np.asarray(gguf.quants.dequantize(bf, Q.BF16), dtype=np.float32).tobytes())))
    for qtype, nblocks in [(Q.Q4_0, 16), (Q.Q4_1, 16), (Q.Q5_0, 16), (Q.Q5_1, 16), (Q.Q8_0, 16), (Q.Q8_1, 16),
                           (Q.Q2_K, 4), (Q.Q3_K, 4), (Q.Q4_K, 4), (Q.Q5_K, 4), (Q.Q6_K, 4), (Q.Q8_K, 4)]:
        blocks = random_blocks(rng, qtype, nblocks)
        y, oracle = oracle_dequant(blocks, qtype)
        assert np.all(np.isfinite(y)), qtype
        cases.append(dict(type=gguf_name(qtype), oracle=oracle, elements=int(y.size),
                          data=b64(blocks.tobytes()), expected=b64(y.astype("<f4").tobytes())))
    return cases


def gguf_name(qtype: Q) -> str:
    # ggml_type_name spelling: lower-case, but the K stays upper-case ("q4_K").
    n = qtype.name.lower()
    return n[:-1] + "K" if n.endswith("_k") else n


def activations(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """Activation-like rows: normal, uniform, heavy-tailed, and blocks with a lone outlier."""
    a = np.empty((rows, n), dtype=np.float32)
    for r in range(rows):
        kind = r % 4
        if kind == 0:
            a[r] = rng.standard_normal(n)
        elif kind == 1:
            a[r] = rng.uniform(-3, 3, n)
        elif kind == 2:
            a[r] = rng.standard_t(2, n)
        else:
            a[r] = rng.standard_normal(n) * 0.01
            a[r, rng.integers(0, n, n // 32)] = rng.standard_normal(n // 32) * 50
    a[0, :32] = 0.0            # an all-zero block: d = 0, every quant 0
    a[1, 32:64] = 0.0
    a[1, 40] = -2.0            # a block with a single non-zero element
    return a


def make_quantize(rng: np.random.Generator) -> dict:
    out = []
    for qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1):
        x = activations(rng, 4, 256)
        q = gguf.quants.quantize(x, qtype)
        out.append(dict(type=gguf_name(qtype), oracle="gguf.quants.quantize", rows=4, columns=256,
                        input=b64(x.astype("<f4").tobytes()), expected=b64(q.tobytes())))
    # Exact ties, to document a known difference: amax = 127 makes the scale exactly 1, so
    # x * id lands on .5. gguf-py (like ggml's scalar reference) rounds half away from zero;
    # ggml's x86 path and Hearth round half to even.
    t = np.zeros(32, dtype=np.float32)
    t[:10] = [127.0, 2.5, -2.5, 0.5, -0.5, 1.5, 126.5, -126.5, 3.5, 4.5]
    tq = gguf.quants.quantize(t.reshape(1, 32), Q.Q8_0)
    ties = dict(type="q8_0", oracle="gguf.quants.quantize", input=[float(v) for v in t],
                expected_gguf_py=[int(v) for v in tq[0, 2:].view(np.int8)],
                expected_half_to_even=[int(v) for v in np.rint(t)])
    return dict(cases=out, ties=ties)


# MARK: the GGUF file written by gguf-py

def json_value(vtype: V, v, sub=None):
    """Every scalar as a string so JSON's numbers lose nothing: integers in decimal, floats as
    their IEEE bit pattern in hex, bools as true/false."""
    if vtype == V.ARRAY:
        assert sub is not None
        inner = [json_value(sub[0], x, sub[1:] or None) for x in v]
        return dict(type="arr", element_type=type_name(sub[0]), value=inner)
    if vtype == V.FLOAT32:
        return dict(type="f32", value="0x%08x" % np.array([v], dtype=np.float32).view(np.uint32)[0])
    if vtype == V.FLOAT64:
        return dict(type="f64", value="0x%016x" % np.array([v], dtype=np.float64).view(np.uint64)[0])
    if vtype == V.BOOL:
        return dict(type="bool", value="true" if v else "false")
    if vtype == V.STRING:
        return dict(type="str", value=v)
    return dict(type=type_name(vtype), value=str(int(v)))


def type_name(t: V) -> str:
    return {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32", V.INT32: "i32",
            V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "str", V.ARRAY: "arr", V.UINT64: "u64",
            V.INT64: "i64", V.FLOAT64: "f64"}[t]


def make_gguf(rng: np.random.Generator) -> None:
    path = GGOLD / "gguf-py-written.gguf"
    w = gguf.GGUFWriter(str(path), "hearthtest")
    entries = [("general.architecture", V.STRING, "hearthtest", None)]

    def add(key, vtype, val, sub=None):
        w.add_key_value(key, val, vtype, sub_type=sub[0] if sub else None)
        entries.append((key, vtype, val, sub))

    w.add_custom_alignment(64)
    entries.append(("general.alignment", V.UINT32, 64, None))
    add("test.u8", V.UINT8, 255)
    add("test.i8", V.INT8, -128)
    add("test.u16", V.UINT16, 65535)
    add("test.i16", V.INT16, -32768)
    add("test.u32", V.UINT32, 4294967295)
    add("test.i32", V.INT32, -2147483648)
    add("test.f32", V.FLOAT32, float(np.float32(3.14159265)))
    add("test.f32_inf", V.FLOAT32, float("-inf"))
    add("test.f32_neg_zero", V.FLOAT32, -0.0)
    add("test.bool_true", V.BOOL, True)
    add("test.bool_false", V.BOOL, False)
    add("test.str", V.STRING, "héllo, wörld ✓ 🔥\nsecond line\t\"quoted\"")
    add("test.str_empty", V.STRING, "")
    add("test.u64", V.UINT64, 18446744073709551615)
    add("test.i64", V.INT64, -9223372036854775808)
    add("test.f64", V.FLOAT64, 2.718281828459045)
    add("test.f64_tiny", V.FLOAT64, 5e-324)
    add("test.arr_u8", V.ARRAY, [0, 1, 127, 255], [V.UINT8])
    add("test.arr_i8", V.ARRAY, [-128, -1, 0, 127], [V.INT8])
    add("test.arr_u16", V.ARRAY, [0, 65535], [V.UINT16])
    add("test.arr_i16", V.ARRAY, [-32768, 32767], [V.INT16])
    add("test.arr_u32", V.ARRAY, [1, 2, 3, 4294967295], [V.UINT32])
    add("test.arr_i32", V.ARRAY, [-5, 0, 5], [V.INT32])
    add("test.arr_f32", V.ARRAY, [0.5, -1.25, float("inf")], [V.FLOAT32])
    add("test.arr_bool", V.ARRAY, [True, False, True], [V.BOOL])
    add("test.arr_str", V.ARRAY, ["a", "", "ünï", "<|im_end|>"], [V.STRING])
    add("test.arr_u64", V.ARRAY, [0, 18446744073709551615], [V.UINT64])
    add("test.arr_i64", V.ARRAY, [-9223372036854775808, 9223372036854775807], [V.INT64])
    add("test.arr_f64", V.ARRAY, [1e300, -2.5], [V.FLOAT64])
    # Nested arrays: gguf-py infers the inner element type from the first item (int -> i32).
    add("test.arr_arr_i32", V.ARRAY, [[1, 2, 3], [4], [5, 6]], [V.ARRAY, V.INT32])
    add("test.arr_arr_str", V.ARRAY, [["x", "y"], ["z"]], [V.ARRAY, V.STRING])

    tensors = []

    def tensor(name, array, raw_dtype=None, raw_shape=None, ggml_type=None, ggml_shape=None):
        w.add_tensor(name, array, raw_shape=raw_shape, raw_dtype=raw_dtype)
        tensors.append(dict(name=name, type=ggml_type, shape=ggml_shape, data=b64(array.tobytes())))

    a = (rng.standard_normal((3, 64)) * 0.1).astype(np.float32)     # numpy (rows, cols)
    tensor("t.f32_2d", a, ggml_type="f32", ggml_shape=[64, 3])      # ggml: row length first
    b = rng.standard_normal(96).astype(np.float16)
    tensor("t.f16_1d", b, ggml_type="f16", ggml_shape=[96])
    c = rng.standard_normal((2, 3, 32)).astype(np.float32)
    tensor("t.f32_3d", c, ggml_type="f32", ggml_shape=[32, 3, 2])
    d = rng.standard_normal((2, 1, 2, 32)).astype(np.float32)
    tensor("t.f32_4d", d, ggml_type="f32", ggml_shape=[32, 2, 1, 2])
    e = gguf.quants.quantize(rng.standard_normal((4, 64)).astype(np.float32), Q.Q8_0)
    tensor("t.q8_0", e, raw_dtype=Q.Q8_0, ggml_type="q8_0", ggml_shape=[64, 4])
    f = random_blocks(rng, Q.Q4_K, 2).reshape(1, -1)
    tensor("t.q4_K", f, raw_dtype=Q.Q4_K, ggml_type="q4_K", ggml_shape=[512, 1])
    g = gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), Q.BF16)
    tensor("t.bf16", g, raw_dtype=Q.BF16, ggml_type="bf16", ggml_shape=[32, 2])
    # Last, a tensor whose 26 bytes are no multiple of the alignment: gguf-py pads after it.
    h = rng.standard_normal(13).astype(np.float16)
    tensor("t.f16_tail", h, ggml_type="f16", ggml_shape=[13])

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Read it back with gguf-py's reader: the golden must be what gguf-py itself sees.
    r = gguf.GGUFReader(str(path))
    keys = [k for k in r.fields if not k.startswith("GGUF.")]
    assert keys == [e[0] for e in entries], (keys, [e[0] for e in entries])
    assert [t.name for t in r.tensors] == [t["name"] for t in tensors]
    data_start = min(t.data_offset for t in r.tensors)
    for t, rt in zip(tensors, r.tensors):
        t["offset"] = int(rt.data_offset - data_start)
        assert [int(s) for s in rt.shape] == t["shape"], (rt.name, rt.shape)
        assert base64.b64decode(t["data"]) == bytes(rt.data.tobytes()), rt.name
    meta = []
    for key, vtype, val, sub in entries:
        meta.append(dict(key=key, **json_value(vtype, val, sub)))
    doc = dict(generator="scripts/make-kernel-goldens.py", gguf_version=version("gguf"),
               numpy_version=np.__version__, alignment=64, version=3, data_offset=int(data_start),
               file_size=path.stat().st_size, metadata=meta, tensors=tensors)
    (GGOLD / "gguf-py-written.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def main() -> int:
    KGOLD.mkdir(parents=True, exist_ok=True)
    GGOLD.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    header = dict(generator="scripts/make-kernel-goldens.py", gguf_version=version("gguf"),
                  numpy_version=np.__version__, seed=SEED)
    (KGOLD / "dequant.json").write_text(json.dumps(dict(header, cases=make_dequant(rng)), indent=1) + "\n")
    (KGOLD / "quantize.json").write_text(json.dumps(dict(header, **make_quantize(rng)), indent=1) + "\n")
    make_gguf(rng)
    for p in [KGOLD / "dequant.json", KGOLD / "quantize.json", GGOLD / "gguf-py-written.gguf", GGOLD / "gguf-py-written.json"]:
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
