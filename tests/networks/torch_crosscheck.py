#!/usr/bin/python3
"""PyTorch cross-check of lpz's network plugins and model files.

For each folder written by crosscheck_dump_<plugin> (see crosscheck_dump.c):
read the safetensors files by hand (8-byte length, JSON header, raw
little-endian data; the `safetensors` package is not needed), rebuild the
equivalent PyTorch module from the file's metadata alone (network name,
options, sample shape), load_state_dict(strict=True), and compare:
  - training mode: R.pre.safetensors on x_train gives y_train, and the batch
    norm running statistics afterwards equal those of R.safetensors
    (skipped where dropout makes training mode random);
  - eval mode: R.safetensors on x_eval gives y_eval;
  - for the DCGAN, R.pre.safetensors against the original's _init_weights.
Tolerance 1e-4. Exits 0 when everything matches, 1 otherwise.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

TOL = 1e-4
DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4")}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arr = np.frombuffer(body[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class MLPGenerator(nn.Module):
    """four_layer_perceptron: the Sequential, then reshape to the sample."""

    def __init__(self, latent, hidden, sample):
        super().__init__()
        self.sample = sample
        self.net = nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, int(np.prod(sample))), nn.Tanh())

    def forward(self, z):
        return self.net(z).reshape(z.shape[0], *self.sample)


def build(meta, role):
    name = meta["network"]
    opts = json.loads(meta["network_options"])
    sample = json.loads(meta["sample_shape"])
    latent = json.loads(meta["latent_shape"])
    critic = meta["critic"] == "1"
    head = [] if critic else [nn.Sigmoid()]
    if name == "four_layer_perceptron":
        h = int(opts["hidden"])
        s = int(np.prod(sample))
        if role == "generator":
            g = MLPGenerator(latent[0], h, sample)
            return g.net, (lambda x, m=g: m(x))
        d = nn.Sequential(nn.Linear(s, h), nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2), nn.Linear(h, 1),
                          *head)
        return d, (lambda x, m=d: m(x.reshape(x.shape[0], -1)))
    if name == "convolutional":
        # as the original's ConvolutionalNetworkFactory (network_factory.py):
        # every (transposed) convolution with PyTorch's default bias=True
        w = int(opts["width"])
        c, size = sample[0], sample[1]
        blocks = 4 if size == 64 else 3
        layers = []
        if role == "generator":
            ch, cin = w * 2 ** (blocks - 1), latent[0]
            for b in range(blocks):
                layers += [nn.ConvTranspose2d(cin, ch, 4, 1 if b == 0 else 2, 0 if b == 0 else 1),
                           nn.BatchNorm2d(ch), nn.ReLU(True)]
                cin, ch = ch, ch // 2
            layers += [nn.ConvTranspose2d(cin, c, 4, 2, 1), nn.Tanh()]
            g = nn.Sequential(*layers)
            return g, (lambda x, m=g: m(x))
        layers += [nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        cin = w
        for _ in range(1, blocks):
            layers += [nn.Conv2d(cin, cin * 2, 4, 2, 1), nn.BatchNorm2d(cin * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            cin *= 2
        layers += [nn.Conv2d(cin, 1, 4, 1, 0), *head]
        d = nn.Sequential(*layers)
        return d, (lambda x, m=d: m(x).reshape(x.shape[0], 1))
    if name == "rnn":
        h, nl, p = int(opts["hidden"]), int(opts["layers"]), float(opts["dropout"])
        steps, feats = sample

        class RNN(nn.Module):
            def __init__(self, fin, fout):
                super().__init__()
                self.inp = nn.Linear(fin, h)
                self.rnn = nn.LSTM(h, h, num_layers=nl, dropout=p, batch_first=True)
                self.out = nn.Linear(h, fout)

            def forward(self, x):
                return self.out(self.rnn(self.inp(x))[0])

        if role == "generator":
            g = RNN(h, feats)
            return g, (lambda z, m=g: torch.tanh(m(z.unsqueeze(1).expand(-1, steps, -1))))
        d = RNN(feats, 1)
        last = (lambda y: y) if critic else torch.sigmoid
        return d, (lambda x, m=d: last(m(x)[:, -1, :]))
    raise SystemExit(f"unknown network {name}")


def init_like_original(module):
    """ConvolutionalNetworkFactory._init_weights of the original: conv and
    transposed-conv weights ~ Normal(0, 0.02), their biases 0; batch norms
    keep PyTorch's defaults."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            m.weight.data.normal_(0, 0.02)
            m.bias.data.zero_()


def check_init(tag, role, module, pre):
    """lpz's freshly built DCGAN against a PyTorch one initialised as the
    original does: every deterministic tensor equal, the random conv weights
    Normal(0, 0.02) (mean and std checked on the tensors of 4096+ values)."""
    init_like_original(module)
    want = module.state_dict()
    ok = True
    for name, t in pre.items():
        if name.endswith(".weight") and t.dim() == 4:
            if t.numel() >= 4096:
                mean, std = float(t.mean()), float(t.std())
                good = abs(mean) < 0.002 and abs(std - 0.02) < 0.002
                print(f"{'ok  ' if good else 'FAIL'} {tag} {role} init {name}: mean {mean:.2g}, std {std:.3g}")
                ok &= good
            continue
        good = bool(torch.equal(t, want[name]))
        if not good:
            print(f"FAIL {tag} {role} init {name} differs from the original's init")
        ok &= good
    print(f"{'ok  ' if ok else 'FAIL'} {tag} {role} init as the original's _init_weights")
    return ok


def compare(what, got, want):
    got = got.detach().numpy()
    if got.shape != want.shape:
        print(f"FAIL {what}: shape {got.shape}, lpz {want.shape}")
        return False
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    ok = np.allclose(got, want, atol=TOL, rtol=TOL)
    print(f"{'ok  ' if ok else 'FAIL'} {what}: max |torch - lpz| = {diff:.3g}")
    return ok


def check(folder):
    ok = True
    tag = os.path.basename(folder)
    for r, role in (("G", "generator"), ("D", "discriminator")):
        pre, meta = read_safetensors(os.path.join(folder, f"{r}.pre.safetensors"))
        post, meta_post = read_safetensors(os.path.join(folder, f"{r}.safetensors"))
        assert meta["role"] == role and meta_post == meta, f"{tag}: metadata differs between files"
        module, run = build(meta, role)
        x_train = torch.from_numpy(np.load(os.path.join(folder, f"{r}.x_train.npy")))
        x_eval = torch.from_numpy(np.load(os.path.join(folder, f"{r}.x_eval.npy")))
        y_train = np.load(os.path.join(folder, f"{r}.y_train.npy"))
        y_eval = np.load(os.path.join(folder, f"{r}.y_eval.npy"))
        if meta["network"] == "convolutional":
            ok &= check_init(tag, role, module, pre)
        random_train = any(isinstance(m, nn.LSTM) and m.dropout > 0 and m.num_layers > 1 for m in module.modules())
        module.load_state_dict(pre, strict=True)
        if not random_train:
            module.train()
            with torch.no_grad():
                ok &= compare(f"{tag} {role} training-mode output", run(x_train), y_train)
            state = module.state_dict()
            for name, t in post.items():
                if t.dtype == torch.int64:
                    good = bool(torch.equal(state[name], t))
                    print(f"{'ok  ' if good else 'FAIL'} {tag} {role} {name} = {int(state[name])}, lpz {int(t)}")
                    ok &= good
                else:
                    ok &= compare(f"{tag} {role} {name} after one training batch", state[name], t.numpy())
        else:
            print(f"skip {tag} {role} training mode (LSTM dropout is random)")
        module.load_state_dict(post, strict=True)
        module.eval()
        with torch.no_grad():
            ok &= compare(f"{tag} {role} eval-mode output", run(x_eval), y_eval)
    return ok


def main():
    torch.set_num_threads(1)
    if len(sys.argv) < 2:
        raise SystemExit("usage: torch_crosscheck.py DUMP_FOLDER...")
    ok = True
    for folder in sys.argv[1:]:
        ok &= check(folder)
    print("PyTorch cross-check:", "all match" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
