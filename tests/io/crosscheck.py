#!/usr/bin/python3
"""tests/io/crosscheck.py - core/io against NumPy (and PyTorch if present).

NumPy writes .npy files in every supported dtype, byte order, format
version and shape; the C reader (io_dump) must return the same float32
values, and must refuse Fortran-order files. NumPy must read what the C
writers produce. safetensors files are built and parsed by hand (8-byte
length + JSON + numpy.frombuffer; the safetensors package is not
installed) in both directions; torch, when importable, checks BF16/F16
bytes and loads the C-written weights.

Usage: crosscheck.py PATH/TO/io_dump     exit 0 ok, 1 failure, 77 skipped
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not available to", sys.executable, "- skipped")
    sys.exit(77)
try:
    import torch
except ImportError:
    torch = None

DUMP = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([DUMP, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def c_read_npy(path):
    rc, out, err = run("npy-read", path)
    if rc != 0:
        return None, err
    lines = out.split("\n")
    head = [int(x) for x in lines[0].split()]
    vals = np.array([float(x) for x in lines[1:] if x], dtype=np.float32)
    return (tuple(head[1:]), vals), err


def c_values(n):
    return np.arange(n, dtype=np.float32) * np.float32(0.25) - np.float32(3)


def npy_cases(tmp):
    rng = np.random.default_rng(7)
    dtypes = ["<f4", ">f4", "<f8", ">f8", "|u1", "|i1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4",
              "<u4", ">u4", "<i8", ">i8", "<u8", ">u8", "|b1"]
    shapes = [(), (5,), (2, 3), (2, 3, 4), (0, 3), (1, 1, 1, 1, 1, 2)]
    n = 0
    for dt in dtypes:
        for shape in shapes:
            size = int(np.prod(shape)) if shape else 1
            if dt == "|b1":
                a = rng.integers(0, 2, size).astype(bool)
            elif dt[1] == "f":
                a = rng.standard_normal(size) * 100
            elif dt[1] == "u":
                a = rng.integers(0, 200, size)
            else:
                a = rng.integers(-100, 100, size)
            a = a.astype(dt).reshape(shape)
            for version in [(1, 0), (2, 0), (3, 0)]:
                path = os.path.join(tmp, "np%d.npy" % n)
                n += 1
                with open(path, "wb") as f:
                    np.lib.format.write_array(f, a, version=version)
                got, err = c_read_npy(path)
                what = "npy %s %s v%d" % (dt, shape, version[0])
                if got is None:
                    check(False, what + ": C refused: " + err.strip())
                    continue
                check(got[0] == shape, what + ": shape %s" % (got[0],))
                want = a.astype(np.float32).ravel()
                check(np.array_equal(got[1], want), what + ": values differ")
    # A sliced (non-contiguous) array: numpy saves it in C order.
    a = np.arange(24, dtype="<f4").reshape(4, 6)[:, ::2]
    path = os.path.join(tmp, "slice.npy")
    np.save(path, a)
    got, err = c_read_npy(path)
    check(got is not None and np.array_equal(got[1], a.ravel()), "sliced array")
    # Fortran order must be refused with a clear message.
    path = os.path.join(tmp, "fortran.npy")
    np.save(path, np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    rc, out, err = run("npy-read", path)
    check(rc == 1 and "fortran_order" in err and path in err, "fortran order refused: %r" % err)
    # Unsupported dtypes too.
    for dt in ["<c8", "<f2", "<U3"]:
        path = os.path.join(tmp, "bad%s.npy" % dt[1:])
        np.save(path, np.zeros(3, dtype=dt))
        rc, out, err = run("npy-read", path)
        check(rc == 1 and "dtype" in err, "dtype %s refused: %r" % (dt, err))
    print("npy: numpy -> C: %d files checked" % n)


def npy_c_to_numpy(tmp):
    for cmd in ["npy-write", "npy-stream"]:
        shapes = [(), (7,), (3, 5), (2, 3, 4), (0, 4), (1, 2, 1, 2, 1, 2, 1, 2)]
        if cmd == "npy-stream":
            shapes = [s for s in shapes if s] + [(1500, 2)]
        for shape in shapes:
            path = os.path.join(tmp, "c.npy")
            rc, out, err = run(cmd, path, *[str(d) for d in shape])
            what = "%s %s" % (cmd, shape)
            check(rc == 0, what + ": " + err)
            a = np.load(path)
            check(a.dtype == np.dtype("<f4") and a.shape == shape, what + ": loaded %s %s" % (a.dtype, a.shape))
            want = c_values(int(np.prod(shape)) if shape else 1).reshape(shape)
            check(np.array_equal(a, want), what + ": values differ")
            with open(path, "rb") as f:
                major, minor = f.read(8)[6:8]
                hl = struct.unpack("<H", f.read(2))[0]
            check((major, minor) == (1, 0) and (10 + hl) % 64 == 0, what + ": header layout")
    print("npy: C -> numpy ok")


ST_DT = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?", "F16": "<f2"}


def st_write_py(path, tensors, meta=None, pad=True):
    """Hand-written safetensors writer: tensors = [(name, dtype, shape, bytes)]."""
    header, pos, blobs = {}, 0, []
    if meta is not None:
        header["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + len(raw)]}
        pos += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def st_read_py(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], tuple(info["shape"]),
                     np.frombuffer(body[b:e], dtype=ST_DT[info["dtype"]]).reshape(info["shape"]))
    return meta, out, n


def c_read_st(path):
    rc, out, err = run("st-read", path)
    if rc != 0:
        return None, err
    meta, tensors, cur = {}, {}, None
    for line in out.split("\n"):
        if line.startswith("meta "):
            _, k, v = line.split(" ", 2)
            meta[k] = v.replace("\\n", "\n").replace("\\\\", "\\")
        elif line.startswith("tensor "):
            parts = line.split()
            cur = parts[1]
            tensors[cur] = [parts[2], tuple(int(x) for x in parts[4:]), []]
        elif line:
            tensors[cur][2].append(float(line))
    return (meta, tensors), err


def safetensors_cases(tmp):
    rng = np.random.default_rng(3)
    f32 = rng.standard_normal((3, 4)).astype("<f4")
    f64 = rng.standard_normal(5)
    i64 = np.array([-5, 0, 1 << 40], dtype="<i8")
    i32 = np.array([[-7, 9]], dtype="<i4")
    u8 = np.array([0, 200, 255], dtype="u1")
    bl = np.array([True, False], dtype="?")
    f16 = np.array([1.5, -2.25, 6e-8], dtype="<f2")
    tensors = [("a.weight", "F32", f32.shape, f32.tobytes()), ("f64", "F64", f64.shape, f64.tobytes()),
               ("i64", "I64", i64.shape, i64.tobytes()), ("i32", "I32", i32.shape, i32.tobytes()),
               ("u8", "U8", u8.shape, u8.tobytes()), ("bool", "BOOL", bl.shape, bl.tobytes()),
               ("f16", "F16", f16.shape, f16.tobytes()), ("scalar", "F32", (), np.float32(2.5).tobytes()),
               ("empty", "F32", (0, 3), b"")]
    expected = {"a.weight": f32, "f64": f64, "i64": i64, "i32": i32, "u8": u8, "bool": bl, "f16": f16,
                "scalar": np.float32(2.5), "empty": np.zeros((0, 3))}
    if torch is not None:
        bf = torch.tensor([1.0, -3.5, 0.0078125], dtype=torch.bfloat16)
        tensors.append(("bf16", "BF16", (3,), bf.view(torch.int16).numpy().tobytes()))
        expected["bf16"] = bf.float().numpy()
    for pad in (True, False):
        path = os.path.join(tmp, "py%d.safetensors" % pad)
        st_write_py(path, tensors, {"format": "pt", "note": "é \" \\"}, pad=pad)
        got, err = c_read_st(path)
        if got is None:
            check(False, "safetensors py->C: C refused: " + err)
            continue
        meta, ts = got
        check(meta == {"format": "pt", "note": "é \" \\"}, "metadata %r" % meta)
        for name, want in expected.items():
            dt, shape, vals = ts[name]
            check(shape == np.shape(want), "%s shape %s" % (name, shape))
            check(np.array_equal(np.array(vals, dtype=np.float32), np.asarray(want, dtype=np.float32).ravel()),
                  "%s values" % name)
    # Corruptions the C reader must refuse, naming file (and tensor).
    path = os.path.join(tmp, "bad.safetensors")
    st_write_py(path, [("w", "F32", (3,), f32.tobytes()[:8])])
    rc, out, err = run("st-read", path)
    check(rc == 1 and '"w"' in err and path in err, "size mismatch refused: %r" % err)
    st_write_py(path, [("w", "F32", (2,), f32.tobytes()[:8]), ("v", "F32", (2,), f32.tobytes()[:8])])
    with open(path, "r+b") as f:  # make v overlap w
        data = f.read().replace(b'"data_offsets": [8, 16]', b'"data_offsets": [4, 12]')
        f.seek(0)
        f.write(data)
    rc, out, err = run("st-read", path)
    check(rc == 1 and "overlap" in err, "overlap refused: %r" % err)

    # C -> Python.
    path = os.path.join(tmp, "c.safetensors")
    rc, out, err = run("st-write", path)
    check(rc == 0, "st-write: " + err)
    meta, ts, n = st_read_py(path)
    check((8 + n) % 8 == 0, "C header padded to 8")
    check(meta == {"network": "mlp", "note": "quote \" backslash \\ newline \n unicode é"}, "C metadata %r" % meta)
    check(ts["w"][0] == "F32" and np.array_equal(ts["w"][2], c_values(12).reshape(3, 4)), "C tensor w")
    check(np.array_equal(ts["b"][2], -c_values(4)), "C tensor b")
    check(ts["step"][0] == "I64" and ts["step"][1] == () and int(ts["step"][2]) == 123456789012, "C tensor step")
    check(ts["none"][1] == (0, 2), "C tensor none")
    if torch is not None:
        w = torch.from_numpy(ts["w"][2].copy())
        check(torch.equal(w, torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 3), "torch loads w")
    print("safetensors: both directions ok%s" % ("" if torch is not None else " (torch not available: BF16 skipped)"))


with tempfile.TemporaryDirectory(prefix="lpz-crosscheck-") as tmp:
    npy_cases(tmp)
    npy_c_to_numpy(tmp)
    safetensors_cases(tmp)
    leftovers = [f for f in os.listdir(tmp) if ".tmp." in f]
    check(not leftovers, "temporary files left: %s" % leftovers)

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("all cross-checks passed")
