#!/usr/bin/python3
"""Cross-check of lpz's InceptionV3 pool features with torchvision.

  torch_crosscheck.py PATH/TO/inception_tool WORK_DIR

Builds torchvision.models.inception_v3(weights=None, aux_logits=False,
init_weights=True) with a fixed seed, gives its batch norms realistic
statistics (running mean/var measured on a batch in training mode, then
random gamma/beta, so folding them into the convolutions is really
exercised), writes its whole state_dict to a safetensors file by hand
(8-byte length, JSON header, raw little-endian data) with metadata
inception_variant=torchvision, and compares for several input sizes (RGB
and grey, up- and down-sampling) the 2048 pool features of
  - torchvision's blocks       with lpz (variant from the file's metadata),
  - pytorch-fid's FID blocks   with lpz (variant forced to "fid"),
where PyTorch resizes with F.interpolate(size=(299, 299), mode='bilinear',
align_corners=False) as pytorch-fid does. Passes when every image's
max |lpz - torch| / max |torch| <= 1e-3 and the two variants differ in
PyTorch by far more than that (so the check can tell them apart).
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.inception import InceptionA, InceptionC, InceptionE

TOL = 1e-3
tool, work = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
torch.manual_seed(1234)


# pytorch-fid's patched blocks (pytorch_fid/inception.py), as forward
# overrides of torchvision's classes so the same weights serve both.
class FIDInceptionA(InceptionA):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b5, b3, bp], 1)


class FIDInceptionC(InceptionC):
    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for m in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b7, bd, bp], 1)


class FIDInceptionE(InceptionE):
    use_max = False  # FIDInceptionE_2 (Mixed_7c) max-pools

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.use_max:
            bp = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            bp = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        return torch.cat([b1, b3, bd, self.branch_pool(bp)], 1)


class FIDInceptionE2(FIDInceptionE):
    use_max = True


def smooth_images(n, c, h, w):
    """Images in [-1, 1] with structure at several scales (random noise
    alone would average away in the deep layers)."""
    x = torch.zeros(n, c, h, w)
    for s in (2, 5, 11):
        x += F.interpolate(torch.rand(n, c, s, s) * 2 - 1, size=(h, w), mode="bilinear", align_corners=False)
    x += 0.3 * (torch.rand(n, c, h, w) * 2 - 1)
    return (x / x.abs().max()).clamp(-1, 1)


model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
# Batch-norm statistics from data (cumulative average over one batch), then
# random affine parameters.
bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
for m in bns:
    m.reset_running_stats()
    m.momentum = None
model.train()
with torch.no_grad():
    model(smooth_images(3, 3, 299, 299))
    for m in bns:
        m.weight.uniform_(0.5, 1.5)
        m.bias.uniform_(-0.2, 0.2)
model.eval()

# The state_dict, every tensor (fc and num_batches_tracked included: lpz
# must ignore what it does not use).
weights = os.path.join(work, "inception_torchvision.safetensors")
sd = model.state_dict()
header, blobs, off = {}, [], 0
for name, t in sd.items():
    a = t.detach().cpu().contiguous().numpy()
    dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
    b = a.astype(a.dtype.newbyteorder("<")).tobytes()
    header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
header["__metadata__"] = {"inception_variant": "torchvision", "format": "pt"}
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(weights, "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for b in blobs:
        f.write(b)
del blobs

model.fc = torch.nn.Identity()  # eval forward now ends at the pooled, flattened 2048 features
fid = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
fid.load_state_dict(sd)
for name, cls in [("Mixed_5b", FIDInceptionA), ("Mixed_5c", FIDInceptionA), ("Mixed_5d", FIDInceptionA),
                  ("Mixed_6b", FIDInceptionC), ("Mixed_6c", FIDInceptionC), ("Mixed_6d", FIDInceptionC),
                  ("Mixed_6e", FIDInceptionC), ("Mixed_7b", FIDInceptionE), ("Mixed_7c", FIDInceptionE2)]:
    getattr(fid, name).__class__ = cls
fid.fc = torch.nn.Identity()
fid.eval()


def reference(net, x):
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        return net(x).numpy()


def lpz(x, variant):
    inp = os.path.join(work, "images.npy")
    out = os.path.join(work, "features.npy")
    np.save(inp, x.numpy().astype("<f4"))
    r = subprocess.run([tool, "features", weights, inp, out, variant], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAILED: inception_tool features %s: %s" % (variant, r.stderr.strip()))
        sys.exit(1)
    return np.load(out)


ok = True
cases = [("2 RGB 64x64", smooth_images(2, 3, 64, 64)), ("1 grey 28x28", smooth_images(1, 1, 28, 28)),
         ("1 RGB 37x50", smooth_images(1, 3, 37, 50)), ("1 RGB 320x310", smooth_images(1, 3, 320, 310))]
for label, x in cases:
    ref_tv, ref_fid = reference(model, x), reference(fid, x)
    for variant, ref in (("auto", ref_tv), ("fid", ref_fid)):
        got = lpz(x, variant)
        if got.shape != ref.shape:
            print("FAILED: %s %s: shape %s, PyTorch %s" % (label, variant, got.shape, ref.shape))
            ok = False
            continue
        for i in range(ref.shape[0]):
            scale = np.abs(ref[i]).max()
            rel = np.abs(got[i] - ref[i]).max() / scale
            spread = ref[i].std() / scale  # features must not be degenerate (constant, all zero)
            good = rel <= TOL and scale > 0 and spread > 0.01
            ok &= bool(good)
            print("%s: %s image %d (%s): max |lpz - torch| / max |torch| = %.2e (max %.3g, std/max %.2f)"
                  % ("ok" if good else "FAILED", label, i, "torchvision" if variant == "auto" else "fid",
                     rel, scale, spread))
    apart = (np.abs(ref_tv - ref_fid).max(axis=1) / np.abs(ref_tv).max(axis=1)).min()
    if apart < 10 * TOL:
        print("FAILED: %s: the torchvision and FID variants differ by only %.2e in PyTorch" % (label, apart))
        ok = False
print("InceptionV3 cross-check %s" % ("passed" if ok else "FAILED"))
sys.exit(0 if ok else 1)
