# SPDX-License-Identifier: Apache-2.0
"""DaskLogisticRegression on a LocalCluster (2 workers x 1 thread, processes) vs the
single-process calibrisk.LogisticRegression on the same data, in one run. A standalone script,
not a compare.py area: it starts its own cluster.

Prints wall seconds of each, the ratio (Dask / single), the Newton iterations, the bytes each
pass returns per partition, and the largest relative coefficient difference. The machine's load
matters: report `uptime` with any figure.

    PYTHONPATH=build/python python benchmarks/dask_linear.py [--rows N] [--cols D]
"""

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    import calibrisk
    from calibrisk.dask import DaskLogisticRegression

    rng = np.random.default_rng(0)
    n, d = args.rows, args.cols
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    beta = rng.normal(size=d) / np.sqrt(d)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ beta - 0.5)))).astype(np.float64)

    t0 = time.perf_counter()
    local = calibrisk.LogisticRegression(C=1.0, tol=1e-8).fit(X, y)
    t_local = time.perf_counter() - t0

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        chunk = -(-n // args.partitions)
        Xd = client.persist(da.from_array(X, chunks=(chunk, d)))
        yd = client.persist(da.from_array(y, chunks=chunk))
        t0 = time.perf_counter()
        est = DaskLogisticRegression(C=1.0, tol=1e-8).fit(Xd, yd)
        t_dask = time.perf_counter() - t0

    rel = np.max(np.abs(est.coef_ - local.coef_) / np.maximum(np.abs(local.coef_), 1e-12))
    print(f"rows={n} cols={d} partitions={args.partitions}")
    print(f"single-process calibrisk.LogisticRegression: {t_local:.3f} s")
    print(f"DaskLogisticRegression LocalCluster(2x1):    {t_dask:.3f} s "
          f"(ratio {t_dask / t_local:.1f}x), {int(est.n_iter_[0])} iterations, "
          f"{est.n_bytes_per_pass_} bytes per partition per pass")
    print(f"max relative coefficient difference: {rel:.2e}")


if __name__ == "__main__":
    main()
