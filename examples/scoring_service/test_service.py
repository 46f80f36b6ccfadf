# SPDX-License-Identifier: Apache-2.0
"""End-to-end test of the scoring service (standard library only; loopback; bounded time).

usage: test_service.py SERVICE_EXE DEMO_MODEL_EXE MODEL_PATH
Writes the demo model, starts the service on 127.0.0.1 with a free port, checks /health, scores
rows (risks must equal the in-process pipeline's bit for bit), sends malformed and oversized
payloads (each must get HTTP 400 with a message), then stops it with SIGTERM.
"""

import json
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = 10.0


def request(base, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else body.encode())
    req = urllib.request.Request(base + path, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def main():
    service, demo, model = sys.argv[1:4]
    expected = json.loads(subprocess.run([demo, model], check=True, capture_output=True,
                                         timeout=120, text=True).stdout)
    proc = subprocess.Popen([service, "--model", model, "--host", "127.0.0.1", "--port", "0",
                             "--max-body-bytes", "4096", "--max-rows", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what, flush=True)

    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        if not ready:
            raise RuntimeError("the service did not report its port within the timeout")
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:"), line
        base = "http://" + line.split()[-1]

        status, health = request(base, "/health")
        check(status == 200 and health["status"] == "ok", f"/health: {status} {health}")
        check(health["feature_names"] == ["age", "lab", "source"], f"feature names {health}")
        check(health["threshold"] == expected["threshold"], "threshold in /health")

        status, out = request(base, "/score", json.dumps({"rows": expected["rows"]}))
        check(status == 200, f"/score status {status} {out}")
        check(out["risks"] == expected["risks"], f"risks {out['risks']} != {expected['risks']}")
        check(out["flags"] == [r >= expected["threshold"] for r in expected["risks"]], "flags")

        by_name = [{"age": r[0], "lab": r[1], "source": r[2]} for r in expected["rows"]]
        status, out2 = request(base, "/score", json.dumps({"rows": by_name}))
        check(status == 200 and out2["risks"] == expected["risks"], f"rows by name: {out2}")
        status, out3 = request(base, "/score", json.dumps({"rows": [[200.0, 0.0, 7]]}))
        check(status == 200 and {d["feature"] for d in out3["drift"]} == {"age", "source"},
              f"drift signals: {out3}")

        bad = {
            "not JSON": b"{rows: nope",
            "number overflow": b'{"rows": [[1e99999, 0, 0]]}',
            "no rows": json.dumps({"data": []}),
            "rows not an array": json.dumps({"rows": "x"}),
            "empty rows": json.dumps({"rows": []}),
            "wrong length": json.dumps({"rows": [[1.0, 2.0]]}),
            "string value": json.dumps({"rows": [[1.0, "a", 0]]}),
            "unknown key": json.dumps({"rows": [{"age": 1, "weight": 2}]}),
            "row not array": json.dumps({"rows": [5]}),
            "too many rows": json.dumps({"rows": [[1.0, 0.0, 0]] * 51}),
            "oversized body": json.dumps({"rows": [[1.0, 0.0, 0]] * 400}),
        }
        for what, body in bad.items():
            status, err = request(base, "/score", body)
            check(status == 400 and isinstance(err.get("error"), str) and err["error"],
                  f"{what}: expected 400 with a message, got {status} {err}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        stderr = proc.stderr.read()
    check(rc == 0, f"the service exited with {rc} after SIGTERM; stderr: {stderr}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("scoring service: all checks passed")
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"({time.monotonic() - start:.1f} s)")
    sys.exit(code)
