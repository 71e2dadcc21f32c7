#!/usr/bin/env python3
"""Tampers with a safetensors file in place, for the tests of bad input.

st_edit.py FILE meta KEY VALUE   set a __metadata__ entry (a string)
st_edit.py FILE delmeta KEY      remove a __metadata__ entry (a file of an earlier lpz)
st_edit.py FILE float TENSOR I V  set element I of an F32 tensor to V (nan, inf, -1.5, ...)
st_edit.py FILE int TENSOR I V    set element I of an I64 tensor to V
st_edit.py FILE deltensor TENSOR...  remove tensors (a file of an earlier lpz)
"""
import json
import struct
import sys


def main():
    path, op = sys.argv[1], sys.argv[2]
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = bytearray(raw[8 + n:])
    if op == "meta":
        header.setdefault("__metadata__", {})[sys.argv[3]] = sys.argv[4]
    elif op == "delmeta":
        del header["__metadata__"][sys.argv[3]]
    elif op == "float":
        t = header[sys.argv[3]]
        assert t["dtype"] == "F32"
        off = t["data_offsets"][0] + 4 * int(sys.argv[4])
        data[off:off + 4] = struct.pack("<f", float(sys.argv[5]))
    elif op == "int":
        t = header[sys.argv[3]]
        assert t["dtype"] == "I64"
        off = t["data_offsets"][0] + 8 * int(sys.argv[4])
        data[off:off + 8] = struct.pack("<q", int(sys.argv[5]))
    elif op == "deltensor":
        for name in sys.argv[3:]:
            del header[name]
        # the data area holds exactly the tensors left, in their order
        kept = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
        packed = bytearray()
        for k in kept:
            begin, end = header[k]["data_offsets"]
            header[k]["data_offsets"] = [len(packed), len(packed) + end - begin]
            packed += data[begin:end]
        data = packed
    else:
        sys.exit("st_edit.py: unknown operation " + op)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))


if __name__ == "__main__":
    main()
