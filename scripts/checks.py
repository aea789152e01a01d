"""What the end-to-end test scripts share: named checks that print PASS or FAIL and are
counted, the summary that ends a run, a file's sha256, a free port on the loopback, and
BIG-bench's prompt format."""
import hashlib
import socket
import sys

_failed = 0


def check(name, ok, detail=""):
    """Prints PASS or FAIL for one check (with `detail` under a failure) and counts failures."""
    global _failed
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)
    if not ok:
        _failed += 1


def finish():
    """Prints the summary and exits: 1 when a check failed."""
    print("all checks passed" if _failed == 0 else f"{_failed} check(s) failed")
    sys.exit(1 if _failed else 0)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def bigbench_prompt(task, example):
    """BIG-bench's default prompt for a task.json example (bigbench/api/json_task.py), the
    task prefix first, appended choices sorted (BIG-bench shuffles them with numpy)."""
    text = example["input"]
    if task.get("append_choices_to_input", True):
        prefix = task.get("choice_prefix", "\n  choice: ")
        text += prefix + prefix.join(sorted(example["target_scores"]))
    return task.get("task_prefix", "") + task.get("example_input_prefix", "\nQ: ") + text + task.get("example_output_prefix", "\nA: ")


def bigbench_gold(example):
    """The index of the first best-scored choice, as BIG-bench takes the target."""
    scores = list(example["target_scores"].values())
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
