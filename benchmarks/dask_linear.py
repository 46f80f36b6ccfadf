# SPDX-License-Identifier: Apache-2.0
"""DaskLogisticRegression on a LocalCluster (2 workers x 1 thread, processes) vs the
single-process calibrisk.LogisticRegression on the same data, in one run. A standalone script,
not a compare.py area: it starts its own cluster.

Prints wall seconds of each, the ratio (Dask / single), the Newton iterations, the bytes each
pass returns per partition, and the largest relative coefficient difference. The machine's load
matters: report `uptime` with any figure.

    PYTHONPATH=build/python python benchmarks/dask_linear.py [--rows N] [--cols D]
        [--classes K] [--density F]

``--classes K`` (K >= 3) fits the multinomial model; ``--density F`` (< 1) makes X a CSR matrix
with that fraction of entries nonzero, partitioned as CSR chunks (both estimators sparse).
"""

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--density", type=float, default=1.0)
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    import calibrisk
    from calibrisk.dask import DaskLogisticRegression

    rng = np.random.default_rng(0)
    n, d = args.rows, args.cols
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    K = args.classes
    if args.density < 1.0:
        import scipy.sparse as sp

        X = sp.csr_matrix(np.where(rng.uniform(size=(n, d)) < args.density, X, 0.0))
    beta = rng.normal(size=(d, K)) / np.sqrt(d)
    Z = np.asarray(X @ beta) + rng.gumbel(size=(n, K))
    y = np.argmax(Z, axis=1).astype(np.float64)

    t0 = time.perf_counter()
    local = calibrisk.LogisticRegression(C=1.0, tol=1e-8).fit(X, y)
    t_local = time.perf_counter() - t0

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        chunk = -(-n // args.partitions)
        Xd = client.persist(da.from_array(X, chunks=(chunk, d), asarray=args.density >= 1.0))
        yd = client.persist(da.from_array(y, chunks=chunk))
        t0 = time.perf_counter()
        est = DaskLogisticRegression(C=1.0, tol=1e-8).fit(Xd, yd)
        t_dask = time.perf_counter() - t0

    rel = np.max(np.abs(est.coef_ - local.coef_) / np.maximum(np.abs(local.coef_), 1e-12))
    print(f"rows={n} cols={d} classes={K} density={args.density} partitions={args.partitions}")
    print(f"single-process calibrisk.LogisticRegression: {t_local:.3f} s")
    print(f"DaskLogisticRegression LocalCluster(2x1):    {t_dask:.3f} s "
          f"(ratio {t_dask / t_local:.1f}x), {int(est.n_iter_[0])} iterations, "
          f"{est.n_bytes_per_pass_} bytes per partition per pass")
    print(f"max relative coefficient difference: {rel:.2e} (absolute "
          f"{np.max(np.abs(est.coef_ - local.coef_)):.2e}); objective relative difference "
          f"{(est.objective_ - local.objective_) / abs(local.objective_):.2e}")


if __name__ == "__main__":
    main()
