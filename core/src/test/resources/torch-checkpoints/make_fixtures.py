"""Writes the small torch.save checkpoints that TorchCheckpointTest reads.

Run from anywhere with a Python that has torch (tested with torch 2.13 CPU):

    python core/src/test/resources/torch-checkpoints/make_fixtures.py

Every tensor holds values given by a simple formula, so the Java test computes the expected values itself instead
of reading them from Python. The broken files the test needs (truncated, not a zip, no data.pkl, big-endian, short
storage) are derived from these in the test; only what needs Python is written here.
"""
import collections
import io
import os
import pickle
import warnings
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


def dtypes():
    """One tensor of every dtype, plus a 0-dim and an empty tensor: a plain dict, torch.save's defaults."""
    return {
        "f32": (torch.arange(12, dtype=torch.float32) * 0.5).reshape(3, 4),          # k * 0.5
        "f64": (torch.arange(5, dtype=torch.float64) / 8).reshape(5, 1),            # k / 8
        "bf16": (torch.arange(8, dtype=torch.float32) * 0.25 - 1).to(torch.bfloat16).reshape(2, 2, 2),  # k/4 - 1
        "f16": (torch.arange(6, dtype=torch.float32) * 1.5 - 2).to(torch.float16),  # 1.5k - 2
        "i64": (torch.arange(6, dtype=torch.int64) * 1000000007 - 5).reshape(2, 3),  # 1000000007k - 5
        "i32": torch.arange(4, dtype=torch.int32) * -3,                             # -3k
        "i16": torch.arange(3, dtype=torch.int16) + 300,                            # k + 300
        "i8": torch.arange(4, dtype=torch.int8) - 2,                                # k - 2
        "u8": torch.arange(5, dtype=torch.uint8) * 50,                              # 50k
        "bool": torch.arange(7) % 3 == 0,                                           # k % 3 == 0
        "scalar": torch.tensor(2.5),                                                # 0-dim
        "empty": torch.zeros(0, 3),                                                 # no elements
    }


def views():
    """Views saved as views: torch.save writes each storage once, with every tensor's offset and strides."""
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)                      # element (r, c) = 6r + c
    s = torch.arange(10, dtype=torch.int64) * 7                                     # 7k
    return {
        "base": base,
        "transposed": base.t(),                 # shape (6, 4), strides (1, 6)
        "row2": base[2],                        # offset 12
        "col1": base[:, 1],                     # offset 1, stride 6
        "block": base[1:3, 2:5],                # offset 8, strides (6, 1)
        "expanded": base[3].expand(2, 6),       # offset 18, strides (0, 1)
        "head": s[:4],                          # second storage, offset 0
        "tail": s[6:],                          # second storage, offset 6
    }


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.conv = torch.nn.Conv1d(2, 4, 3)
        self.norm = torch.nn.BatchNorm1d(4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch.nn.utils.weight_norm is deprecated, but checkpoints use it
            torch.nn.utils.weight_norm(self.lin)
            torch.nn.utils.weight_norm(self.conv)


def module_state_dict():
    """The state dict of a tiny module, an OrderedDict with _metadata. Tensor i (0-based, in state-dict order) of n
    elements holds (k - n // 2) * 0.125 * (i + 1) at flat index k."""
    m = Tiny()
    sd = m.state_dict()
    with torch.no_grad():
        for i, (name, t) in enumerate(sd.items()):
            n = t.numel()
            v = (torch.arange(n, dtype=torch.float64) - n // 2) * 0.125 * (i + 1)
            t.copy_(v.reshape(t.shape).to(t.dtype))
    sd = m.state_dict()
    assert isinstance(sd, collections.OrderedDict) and hasattr(sd, "_metadata")
    return sd


class Thing:
    """Any user class: unpickling it would mean importing and running user code, so the reader refuses it."""

    def __init__(self):
        self.x = 1


class RunsACommand:
    """Pickles as a call of os.system. Only pickled here (which runs nothing); the reader must refuse it."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def save(obj, name, **kw):
    torch.save(obj, out(name), **kw)
    print(f"{name}: {os.path.getsize(out(name))} bytes")


def main():
    torch.manual_seed(0)
    save(dtypes(), "dtypes.pth", _use_new_zipfile_serialization=True)          # default protocol (2)
    save(views(), "views.pth")
    save(module_state_dict(), "module.pth")
    # Protocol 5: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL instead of protocol 2's opcodes.
    save({"f32": dtypes()["f32"], "bf16": dtypes()["bf16"], "tail": views()["tail"]}, "protocol5.pth",
         pickle_protocol=5)
    # A training checkpoint: the weights under "model", beside other entries. "w" is an nn.Parameter (pickled through
    # torch._utils._rebuild_parameter); "b" is a tensor with a Python attribute (torch._tensor._rebuild_from_type_v2).
    b = torch.arange(2, dtype=torch.float32) + 1
    b.note = "an attribute"
    model = {"w": torch.nn.Parameter(torch.arange(3, dtype=torch.float32) * 0.5), "b": b}
    save({"model": model, "epoch": 3, "lr": 0.001, "note": "tiny"}, "nested.pth")
    # The pre-1.6 format, which the reader does not support.
    save({"x": torch.arange(3, dtype=torch.float32)}, "legacy.pth", _use_new_zipfile_serialization=False)
    # A checkpoint whose pickle names a user class.
    save({"w": torch.arange(2, dtype=torch.float32), "obj": Thing()}, "user_class.pth")

    # A zip laid out like torch.save's whose data.pkl calls os.system (written with pickle.dumps, never loaded).
    payload = pickle.dumps({"w": RunsACommand()}, protocol=2)
    assert b"system" in payload
    with zipfile.ZipFile(out("os_system.pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("os_system/data.pkl", payload)
        z.writestr("os_system/byteorder", "little")
        z.writestr("os_system/version", "3\n")
    print(f"os_system.pth: {os.path.getsize(out('os_system.pth'))} bytes")


if __name__ == "__main__":
    main()
