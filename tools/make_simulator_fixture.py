"""Reference vector fields for SimulatorTests, written independently of the Swift code: the
elastic pendulum exactly as docs/method.md §Data tabulates it (3×3 system solved with
numpy.linalg.solve) and the damped pendulum of docs/method.md §Data, at seeded random states. Prints Swift array
literals (17 significant digits) to paste into Tests/CoreTests/SimulatorTests.swift."""
import numpy as np

def elastic(y, L0=0.205, L=0.179, w=0.038, m=0.110, g=9.81, k=40.0):
    La = L0 + y[2]; Lb = 0.5 * L; I = m * (w**2 + L**2) / 12
    Jc = L * np.cos(y[0] - y[1]); Js = L * np.sin(y[0] - y[1])
    A = np.array([[La**2, 0.5 * La * Jc, 0.0], [0.5 * La * Jc, Lb**2 + I / m, 0.5 * Js], [0.0, 0.5 * Js, 1.0]])
    b = np.array([-0.5 * La * Js * y[4]**2 - 2 * La * y[3] * y[5] - g * La * np.sin(y[0]),
                  0.5 * La * Js * y[3]**2 - Jc * y[3] * y[5] - g * Lb * np.sin(y[1]),
                  La * y[3]**2 + 0.5 * Jc * y[4]**2 + g * np.cos(y[0]) - (k / m) * y[2]])
    acc = np.linalg.solve(A, b)
    return [y[3], y[4], y[5], *acc]

def pendulum(y, g=9.81, l=0.5, lam=0.2):
    return [y[1], -3 * g / (2 * l) * np.sin(y[0]) - lam * y[1]]

rng = np.random.default_rng(2025)
def fmt(v): return "[" + ", ".join(repr(float(x)) for x in v) + "]"
print("elastic:")
for _ in range(6):
    y = [rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi), rng.uniform(-0.07, 0.07),
         rng.uniform(-8, 8), rng.uniform(-15, 15), rng.uniform(-1, 1)]
    print(f"    ({fmt(y)}, {fmt(elastic(y))}),")
print("pendulum:")
for _ in range(4):
    y = [rng.uniform(-3, 3), rng.uniform(-6, 6)]
    print(f"    ({fmt(y)}, {fmt(pendulum(y))}),")
