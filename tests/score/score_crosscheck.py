"""Cross-check of `lpz score` against PyTorch + SciPy (the original's way).

A small MNIST-format dataset (IDX files of N real Fashion-MNIST images when
installed, else synthetic bars) is the configured training data; with
--sample-size N the real statistics of lpz use every one of its images, so
the reference can compute them too. A classifier of the original's MNISTCnn
shape, trained briefly by PyTorch, is saved as plain safetensors and given
to lpz as trainer.params.score.feature_model. The features of "generated"
samples (test images plus noise; score_tool features), FID
(scipy.linalg.sqrtm as the original's calculate_frechet_distance),
inception score and TVD must agree within a relative 1e-3 (features 1e-4).
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import scipy.linalg
import torch
import torch.nn as nn
import torch.nn.functional as F

BUILD = os.environ["LPZ_BUILD_DIR"]
LPZ = os.path.join(BUILD, "bin", "lpz")
TOOL = os.path.join(BUILD, "tests", "score_tool")
FMNIST = "/usr/share/datasets/fashion-mnist"
N = 600


class MNISTCnn(nn.Module):
    """The original's FID network (training/mixture/fid_mnist.py)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[8 + n + b:8 + n + e], "<f4").reshape(t["shape"]).copy())
    return out


def write_safetensors(path, state):
    header, blobs, off = {}, [], 0
    for name, t in state.items():
        b = t.detach().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def idx_images(path, count):
    with gzip.open(path) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16)[:count * 784].reshape(count, 28, 28)


def idx_labels(path, count):
    with gzip.open(path) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=8)[:count]


def write_idx(path, array, labels):
    with gzip.open(path + "-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(array), 28, 28) + array.astype(np.uint8).tobytes())
    with gzip.open(path + "-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def synthetic(count, seed):
    """Images of one bright bar whose position is the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    img = rng.integers(0, 40, (count, 28, 28))
    for i, c in enumerate(labels):
        img[i, 2 + 2 * c:5 + 2 * c, 4:24] = 255
    return img, labels


def main():
    work = tempfile.mkdtemp(prefix="lpz-score-xcheck-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    if os.path.exists(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")):
        train = idx_images(os.path.join(FMNIST, "train-images-idx3-ubyte.gz"), N)
        train_labels = idx_labels(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz"), N)
        test = idx_images(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"), N)
        source = "Fashion-MNIST"
    else:
        train, train_labels = synthetic(N, 1)
        test, _ = synthetic(N, 2)
        source = "synthetic images"
    write_idx(os.path.join(data, "train"), train, train_labels)
    write_idx(os.path.join(data, "t10k"), test, train_labels)
    cfg = os.path.join(work, "run.yml")
    with open(cfg, "w") as f:
        f.write("general:\n  output_dir: %s/out\ndataloader:\n  dataset_name: fashion_mnist\n  path: %s\n"
                "network:\n  name: four_layer_perceptron\n" % (work, data))

    # A classifier trained briefly with PyTorch (so features spread like a
    # real one's), saved as plain safetensors the way torch users would.
    torch.manual_seed(7)
    model = MNISTCnn()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    tx = torch.from_numpy(train.astype(np.float32) / 255 * 2 - 1).view(N, 1, 28, 28)
    ty = torch.from_numpy(train_labels.astype(np.int64))
    for _ in range(3):
        for b in range(0, N, 60):
            opt.zero_grad()
            F.cross_entropy(model(tx[b:b + 60]), ty[b:b + 60]).backward()
            opt.step()
    clf = os.path.join(work, "clf.safetensors")
    write_safetensors(clf, model.state_dict())
    rng = np.random.default_rng(3)
    gen = np.clip(test.astype(np.float32) / 255 * 2 - 1 + rng.normal(0, 0.3, test.shape), -1, 1)
    gen = gen.astype(np.float32).reshape(N, 1, 28, 28)
    gen_path = os.path.join(work, "gen.npy")
    np.save(gen_path, gen)

    out = subprocess.run([LPZ, "score", "-f", cfg, "--samples", gen_path, "--sample-size", str(N), "--json", "-q",
                          "--set", "trainer.params.score.feature_model=" + clf],
                         check=True, capture_output=True, text=True).stdout
    lpz = json.loads(out)

    model = MNISTCnn()
    model.load_state_dict(read_safetensors(clf), strict=True)
    model.eval()
    model.double()  # reference features in double
    with torch.no_grad():
        real_x = torch.from_numpy(train.astype(np.float64) / 255 * 2 - 1).view(N, 1, 28, 28)
        fr = model(real_x).numpy()
        fg = model(torch.from_numpy(gen.astype(np.float64))).numpy()

    feat_path = os.path.join(work, "feat.npy")
    subprocess.run([TOOL, "features", clf, gen_path, feat_path], check=True)
    lf = np.load(feat_path)
    feat_err = np.max(np.abs(lf - fg)) / np.max(np.abs(fg))

    mu1, s1 = fr.mean(0), np.cov(fr, rowvar=False)
    mu2, s2 = fg.mean(0), np.cov(fg, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1.dot(s2)).real
    fid = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    p = torch.softmax(torch.from_numpy(fg), 1).numpy()
    py = p.mean(0)
    inception = float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(py)), 1))))
    hist_g = np.bincount(fg.argmax(1), minlength=10) / N
    hist_r = np.bincount(train_labels, minlength=10) / N
    tvd = float(0.5 * np.abs(hist_g - hist_r).sum())

    ok = True
    print("data: %d %s; lpz vs PyTorch/SciPy" % (N, source))
    print("features: max relative difference %.2e" % feat_err)
    ok &= feat_err <= 1e-4
    for name, ref in (("fid", fid), ("inception_score", inception), ("tvd", tvd)):
        got = lpz[name]
        rel = abs(got - ref) / max(abs(ref), 1e-12)
        print("%-16s lpz %.8g  reference %.8g  relative difference %.2e" % (name, got, ref, rel))
        ok &= rel <= 1e-3
    if lpz["samples"] != N:
        print("lpz scored %d samples, expected %d" % (lpz["samples"], N))
        ok = False
    subprocess.run(["rm", "-rf", work])
    print("cross-check " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
