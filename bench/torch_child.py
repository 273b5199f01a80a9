"""The PyTorch side of the benchmarks that race PyTorch (bench/torch-child.ts starts it), one thread, CPU.

A long-lived child process, so that its turns alternate with ours under the same machine load. A bench's
script (bench/nn-torch.py, bench/world-model-torch.py) defines `prepare(problem) -> {case: step}` and calls
`serve(prepare)`. Protocol, one JSON object per line each way:
  -> {"ready": true, "blas": ...}                 sent first: the torch version and the BLAS it runs on
  <- {"prepare": {...}}                           builds the cases of a problem; answered with
     {"prepared": [case names], "notes": {...}}
  <- {"case": "name", "turn_ms": 250}             runs the case for at least turn_ms (0: exactly once);
     answered with {"calls": n, "ms": elapsed, "cpu_ms": this process's CPU time, "loss": the last call's value}
  <- {"quit": true}
"""

import json
import os
import re
import sys
import time

import torch

torch.set_num_threads(1)


def blas_info():
    """The BLAS this torch runs on: its build config, the BLAS alternative, and the library actually mapped."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # make sure the BLAS is loaded
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if any(k in path for k in ("blas", "mkl", "lapack")):
                    libs.add(path)
    except OSError:
        pass
    match = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    info = {
        "torch": torch.__version__,
        "build": f"BLAS_INFO={match.group(1)}" if match else "unknown",
        "loaded": sorted(libs),
        "threads": torch.get_num_threads(),
    }
    # Debian's torch links the generic libblas.so.3, which the alternatives system points at a BLAS.
    for alternative in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/usr/lib/aarch64-linux-gnu/libblas.so.3"):
        if os.path.exists(alternative):
            info["alternative"] = os.path.realpath(alternative)
    return info


def send(message):
    print(json.dumps(message), flush=True)


def serve(prepare):
    """Answers the protocol above; `prepare(problem)` returns (cases, notes): {name: step} and a dict."""
    send({"ready": True, "blas": blas_info()})
    cases = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        if "prepare" in request:
            new, notes = prepare(request["prepare"])
            cases.update(new)
            send({"prepared": sorted(new), "notes": notes})
            continue
        run = cases[request["case"]]
        turn = request["turn_ms"] / 1000
        calls = 0
        cpu = time.process_time()
        start = time.perf_counter()
        while True:
            value = run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= turn:
                break
        cpu = time.process_time() - cpu
        send({"calls": calls, "ms": 1000 * elapsed, "cpu_ms": 1000 * cpu, "loss": value})
