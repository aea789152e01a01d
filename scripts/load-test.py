#!/usr/bin/env python3
"""A bounded load test of `hearth serve`: 16 concurrent clients, 8 requests each, mixed
prompt and answer lengths, one request in four disconnecting after its first few tokens.

Starts the real binary on a free port (--parallel 4 by default), streams every request
(/v1/chat/completions, SSE) and measures the time to the first token. Passes when no request
fails (no 5xx, no broken stream, no refused connection) and the server is idle again at the
end (no job left running or queued: the disconnected clients' slots were freed).

    scripts/load-test.py HEARTH_BINARY MODEL.gguf [--clients 16] [--requests 8] [--parallel 4]

Prints p50/p99 time to first token and the aggregate tokens/s of the completed answers.
"""
import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from checks import free_port

LONG = " ".join(["The committee reviewed the annual report, the budget and the plans for next year."] * 20)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hearth")
    p.add_argument("model")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=8)
    p.add_argument("--parallel", type=int, default=4)
    args = p.parse_args()
    port = free_port()
    server = subprocess.Popen([args.hearth, "serve", args.model, "--no-store", "--port", str(port), "--parallel", str(args.parallel),
                               "--ctx-size", "1024", "--queue", str(args.clients * 2)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    model = os.path.basename(args.model)[:-5]
    failures, ttfts, tokens, disconnected = [], [], [], [0]
    lock = threading.Lock()
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            if server.poll() is not None or time.time() > deadline:
                sys.exit("the server did not start")
            time.sleep(0.2)

        def one(rng, client, k):
            kind = rng.choice(["short", "medium", "long-prompt", "disconnect"])
            content = {"short": "Say hello.", "medium": "Tell me about the sea.", "disconnect": "Write a long story about a dragon.",
                       "long-prompt": LONG + " Summarise this in one sentence."}[kind]
            max_tokens = {"short": 16, "medium": 96, "long-prompt": 48, "disconnect": 200}[kind]
            body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
                               "temperature": 0.7, "seed": client * 100 + k, "stream": True,
                               "stream_options": {"include_usage": True}})
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            start = time.time()
            try:
                conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                if response.status != 200:
                    return f"{kind}: HTTP {response.status} {response.read()[:200]!r}"
                first, chunks, usage, done = None, 0, None, False
                while True:
                    line = response.fp.readline()
                    if not line:
                        break
                    line = line.strip()
                    if not line.startswith(b"data: "):
                        continue
                    data = line[6:]
                    if data == b"[DONE]":
                        done = True
                        break
                    event = json.loads(data)
                    if "error" in event:
                        return f"{kind}: error event {event}"
                    if event.get("usage"):
                        usage = event["usage"]
                    if event.get("choices") and event["choices"][0]["delta"].get("content"):
                        if first is None:
                            first = time.time() - start
                        chunks += 1
                        if kind == "disconnect" and chunks >= 3:
                            with lock:
                                disconnected[0] += 1
                                ttfts.append(first)
                            return None  # hang up in the middle of the answer
                if not done or usage is None:
                    return f"{kind}: the stream ended without [DONE] and usage"
                with lock:
                    if first is not None:
                        ttfts.append(first)
                    tokens.append(usage["completion_tokens"])
                return None
            except Exception as e:
                return f"{kind}: {type(e).__name__}: {e}"
            finally:
                conn.close()

        def client(i):
            rng = random.Random(i)
            for k in range(args.requests):
                problem = one(rng, i, k)
                if problem:
                    with lock:
                        failures.append(problem)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        start = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.time() - start
        time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        gauges = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
                  if line.startswith(("hearth_requests_running", "hearth_queue_depth"))}
        server_errors = sum(float(line.split()[-1]) for line in metrics.splitlines()
                            if line.startswith("hearth_requests_total{") and 'status="5' in line)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    total = args.clients * args.requests
    print(f"{total} requests from {args.clients} clients ({disconnected[0]} hung up part way), {seconds:.1f} s")
    print(f"time to first token: p50 {percentile(ttfts, 50) * 1000:.0f} ms, p99 {percentile(ttfts, 99) * 1000:.0f} ms")
    print(f"aggregate: {sum(tokens)} tokens in completed answers, {sum(tokens) / seconds:.1f} tokens/s")
    print(f"server 5xx responses: {server_errors:.0f}; idle at the end: {gauges}")
    ok = not failures and server_errors == 0 and all(v == 0 for v in gauges.values()) and len(gauges) >= 1
    for f in failures[:10]:
        print("FAIL:", f)
    print("load test passed" if ok else "load test FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
