#!/usr/bin/env python3
"""How far llama.cpp's own second attention path is from its reference vectors.

The reference vectors are made with llama.cpp's default path (flash attention on, f16 K/V
cache). This script re-runs the same model with another path (default: `-fa off`), teacher-forced
on the reference tokens at every step, and records for each step the largest difference among the
reference's top-5 log-probabilities. Hearth's engine tests use these numbers as the tolerance:
an independent engine should differ from llama.cpp no more than llama.cpp differs from itself.

The peer engine is not part of this repository: build llama.cpp elsewhere and pass its
llama-server binary.

usage: scripts/peer-variation.py --llama-server PEER/bin/llama-server --model MODEL.gguf
           --vectors VECTORS.json --out OUT.json [--peer-args "-fa off"] [--threads 2]
"""
import argparse, json, socket, subprocess, time, urllib.request

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--llama-server', required=True)
ap.add_argument('--model', required=True)
ap.add_argument('--vectors', required=True)
ap.add_argument('--out', required=True)
ap.add_argument('--peer-args', default='-fa off')
ap.add_argument('--threads', default='2')
a = ap.parse_args()

vectors = json.load(open(a.vectors))
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
proc = subprocess.Popen([a.llama_server, '-m', a.model, '--port', str(port), '--host', '127.0.0.1', '-c', '2048',
                         '--no-warmup', '-t', a.threads] + a.peer_args.split(),
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
result = {}
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=1); break
        except Exception:
            time.sleep(0.3)
    for p in vectors['prompts']:
        steps = []
        for st in p['greedy_steps_top5_logprobs']:
            i = st['step']
            req = {'prompt': p['prompt_token_ids'] + p['greedy_token_ids'][:i], 'n_predict': 1, 'temperature': 0,
                   'top_k': 1, 'n_probs': 40, 'cache_prompt': False}
            r = json.load(urllib.request.urlopen(urllib.request.Request(
                f'http://127.0.0.1:{port}/completion', json.dumps(req).encode(), {'Content-Type': 'application/json'})))
            top = {t['id']: t['logprob'] for t in r['completion_probabilities'][0]['top_logprobs']}
            diffs = [abs(top[e[0]] - e[2]) for e in st['top'] if e[0] in top]
            steps.append(max(diffs) if diffs else 0.0)
        result[p['name']] = {'max': max(steps), 'mean': sum(steps) / len(steps), 'per_step': [round(x, 5) for x in steps]}
        print(f"{p['name']}: max {max(steps):.4f} mean {sum(steps) / len(steps):.4f}")
finally:
    proc.terminate(); proc.wait()
json.dump({'peer_args': a.peer_args.split(), 'reference': a.vectors.split('/')[-1], 'prompts': result},
          open(a.out, 'w'), indent=1)
