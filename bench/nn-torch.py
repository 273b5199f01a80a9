"""PyTorch side of `npm run bench -- nn` (one thread, CPU), served by torch_child.py.

Each problem ({"label", "batch", "sizes", "x", "y", "weights", "biases", "lr"}: the same data and initial
weights as ours, weights [in, out] row-major) gives one case, named by its label: one training step of a
tanh MLP (forward, MSE, backward, Adam). Written the way a PyTorch user writes it for speed: nn.Sequential
of nn.Linear and nn.Tanh, F.mse_loss, zero_grad(set_to_none=True), and torch.optim.Adam in whichever of its
two implementations (foreach or the per-parameter loop) runs faster at this size, measured here first.
"""

import time

import torch
import torch.nn.functional as F
from torch_child import serve


def build(problem, foreach):
    sizes = problem["sizes"]
    layers = []
    for i in range(len(sizes) - 1):
        linear = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            w = torch.tensor(problem["weights"][i], dtype=torch.float32).reshape(sizes[i], sizes[i + 1])
            linear.weight.copy_(w.t())
            linear.bias.copy_(torch.tensor(problem["biases"][i], dtype=torch.float32))
        layers.append(linear)
        if i + 2 < len(sizes):
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    x = torch.tensor(problem["x"], dtype=torch.float32).reshape(problem["batch"], sizes[0])
    y = torch.tensor(problem["y"], dtype=torch.float32).reshape(problem["batch"], sizes[-1])
    opt = torch.optim.Adam(model.parameters(), lr=problem["lr"], foreach=foreach)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def seconds_per_step(step, budget=0.3):
    for _ in range(3):
        step()
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        step()
        calls += 1
    return (time.perf_counter() - start) / calls


def prepare(problem):
    # Time both Adam implementations on throwaway copies, then build the case fresh from the initial weights.
    timed = {foreach: seconds_per_step(build(problem, foreach)) for foreach in (True, False)}
    foreach = min(timed, key=timed.get)
    notes = {"adam": "foreach" if foreach else "for-loop", "adamMs": {str(k): 1000 * v for k, v in timed.items()}}
    return {problem["label"]: build(problem, foreach)}, notes


if __name__ == "__main__":
    serve(prepare)
