#!/usr/bin/env python3
"""Aggregate generation throughput of `hearth serve` against llama-server, same model, same run.

For each concurrency level C, both servers are started fresh with C slots (hearth --parallel C,
llama-server -np C with C times the per-slot context), warmed up with one request, then C
client threads each send --requests completions (distinct prompts, /v1/completions,
max_tokens --tokens, temperature 0.8 with distinct seeds) as fast as answers come back.
Throughput is the completion tokens both servers report in `usage`, over the wall time of
the level. The engines alternate, and which goes first swaps from run to run.

    scripts/bench-serve.py MODEL.gguf --hearth .build/release/hearth --llama-server PATH \
        [-c 1,4,8] [--runs 2] [--requests 4] [--tokens 128] [--threads 2]

Prints a Markdown table: level, llama-server t/s, Hearth t/s (mean ± sd over runs), ratio.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from checks import free_port

PROMPTS = [
    "Once upon a time, in a small village by the sea,",
    "The history of the printing press begins",
    "Here is a recipe for a simple tomato soup:",
    "In computer science, a hash table is",
    "The old lighthouse keeper looked out at the storm and",
    "Photosynthesis is the process by which",
    "Dear diary, today something strange happened:",
    "The three laws of motion state that",
]


def post(url, body, timeout=600):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_healthy(base, process, what):
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.2)
    sys.exit(f"{what} did not become healthy")


def start(engine, args, level, port):
    per_slot = 1024
    if engine == "hearth":
        cmd = [args.hearth, "serve", args.model, "--no-store", "--port", str(port), "--parallel", str(level),
               "--ctx-size", str(per_slot), "--threads", str(args.threads), "--queue", "64"]
    else:
        cmd = [args.llama_server, "-m", args.model, "--port", str(port), "-np", str(level), "-c", str(per_slot * level),
               "-t", str(args.threads), "-tb", str(args.threads), "-cb", "--no-webui", "--log-disable"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(engine, args, level, run):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start(engine, args, level, port)
    try:
        wait_healthy(base, process, engine)
        model = os.path.basename(args.model)[:-5]
        post(base + "/v1/completions", {"model": model, "prompt": "Hello", "max_tokens": 8})
        tokens = [0] * level
        errors = []

        def client(i):
            for k in range(args.requests):
                prompt = PROMPTS[(i * args.requests + k) % len(PROMPTS)] + f" (#{run}.{i}.{k})"
                try:
                    answer = post(base + "/v1/completions", {"model": model, "prompt": prompt, "max_tokens": args.tokens,
                                                             "temperature": 0.8, "seed": 1000 * run + 10 * i + k})
                    tokens[i] += answer["usage"]["completion_tokens"]
                except Exception as e:
                    errors.append(str(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(level)]
        start_time = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.time() - start_time
        if errors:
            sys.exit(f"{engine} failed requests at concurrency {level}: {errors[:3]}")
        return sum(tokens) / seconds, sum(tokens) / (level * args.requests)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--hearth", required=True)
    p.add_argument("--llama-server", required=True)
    p.add_argument("-c", "--concurrency", default="1,4,8")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--requests", type=int, default=4, help="requests per client thread")
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    results = {}
    for level in levels:
        for run in range(args.runs):
            order = ["hearth", "llama"] if run % 2 == 0 else ["llama", "hearth"]
            for engine in order:
                tps, per_request = measure(engine, args, level, run)
                results.setdefault((level, engine), []).append(tps)
                print(f"  concurrency {level}, run {run + 1}: {engine} {tps:.1f} t/s ({per_request:.0f} tokens per answer)", file=sys.stderr)

    def fmt(values):
        return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"

    print(f"| streams | llama-server t/s | Hearth t/s | ratio |")
    print(f"|---:|---:|---:|---:|")
    for level in levels:
        l, h = results[(level, "llama")], results[(level, "hearth")]
        print(f"| {level} | {fmt(l)} | {fmt(h)} | {statistics.mean(h) / statistics.mean(l):.2f}× |")


if __name__ == "__main__":
    main()
