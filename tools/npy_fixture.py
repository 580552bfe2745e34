"""Writes small .npy files made by NumPy itself to Tests/CoreTests/Fixtures/ so the Swift reader is
checked against the real writer (v1.0 float32 and uint8, v2.0, a scalar, a Fortran-order array
the reader must refuse). Run: /opt/torchvenv/bin/python tools/npy_fixture.py
"""
import pathlib
import numpy as np

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/CoreTests/Fixtures"
a = (np.arange(24, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 4)
np.save(out / "numpy_f4_2x3x4.npy", a)
np.save(out / "numpy_u1_2x3.npy", np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8))
np.save(out / "numpy_f4_scalar.npy", np.float32(2.5))
with open(out / "numpy_f4_v2.npy", "wb") as f:
    np.lib.format.write_array(f, a[0], version=(2, 0))
np.save(out / "numpy_f4_fortran.npy", np.asfortranarray(a[0]))
np.save(out / "numpy_f8.npy", a.astype(np.float64))
print("wrote", sorted(p.name for p in out.glob("numpy_*.npy")))
