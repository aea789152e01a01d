#!/usr/bin/env python3
"""Writes llama.cpp's embeddings of a few texts, the oracle of Hearth's /v1/embeddings.

    scripts/make-embedding-goldens.py LLAMA_SERVER MODEL.gguf OUT.json

Starts llama-server (built outside this repository) with `--embeddings --pooling mean`, asks
its /v1/embeddings for the texts below (mean of the final normed hidden states, L2-normalized),
and writes them with the command and the server's build info.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request

TEXTS = ["The capital of France is Paris.", "Bread is made from flour, water and yeast.", "hello"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    server, model, out = sys.argv[1:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [server, "-m", model, "--embeddings", "--pooling", "mean", "--port", str(port), "-c", "512", "-t", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if urllib.request.urlopen(base + "/health", timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.2)
        req = urllib.request.Request(base + "/v1/embeddings", data=json.dumps({"input": TEXTS}).encode(),
                                     headers={"Content-Type": "application/json"})
        data = json.load(urllib.request.urlopen(req))
        props = json.load(urllib.request.urlopen(base + "/props"))
    finally:
        proc.terminate()
        proc.wait()
    json.dump({"made_by": " ".join(["llama-server"] + argv[1:2] + ["MODEL"] + argv[3:]),
               "llama_cpp_build": props.get("build_info"),
               "texts": TEXTS,
               "embeddings": [d["embedding"] for d in data["data"]],
               "prompt_tokens": data["usage"]["prompt_tokens"]}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
