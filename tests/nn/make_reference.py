#!/usr/bin/python3
"""Writes the PyTorch reference files of tests/nn/reference/ (run by hand).

    /usr/bin/python3 tests/nn/make_reference.py      # needs python3-torch 1.13

For each model below, one file <model>.ref holding named float32 tensors:
  param:<name>   the weights (and batch-norm buffers) the C test loads by name
  input          the batch fed to the model (training mode)
  output         the model's output
  dout           dL/doutput used for the backward pass
  dinput         dL/dinput
  grad:<name>    dL/dparameter
  adam:<name>    the parameters after one torch.optim.Adam step
                 (lr 2e-4, betas (0.5, 0.999)) from those gradients
  buf:<name>     batch-norm running statistics after the forward
  loss           the loss value (when a loss produced dout), shape (1)
losses.ref: p (probabilities), s (critic scores), and per loss
  <loss>:<target>:value and <loss>:<target>:grad.

File format (little endian): the 8 bytes "LPZREF1\\n", then records:
  u32 name length, name bytes, u32 ndim, ndim x i64 dims, float32 data.

The sizes are the architectures of ../shared/REFERENCE.md scaled down
(widths 8-32, 16x16 images) so the files stay small.
"""
import os
import struct

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(b"LPZREF1\n")
        for name, t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", t.dim()))
            for d in t.shape:
                f.write(struct.pack("<q", d))
            f.write(t.numpy().astype("<f4").tobytes())
    print("wrote", path, os.path.getsize(path), "bytes")


def run(name, model, x, loss_fn=None):
    """Forward in training mode, backward of loss_fn (or of a random dout),
    one Adam step; collects everything the C test compares."""
    model.train()
    recs = []
    for k, v in model.state_dict().items():
        recs.append(("param:" + k, v.clone()))
    x = x.clone().requires_grad_(True)
    y = model(x)
    if loss_fn is not None:
        yy = y.detach().clone().requires_grad_(True)
        loss = loss_fn(yy)
        loss.backward()
        dout = yy.grad.clone()
        recs.append(("loss", loss.detach().reshape(1)))
    else:
        dout = torch.randn_like(y)
    y.backward(dout)
    recs += [("input", x.detach()), ("output", y.detach()), ("dout", dout), ("dinput", x.grad)]
    for k, p in model.named_parameters():
        recs.append(("grad:" + k, p.grad.clone()))
    for k, v in model.state_dict().items():
        if "running" in k or "num_batches" in k:
            recs.append(("buf:" + k, v.clone().float()))
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.step()
    for k, p in model.named_parameters():
        recs.append(("adam:" + k, p.detach().clone()))
    write(os.path.join(OUT, name + ".ref"), recs)


class SeqModel(nn.Module):
    """Linear -> 2-layer LSTM -> Linear per time step (the `rnn` network)."""

    def __init__(self, f, h, out, dropout):
        super().__init__()
        self.inp = nn.Linear(f, h)
        self.rnn = nn.LSTM(h, h, num_layers=2, batch_first=True, dropout=dropout)
        self.out = nn.Linear(h, out)

    def forward(self, x):
        y, _ = self.rnn(self.inp(x))
        return self.out(y)


def randomize_bn(model):
    # non-trivial affine parameters and running statistics, so the test
    # catches a swapped weight/bias or a wrong running-variance update
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    bce = nn.BCELoss()

    # four_layer_perceptron, latent 16, hidden 32, sample 64 (8x8)
    g = nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2),
                      nn.Linear(32, 64), nn.Tanh())
    run("mlp_g", g, torch.randn(5, 16))
    d = nn.Sequential(nn.Linear(64, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2),
                      nn.Linear(32, 1), nn.Sigmoid())
    run("mlp_d", d, torch.rand(5, 64) * 2 - 1, lambda y: bce(y, torch.ones_like(y)))

    # convolutional (DCGAN), width 8, 3x16x16 images, latent 8x1x1
    g = nn.Sequential(nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=True), nn.Tanh())
    randomize_bn(g)
    run("dcgan_g", g, torch.randn(4, 8, 1, 1))
    d = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1, bias=True), nn.LeakyReLU(0.2),
                      nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.2),
                      nn.Conv2d(16, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    randomize_bn(d)
    run("dcgan_d", d, torch.rand(4, 3, 16, 16) * 2 - 1, lambda y: bce(y, torch.zeros_like(y)))

    # rnn: features 4, hidden 10, sequence 6; dropout 0 so that PyTorch's
    # random mask does not enter (dropout has its own finite-difference test)
    run("lstm_seq", SeqModel(4, 10, 4, 0.0), torch.randn(3, 6, 4))

    # losses on fixed probabilities and critic scores
    p = torch.cat([torch.tensor([0.0, 1.0, 1e-30, 0.5]), torch.rand(6)])
    s = torch.randn(10)
    recs = [("p", p), ("s", s)]
    for target in (0.0, 1.0):
        for lname, fn, inp in (("bce", nn.BCELoss(), p), ("mse", nn.MSELoss(), p),
                               ("wasserstein", None, s), ("heuristic", None, p)):
            if lname == "heuristic" and target == 0.0:
                continue
            x = inp.clone().requires_grad_(True)
            if lname == "wasserstein":
                loss = -x.mean() if target == 1.0 else x.mean()
            elif lname == "heuristic":
                # the original's -0.5 * mean(log(D(G(z)))) with BCE's log
                # clamp (and gradient): 0.5 * BCE(p, 1)
                loss = 0.5 * nn.BCELoss()(x, torch.ones_like(x))
            else:
                loss = fn(x, torch.full_like(x, target))
            loss.backward()
            recs.append(("%s:%g:value" % (lname, target), loss.detach().reshape(1)))
            recs.append(("%s:%g:grad" % (lname, target), x.grad.clone()))
    write(os.path.join(OUT, "losses.ref"), recs)


if __name__ == "__main__":
    main()
