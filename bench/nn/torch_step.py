#!/usr/bin/python3
"""PyTorch twin of bench_nn: the same GAN steps, torch.set_num_threads(1).

Each case runs twice: as an idiomatic PyTorch training loop would write the
step (one Adam per network kept across steps, the discriminator's fake batch
made under no_grad), and as Lipizzaner itself runs it (update_genomes with
compute_loss_against: per update a new Adam loaded with the individual's
saved state, the loss built through both networks with the fake batch not
detached, both networks' gradients zeroed and computed).

One thread means one thread for every library PyTorch computes with:
torch.set_num_threads(1) limits its OpenMP pool (oneDNN's convolutions, its
own kernels) but not OpenBLAS, which Debian's PyTorch calls for its matrix
products (nn.Linear, the LSTM) and whose pthreads build starts one worker
per core unless OPENBLAS_NUM_THREADS says otherwise: until 2026-11-29 this
script ran PyTorch's products on both cores of this machine (mlp_b100
22.7 ms there, 25.6 ms on one thread). The variables are set here, before
torch is imported, whatever the caller's environment says.

Prints "torch <version>", then per case "<case> <median ms> <median CPU ms>
<median process CPU ms>" and "<case>_lipizzaner ..." the same, for bench_nn
to read: CPU ms of the calling thread, and of the whole process (every
thread; well above the thread's if PyTorch still ran work elsewhere).
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import torch  # noqa: E402 (after the thread variables, which it reads when loaded)
import torch.nn as nn


def mlp():
    g = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 784), nn.Tanh())
    d = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 1), nn.Sigmoid())
    return g, d, (64,), (784,)


def dcgan():
    # as lpz's convolutional plugin and the original's network_factory.py: every
    # (transposed) convolution with PyTorch's default bias=True
    layers, cin = [], 100
    for i, c in enumerate((512, 256, 128, 64)):
        layers += [nn.ConvTranspose2d(cin, c, 4, 2 if i else 1, 1 if i else 0), nn.BatchNorm2d(c),
                   nn.ReLU(True)]
        cin = c
    g = nn.Sequential(*layers, nn.ConvTranspose2d(64, 3, 4, 2, 1), nn.Tanh())
    layers, cin = [nn.Conv2d(3, 64, 4, 2, 1), nn.LeakyReLU(0.2, True)], 64
    for c in (128, 256, 512):
        layers += [nn.Conv2d(cin, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
        cin = c
    d = nn.Sequential(*layers, nn.Conv2d(512, 1, 4, 1, 0), nn.Flatten(), nn.Sigmoid())
    return g, d, (100, 1, 1), (3, 64, 64)


class LstmG(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(10, 10)
        self.rnn = nn.LSTM(10, 10, num_layers=2, batch_first=True, dropout=0.05)
        self.out = nn.Linear(10, 4)

    def forward(self, z):
        y, _ = self.rnn(self.inp(z.unsqueeze(1).expand(-1, 30, -1)))
        return self.out(y)


class LstmD(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 10)
        self.rnn = nn.LSTM(10, 10, num_layers=2, batch_first=True, dropout=0.05)
        self.out = nn.Linear(10, 1)

    def forward(self, x):
        y, _ = self.rnn(self.inp(x))
        return torch.sigmoid(self.out(y[:, -1]))


def lstm():
    return LstmG(), LstmD(), (10,), (30, 4)


def timed(step, reps):
    """Median wall, thread CPU and process CPU milliseconds of reps calls of step, after one warm-up call."""
    step()
    times, cpu, proc = [], [], []
    for _ in range(reps):
        t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        proc.append(time.process_time() - p0)
    mid = len(times) // 2
    return sorted(times)[mid] * 1e3, sorted(cpu)[mid] * 1e3, sorted(proc)[mid] * 1e3


def run(make, batch, reps):
    """The step as an idiomatic PyTorch loop writes it."""
    g, d, zshape, xshape = make()
    og = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCELoss()
    real = torch.rand(batch, *xshape) * 2 - 1
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        od.zero_grad()
        with torch.no_grad():
            fake = g(torch.randn(batch, *zshape))
        loss = bce(d(real), ones) + bce(d(fake), zeros)
        loss.backward()
        od.step()
        og.zero_grad()
        loss = bce(d(g(torch.randn(batch, *zshape))), ones)
        loss.backward()
        og.step()

    return timed(step, reps)


def run_lipizzaner(make, batch, reps):
    """The step as Lipizzaner runs it: LipizzanerGANTrainer.update_genomes around the networks'
    compute_loss_against (src/training/ea/lipizzaner_gan_trainer.py, src/networks/competetive_net.py).
    The networks and losses are those of run() (for the LSTM GAN the discriminator's last-step score through a
    sigmoid, as lpz, not the original's softmax over the batch): only the update around them differs."""
    g, d, zshape, xshape = make()
    bce = nn.BCELoss()
    real = torch.rand(batch, *xshape) * 2 - 1
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    saved = {}  # the individual's optimizer_state

    def update(name, attacker, defender, loss_against):
        opt = torch.optim.Adam(attacker.parameters(), lr=2e-4, betas=(0.5, 0.999))
        if name in saved:
            opt.load_state_dict(saved[name])
        loss = loss_against()
        attacker.zero_grad()
        defender.zero_grad()
        loss.backward()
        opt.step()
        saved[name] = opt.state_dict()

    def d_loss():  # DiscriminatorNet.compute_loss_against: the fake batch keeps its graph into G
        return bce(d(real), ones) + bce(d(g(torch.randn(batch, *zshape))), zeros)

    def g_loss():  # GeneratorNet.compute_loss_against
        return bce(d(g(torch.randn(batch, *zshape))), ones)

    def step():
        update("d", d, g, d_loss)
        update("g", g, d, g_loss)

    return timed(step, reps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(1)
    dreps = min(a.reps, 5)
    print("torch %s" % torch.__version__, flush=True)
    cases = [("mlp_b100", mlp, 100, a.reps), ("mlp_b400", mlp, 400, a.reps)]
    cases.append(("dcgan_b16", dcgan, 16, dreps) if a.quick else ("dcgan_b64", dcgan, 64, dreps))
    cases.append(("lstm_b100", lstm, 100, a.reps))
    for name, build, batch, reps in cases:
        if name.startswith(a.only):  # bench_nn --only's case prefix
            print("%s %.3f %.3f %.3f" % ((name,) + run(build, batch, reps)), flush=True)
            print("%s_lipizzaner %.3f %.3f %.3f" % ((name,) + run_lipizzaner(build, batch, reps)), flush=True)


if __name__ == "__main__":
    main()
