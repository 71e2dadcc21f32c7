#!/usr/bin/env python3
"""GAN sanity on real data: a 1x1 Fashion-MNIST MLP run of 800 batches.

Checks what a user would look at: the discriminator does not stay perfect
(its loss on real + fake stays well above 0), and the generated images move
away from noise towards the data (the L1 distance between the pixel
histograms of generated samples and real images drops clearly from the
first iteration to the last). Uses only the standard library.
"""
import glob, gzip, os, struct, subprocess, sys, tempfile, zlib

DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
BINS = 16


def read_png_grey(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour == 0, "expected an 8-bit grey PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width)
    for y in range(height):
        f, line = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a = line[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + b) & 255
            elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows


def tiles(rows, size=28, border=2):
    """The pixels of the 28x28 tiles of a sample grid, borders left out."""
    out = []
    n = (len(rows) - border) // (size + border)
    for ty in range(n):
        for tx in range(n):
            y0, x0 = border + ty * (size + border), border + tx * (size + border)
            for y in range(y0, y0 + size):
                out.extend(rows[y][x0:x0 + size])
    return out


def hist(pixels):
    h = [0] * BINS
    for p in pixels:
        h[p * BINS // 256] += 1
    return [v / len(pixels) for v in h]


def main():
    if not os.path.exists(DATA):
        print("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
        return 77
    lpz = os.path.join(os.environ["LPZ_BUILD_DIR"], "bin", "lpz")
    cfg = os.path.join(os.environ["LPZ_SOURCE_DIR"], "tests", "runtime", "tiny-2x2.yml")
    with gzip.open(DATA) as f:
        real = hist(f.read()[16:16 + 2000 * 784])
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([lpz, "train", "-f", cfg, "-q", "--grid", "1", "--set", "general.output_dir=" + work,
                        "--set", "trainer.n_iterations=8", "--set", "dataloader.n_batches=100",
                        "--set", "dataloader.batch_size=100", "--set", "trainer.params.enable_selection=false",
                        "--set", "general.checkpoint_period=0"], check=True, stdout=subprocess.DEVNULL)
        run = glob.glob(os.path.join(work, "lipizzaner_gan", "*"))[0]
        dist = []
        for it in (1, 8):
            px = tiles(read_png_grey(os.path.join(run, "samples", "cell-0", "iteration-%04d.png" % it)))
            dist.append(sum(abs(a - b) for a, b in zip(hist(px), real)))
        rows = open(os.path.join(run, "metrics.csv")).read().split("\n")[1:]
        d_loss = [float(r.split(",")[3]) for r in rows if r]
    print("histogram L1 distance to real data: iteration 1 %.3f, iteration 8 %.3f" % tuple(dist))
    print("discriminator loss per iteration:", " ".join("%.3f" % v for v in d_loss))
    ok = True
    if not dist[1] < 0.75 * dist[0]:
        print("FAIL: generated images did not move towards the data"); ok = False
    if not min(d_loss[1:]) > 0.15:
        print("FAIL: the discriminator stayed (near) perfect: its loss went to %.3f" % min(d_loss[1:])); ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
