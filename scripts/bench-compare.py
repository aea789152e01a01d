#!/usr/bin/env python3
"""Hearth against llama.cpp: the same model, the same threads, in the same run.

For every thread count, depth and test (ppN, tgN) it runs `hearth bench` and llama.cpp's
`llama-bench` alternately, one timed repetition per process (-r 1, each with its own warmup),
swapping which goes first on every repetition, so that whatever else the machine does hits
both alike. Both print llama-bench's JSON; the script prints a markdown table of the means,
sample standard deviations and the ratio Hearth / llama.cpp.

  --rss         peak resident memory of a generation-only run of each, one fresh child
                process per measurement (os.wait4's ru_maxrss)
  --contention  generation at 2 threads while busy-loop processes occupy every core, as a
                fraction of the idle speed

llama.cpp is a `llama-bench` binary (--llama-bench PATH or $LLAMA_BENCH), or, when neither is
given, the llama-cpp-python package if the Python running this script can import it (then each
measurement is a child Python process that times Llama.eval the way llama-bench times
llama_decode).

Python 3 standard library only. Example:
  swift build -c release
  scripts/bench-compare.py --llama-bench ../peer/llama.cpp-build/bin/llama-bench -t 1,2
"""

import argparse
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL_CACHE = Path(os.environ.get("HEARTH_MODEL_CACHE", Path.home() / ".cache" / "hearth" / "models"))
DEFAULT_MODEL = MODEL_CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"
WORKER_FLAG = "--llama-cpp-python-worker"


def fail(message):
    print(f"bench-compare: {message}", file=sys.stderr)
    sys.exit(1)


def say(message):
    print(message, file=sys.stderr, flush=True)


def int_list(text):
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers, like 1,2")
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}' has a negative number")
    return values


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number")
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} is less than 1")
    return v


def test_name(n_prompt, n_gen, n_depth):
    base = f"pp{n_prompt}" if n_prompt > 0 else f"tg{n_gen}"
    return f"{base} @ d{n_depth}" if n_depth > 0 else base


def mean_sd(values):
    if not values:
        return 0.0, 0.0
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


# --- the engines -----------------------------------------------------------------------------

class Engine:
    """One program that prints llama-bench JSON for one test: name, command line, notes."""

    def __init__(self, name, argv_for, description, rss_note=""):
        self.name = name
        self.rss_note = rss_note
        self.argv_for = argv_for  # (model, n_prompt, n_gen, n_depth, threads, reps) -> argv
        self.description = description

    def run(self, model, n_prompt, n_gen, n_depth, threads, reps=1, measure_rss=False):
        """Runs one child; returns (its llama-bench result object, its peak RSS in bytes or None)."""
        argv = self.argv_for(model, n_prompt, n_gen, n_depth, threads, reps)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            # os.wait4 reaps this child alone and gives its own resource usage, so every
            # measurement is one process measured by itself.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if child.returncode != 0:
            tail = "\n".join(stderr.strip().splitlines()[-15:])
            how = (f"killed by {signal.Signals(-child.returncode).name}" if child.returncode < 0
                   else f"exit {child.returncode}")
            fail(f"{self.name} failed ({how}): {shlex.join(argv)}\n{tail}")
        try:
            results = json.loads(stdout)
        except json.JSONDecodeError as e:
            fail(f"{self.name} did not print JSON ({e}): {shlex.join(argv)}\n{stdout[:500]}")
        if not isinstance(results, list) or len(results) != 1:
            fail(f"{self.name} printed {len(results) if isinstance(results, list) else 'no'} results, expected 1: {shlex.join(argv)}")
        # ru_maxrss is in KiB on Linux and in bytes on macOS.
        rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        return results[0], (rss if measure_rss else None)


def hearth_engine(path, extra):
    def argv(model, p, n, d, t, r):
        return [path, "bench", str(model), "-p", str(p), "-n", str(n), "-d", str(d), "-t", str(t),
                "-r", str(r), "-o", "json"] + extra
    return Engine("hearth", argv, f"hearth ({path})")


def llama_bench_engine(path, extra):
    def argv(model, p, n, d, t, r):
        return [path, "-m", str(model), "-p", str(p), "-n", str(n), "-d", str(d), "-t", str(t),
                "-r", str(r), "-o", "json"] + extra
    return Engine("llama.cpp", argv, f"llama-bench ({path})")


def llama_cpp_python_engine(python, version):
    def argv(model, p, n, d, t, r):
        return [python, str(Path(__file__).resolve()), WORKER_FLAG, str(model), str(p), str(n), str(d), str(t), str(r)]
    return Engine("llama.cpp", argv, f"llama-cpp-python {version} (through {python}; Python's per-call overhead included)",
                  rss_note="llama-cpp-python's figure includes the Python interpreter and numpy")


def llama_cpp_python_version(python):
    """The llama_cpp package's version if `python` can import it, else None."""
    probe = subprocess.run([python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                           capture_output=True, text=True)
    return probe.stdout.strip() if probe.returncode == 0 else None


def llama_cpp_python_worker(argv):
    """Child process: one test through llama-cpp-python, timed as llama-bench times it, printed
    as a one-element llama-bench JSON array."""
    model, p, n, d, t, r = argv[0], *map(int, argv[1:6])
    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(model_path=model, n_ctx=d + p + n, n_batch=2048, n_ubatch=512, n_threads=t,
                n_threads_batch=t, verbose=False)
    vocab = llm.n_vocab()
    bos = llm.token_bos() if llm._model.add_bos_token() else None
    rng = random.Random(1)

    def tokens(count, at_start):
        out = [rng.randrange(vocab) for _ in range(count)]
        if at_start and bos is not None and out:
            out[0] = bos
        return out

    def once(n_prompt, n_gen):
        llm.reset()  # Llama.eval then drops the whole cache: an empty context, as llama_memory_clear
        if d > 0:
            llm.eval(tokens(d, True))
        prompt = tokens(n_prompt, d == 0)
        token = tokens(1, d == 0 and n_prompt == 0)
        start = time.perf_counter_ns()
        if n_prompt > 0:
            llm.eval(prompt)
        for _ in range(n_gen):
            llm.eval(token)
            token = [rng.randrange(vocab)]
        return time.perf_counter_ns() - start

    once(p, min(n, 1))  # warmup, as llama-bench: the whole prompt, or one generated token
    samples = [once(p, n) for _ in range(r)]
    ts = [(p + n) * 1e9 / s for s in samples]
    avg_ns, sd_ns = mean_sd(samples)
    avg_ts, sd_ts = mean_sd(ts)
    print(json.dumps([{
        "engine": "llama-cpp-python", "build_commit": llama_cpp.__version__, "backends": "CPU",
        "model_filename": model, "n_threads": t, "n_prompt": p, "n_gen": n, "n_depth": d,
        "avg_ns": round(avg_ns), "stddev_ns": round(sd_ns), "avg_ts": avg_ts, "stddev_ts": sd_ts,
        "samples_ns": samples, "samples_ts": ts,
    }]))


# --- the measurements ------------------------------------------------------------------------

def interleaved(engines, model, p, n, d, t, reps, label):
    """`reps` one-repetition runs of each engine, alternating, the first engine swapped each time.
    Returns {engine name: [tokens/s, ...]}."""
    samples = {e.name: [] for e in engines}
    for i in range(reps):
        order = engines if i % 2 == 0 else list(reversed(engines))
        for e in order:
            result, _ = e.run(model, p, n, d, t)
            samples[e.name] += result["samples_ts"]
        say(f"  {label}, {threads_text(t)}, {i + 1}/{reps}: " +
            ", ".join(f"{e.name} {samples[e.name][-1]:.2f} t/s" for e in engines))
    return samples


def threads_text(t):
    return f"{t} thread" + ("" if t == 1 else "s")


def cell(values):
    m, sd = mean_sd(values)
    return f"{m:.2f} ± {sd:.2f}"


def ratio(hearth, llama):
    return f"{statistics.fmean(hearth) / statistics.fmean(llama):.2f}×" if hearth and llama and statistics.fmean(llama) > 0 else "–"


def speed_table(engines, args):
    rows = []
    for t in args.threads:
        for d in args.n_depth:
            tests = [(p, 0) for p in args.n_prompt if p > 0] + [(0, n) for n in args.n_gen if n > 0]
            for p, n in tests:
                name = test_name(p, n, d)
                s = interleaved(engines, args.model, p, n, d, t, args.repetitions, name)
                rows.append((name, t, d, p, n, s))
    print("| test | threads | llama.cpp t/s | Hearth t/s | Hearth / llama.cpp |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t, _, _, _, s in rows:
        print(f"| {name} | {t} | {cell(s['llama.cpp'])} | {cell(s['hearth'])} | {ratio(s['hearth'], s['llama.cpp'])} |")
    return rows


def rss_table(engines, args):
    n = max(args.n_gen) or 128
    t = max(args.threads)
    say(f"peak RSS: tg{n} at {threads_text(t)}, one fresh process per measurement")
    peaks = {e.name: [] for e in engines}
    for i in range(args.rss_runs):
        for e in (engines if i % 2 == 0 else list(reversed(engines))):
            _, rss = e.run(args.model, 0, n, 0, t, measure_rss=True)
            peaks[e.name].append(rss)
            say(f"  {e.name}: {rss / 2**20:.1f} MiB")
    print()
    print(f"| peak RSS, tg{n}, {t} threads | llama.cpp | Hearth | Hearth / llama.cpp |")
    print("| --- | ---: | ---: | ---: |")
    h, l = max(peaks["hearth"]), max(peaks["llama.cpp"])
    print(f"| largest of {args.rss_runs} run(s) | {l / 2**20:.1f} MiB | {h / 2**20:.1f} MiB | {h / l:.2f}× |")
    for e in engines:
        if e.rss_note:
            print(f"\n{e.rss_note}.")


def contention_table(engines, args, speed_rows):
    t = args.contention_threads
    n = args.contention_n or (max(args.n_gen) or 128)
    cores = os.cpu_count() or 1
    # The idle figure: the speed table's, when it measured this test, else measured now.
    idle = next((s for name, tt, d, p, nn, s in speed_rows if tt == t and d == 0 and p == 0 and nn == n), None)
    if idle is None:
        say(f"contention: idle tg{n} at {threads_text(t)} first")
        idle = interleaved(engines, args.model, 0, n, 0, t, args.repetitions, f"tg{n} idle")
    say(f"contention: tg{n} at {threads_text(t)} with {cores} busy-loop processes on {cores} cores "
        f"(this can be slow: an engine that spins between steps slows down the most)")
    spinners = []
    try:
        for _ in range(cores):
            spinners.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(0.5)  # let the scheduler see them as busy
        busy = interleaved(engines, args.model, 0, n, 0, t, args.contention_runs, f"tg{n} busy")
    finally:
        for s in spinners:
            s.kill()
            s.wait()
    print()
    print(f"| tg{n}, {t} threads, {cores} busy-loop processes | llama.cpp | Hearth |")
    print("| --- | ---: | ---: |")
    print(f"| idle t/s | {cell(idle['llama.cpp'])} | {cell(idle['hearth'])} |")
    print(f"| busy t/s | {cell(busy['llama.cpp'])} | {cell(busy['hearth'])} |")
    pct = {k: 100 * statistics.fmean(busy[k]) / statistics.fmean(idle[k]) for k in ("llama.cpp", "hearth")}
    print(f"| busy / idle | {pct['llama.cpp']:.1f}% | {pct['hearth']:.1f}% |")


def main():
    parser = argparse.ArgumentParser(
        description="Runs Hearth and llama.cpp alternately on the same model and prints the speed ratios\n"
                    "as a markdown table. Each run is one process that does a warmup and one timed\n"
                    "repetition and prints llama-bench JSON; progress goes to standard error.",
        epilog="examples:\n"
               "  scripts/bench-compare.py --llama-bench ../peer/llama.cpp-build/bin/llama-bench -t 1,2\n"
               "  LLAMA_BENCH=path/to/llama-bench scripts/bench-compare.py -p 0 -n 128 -d 0,512,2048\n"
               "  scripts/bench-compare.py --llama-bench PATH -p 0 -t 2 --rss --contention",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL),
                        help="the GGUF file (default: SmolLM2-135M-Instruct.Q4_1.gguf in the model cache; "
                             "scripts/fetch-models.sh smollm2 fetches it)")
    parser.add_argument("--llama-bench", default=os.environ.get("LLAMA_BENCH"), metavar="PATH",
                        help="a llama-bench binary built from llama.cpp (default: $LLAMA_BENCH; without "
                             "either, llama-cpp-python if --python can import it)")
    parser.add_argument("--python", default=sys.executable, metavar="PATH",
                        help="the Python that has llama-cpp-python (default: this one)")
    parser.add_argument("--hearth", default=str(REPO / ".build" / "release" / "hearth"), metavar="PATH",
                        help="the hearth binary, a release build (default: .build/release/hearth)")
    parser.add_argument("-t", "--threads", type=int_list, default=[os.cpu_count() or 1], metavar="N,...",
                        help=f"thread counts (default: {os.cpu_count() or 1}, the number of cores)")
    parser.add_argument("-p", "--n-prompt", type=int_list, default=[512], metavar="N,...",
                        help="prompt lengths, one pp test each; 0: none (default: 512)")
    parser.add_argument("-n", "--n-gen", type=int_list, default=[128], metavar="N,...",
                        help="generation lengths, one tg test each; 0: none (default: 128)")
    parser.add_argument("-d", "--n-depth", type=int_list, default=[0], metavar="N,...",
                        help="tokens already in the context before each test (default: 0)")
    parser.add_argument("-r", "--repetitions", type=positive_int, default=5, metavar="N",
                        help="timed runs of each engine per test, one process each, interleaved (default: 5)")
    parser.add_argument("--rss", action="store_true",
                        help="also measure peak RSS of a generation-only run (largest -n, most threads)")
    parser.add_argument("--rss-runs", type=positive_int, default=1, metavar="N",
                        help="processes per engine for --rss; the largest peak is shown (default: 1)")
    parser.add_argument("--contention", action="store_true",
                        help="also measure generation while one busy-loop process per core runs")
    parser.add_argument("--contention-threads", type=positive_int, default=2, metavar="N",
                        help="threads for --contention (default: 2)")
    parser.add_argument("--contention-n", type=positive_int, default=None, metavar="N",
                        help="tokens generated for --contention (default: the largest -n)")
    parser.add_argument("--contention-runs", type=positive_int, default=1, metavar="N",
                        help="runs of each engine under contention (default: 1)")
    parser.add_argument("--hearth-args", default="", metavar="ARGS",
                        help="extra arguments for hearth bench, as one string")
    parser.add_argument("--llama-args", default="", metavar="ARGS",
                        help="extra arguments for llama-bench, as one string (e.g. '-fa 1')")
    args = parser.parse_args()

    if not any(args.n_prompt) and not any(args.n_gen):
        parser.error("nothing to measure: -p and -n are both 0")
    if 0 in args.threads:
        parser.error("-t/--threads: thread counts must be at least 1")
    args.model = Path(args.model).expanduser()
    if not args.model.is_file():
        hint = " (scripts/fetch-models.sh smollm2 fetches it)" if args.model == DEFAULT_MODEL else ""
        fail(f"no model file at {args.model}{hint}")
    if not (os.path.isfile(args.hearth) and os.access(args.hearth, os.X_OK)):
        fail(f"no hearth binary at {args.hearth}: build it with `swift build -c release`, or pass --hearth PATH")

    hearth = hearth_engine(args.hearth, shlex.split(args.hearth_args))
    if args.llama_bench:
        if not (os.path.isfile(args.llama_bench) and os.access(args.llama_bench, os.X_OK)):
            fail(f"--llama-bench {args.llama_bench}: no such executable")
        llama = llama_bench_engine(args.llama_bench, shlex.split(args.llama_args))
    else:
        version = llama_cpp_python_version(args.python)
        if version is None:
            fail("nothing to compare with: pass --llama-bench PATH (or set LLAMA_BENCH) to a llama-bench "
                 "binary built from llama.cpp, or install llama-cpp-python (pip install llama-cpp-python) "
                 f"for {args.python}")
        if args.llama_args:
            fail("--llama-args needs --llama-bench; llama-cpp-python is run with llama-bench's defaults")
        say(f"bench-compare: no llama-bench given (--llama-bench or LLAMA_BENCH); using llama-cpp-python {version}")
        llama = llama_cpp_python_engine(args.python, version)
    engines = [llama, hearth]

    size = args.model.stat().st_size
    print(f"model: {args.model} ({size / 2**20:.2f} MiB)")
    print(f"llama.cpp: {llama.description}")
    print(f"Hearth: {hearth.description}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at the start; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    if load > 0.5:
        say(f"bench-compare: note: the load average is {load:.2f}; other processes are competing for the cores, "
            "which lowers both engines' figures (and the ratios less so, as the runs alternate)")
    print(f"method: {args.repetitions} runs of each engine per test, one process each (-r 1 after a "
          "warmup), alternating; mean ± sample standard deviation")
    print(f"command: {shlex.join([sys.argv[0]] + sys.argv[1:])}")
    print()
    sys.stdout.flush()
    rows = speed_table(engines, args)
    if args.rss:
        rss_table(engines, args)
    if args.contention:
        contention_table(engines, args, rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == WORKER_FLAG:
        llama_cpp_python_worker(sys.argv[2:])
    else:
        try:
            main()
        except KeyboardInterrupt:
            sys.exit(130)
