"""PyTorch side of `npm run bench -- world-model-speed` (one thread, CPU), served by torch_child.py.

The problem ({"members", "ensemble_sizes", "forward_batch", "train_batch", "gru"}) gives three cases:
ensemble-forward, ensemble-train and gru-train. The models are written the way a PyTorch user would write
them for speed: the ensemble keeps its weights as [E, in, out] and runs one baddbmm per layer (as MBPO's
and PETS' reference code do), with F.silu and the PETS soft log-variance bounds; the GRU is torch.nn.GRU
with an nn.Linear head.
"""

import torch
import torch.nn.functional as F
from torch_child import serve


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


def prepare(problem):
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
    return cases, {}


if __name__ == "__main__":
    serve(prepare)
