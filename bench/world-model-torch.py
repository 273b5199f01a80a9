"""PyTorch side of `npm run bench -- world-model-speed` (one thread, CPU).

Started by bench/world-model-speed.bench.ts as a long-lived child process so that its turns alternate with
ours under the same load. Protocol, one JSON object per line each way:
  <- {"sizes": ..., "members": ..., ...}              the problem; answered with {"ready": true, "blas": ...}
  <- {"case": "ensemble-forward", "turn_ms": 250}   runs the case for at least turn_ms; answered with
     {"calls": n, "ms": elapsed, "loss": last value}
  <- {"quit": true}

The models are written the way a PyTorch user would write them for speed: the ensemble keeps its weights
as [E, in, out] and runs one baddbmm per layer (as MBPO's and PETS' reference code do), with F.silu and
the PETS soft log-variance bounds; the GRU is torch.nn.GRU with an nn.Linear head.
"""

import json
import re
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def blas_info():
    """What BLAS this torch uses: its build config, and which BLAS library the process actually mapped."""
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
    build = f"BLAS_INFO={match.group(1)}" if match else "unknown"
    return {"torch": torch.__version__, "build": build, "loaded": sorted(libs), "threads": torch.get_num_threads()}


class Ensemble(torch.nn.Module):
    def __init__(self, members, sizes, out_features):
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for i in range(len(sizes) - 1):
            bound = 1 / sizes[i] ** 0.5
            self.weights.append(torch.nn.Parameter(torch.empty(members, sizes[i], sizes[i + 1]).uniform_(-bound, bound)))
            self.biases.append(torch.nn.Parameter(torch.empty(members, 1, sizes[i + 1]).uniform_(-bound, bound)))
        self.out_features = out_features
        self.max_logvar = torch.nn.Parameter(torch.full((out_features,), 0.5))
        self.min_logvar = torch.nn.Parameter(torch.full((out_features,), -10.0))

    def forward(self, x):
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = F.silu(h)
        mean = h[..., : self.out_features]
        raw = h[..., self.out_features :]
        logvar = self.max_logvar - F.softplus(self.max_logvar - raw)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar


def main():
    problem = json.loads(sys.stdin.readline())
    torch.manual_seed(0)
    members = problem["members"]
    sizes = problem["ensemble_sizes"]  # [in, hidden..., out]; the last layer emits 2 * out
    out_f = sizes[-1]
    ens = Ensemble(members, sizes[:-1] + [2 * out_f], out_f)
    ens_opt = torch.optim.Adam(ens.parameters(), lr=1e-3)
    x_fwd = torch.randn(members, problem["forward_batch"], sizes[0])
    x_train = torch.randn(members, problem["train_batch"], sizes[0])
    y_train = torch.randn(members, problem["train_batch"], out_f)

    g = problem["gru"]
    gru = torch.nn.GRU(g["input"], g["hidden"])
    head = torch.nn.Linear(g["hidden"], g["output"])
    gru_opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)
    x_seq = torch.randn(g["steps"], g["batch"], g["input"])
    y_seq = torch.randn(g["steps"], g["batch"], g["output"])

    def ensemble_forward():
        with torch.no_grad():
            mean, logvar = ens(x_fwd)
        return float(mean[0, 0, 0])

    def ensemble_train():
        ens_opt.zero_grad(set_to_none=True)
        mean, logvar = ens(x_train)
        nll = (0.5 * ((mean - y_train) ** 2 * torch.exp(-logvar) + logvar)).mean()
        loss = nll + 0.01 * (ens.max_logvar.sum() - ens.min_logvar.sum())
        loss.backward()
        ens_opt.step()
        return loss.item()

    def gru_train():
        gru_opt.zero_grad(set_to_none=True)
        out, _ = gru(x_seq)
        loss = F.mse_loss(head(out), y_seq)
        loss.backward()
        gru_opt.step()
        return loss.item()

    cases = {"ensemble-forward": ensemble_forward, "ensemble-train": ensemble_train, "gru-train": gru_train}
    print(json.dumps({"ready": True, "blas": blas_info()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        run = cases[request["case"]]
        turn = request["turn_ms"] / 1000
        calls = 0
        start = time.perf_counter()
        while True:
            value = run()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= turn:
                break
        print(json.dumps({"calls": calls, "ms": 1000 * elapsed, "loss": value}), flush=True)


if __name__ == "__main__":
    main()
