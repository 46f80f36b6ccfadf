# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the scoring service (standard library only; 127.0.0.1; bounded time).

usage: test_service.py PART SERVICE_EXE DEMO_MODEL_EXE MODEL_PATH
PART (CTest runs each as example.scoring_service.PART):
  basic   scores (risks equal the in-process pipeline's bit for bit), explains (?explain=K:
          the in-process contributions, baseline + contributions = logit(risk)), refuses
          malformed, oversized, compressed-bomb, form and multipart payloads and bad explain
          parameters with a status and a message
  usage   bad flag values (--port 99999 / abc, --max-body-bytes 0, ...) are usage errors
  slow    32 clients trickling bytes: GET /health answers within 1 s, the trickling requests are
          cut at the request timeout, connections over --max-connections get 503, and SIGTERM
          with slow clients connected exits within the grace period
  memory  peak RSS growth for a 1 MB /score request stays below 10x the body
  multiclass  the K-class golden file (tests/golden/format-1.6, passed as MODEL_PATH): K
          probabilities bit-identical to the stored scores, labels (argmax) and routes
Every service is started on a free port and stopped with SIGTERM; every wait has a timeout.
"""

import gzip
import http.client
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

TIMEOUT = 10.0
SKIP = 77  # CTest's SKIP_RETURN_CODE
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


class Service:
    """The service under test, listening on 127.0.0.1 on a free port."""

    def __init__(self, exe, model, *flags):
        self.proc = subprocess.Popen([exe, "--model", model, "--host", "127.0.0.1", "--port", "0",
                                      *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("listening on 127.0.0.1:"):
            self.proc.kill()
            raise RuntimeError(f"the service did not report its port: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])

    def request(self, method, path, body=None, headers=None, timeout=TIMEOUT):
        """(status, parsed JSON body, response headers); a fresh connection per request."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {"Content-Type": "application/json"} if headers is None else headers
            data = body.encode() if isinstance(body, str) else body
            conn.request(method, path, body=data, headers=hdrs,
                         encode_chunked=hdrs.get("Transfer-Encoding") == "chunked")
            r = conn.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw.decode()) if raw else None), dict(r.getheaders())
        finally:
            conn.close()

    def peak_rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def stop(self):
        """SIGTERM; returns (exit code or None if it had to be killed, seconds to exit)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        elapsed = time.monotonic() - start
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, elapsed


def expect_error(svc, what, status, fragment, method="POST", path="/score", body=None,
                 headers=None):
    code, err, _ = svc.request(method, path, body, headers)
    msg = err.get("error", "") if isinstance(err, dict) else ""
    check(code == status and fragment in msg,
          f"{what}: expected {status} with an error mentioning {fragment!r}, got {code} {err}")


def check_explanations(svc, expected):
    """?explain=K: the K largest contributions per row, equal to the in-process pipeline's, in
    calibrated log-odds (baseline + all contributions = logit(risk)) or on the margin scale."""
    rows, names = expected["rows"], ["age", "lab", "source"]
    body = json.dumps({"rows": rows})
    status, out, _ = svc.request("POST", "/score", body)
    check(status == 200 and "explanations" not in out, f"no explanations unless asked: {out}")
    for scale, query in (("calibrated", "?explain=3"), ("calibrated", "?explain=2&explain_scale="
                                                        "calibrated"), ("margin", "?explain=3&"
                                                                        "explain_scale=margin")):
        k = int(query.split("explain=")[1].split("&")[0])
        want = expected["explain_" + scale]
        status, out, _ = svc.request("POST", "/score" + query, body)
        ex = out.get("explanations", {}) if status == 200 else {}
        check(status == 200 and out["risks"] == expected["risks"], f"{query}: {status} {out}")
        check(ex.get("scale") == f"{scale} log-odds" and ex.get("baseline") == want["baseline"],
              f"{query}: scale and baseline {ex}")
        for i, row in enumerate(ex.get("rows", [])):
            phi = want["contributions"][i]
            order = sorted(range(3), key=lambda j: (-abs(phi[j]), j))[:k]
            top = [{"feature": names[j], "contribution": phi[j]} for j in order]
            check(row["top"] == top, f"{query} row {i}: {row['top']} != {top}")
            total = want["baseline"] + sum(phi)
            check(abs(row["log_odds"] - total) < 1e-12, f"{query} row {i}: log_odds")
            if scale == "calibrated":
                r = min(max(expected["risks"][i], 1e-12), 1 - 1e-12)
                check(abs(total - math.log(r / (1 - r))) < 1e-9,
                      f"row {i}: baseline + contributions != logit(risk)")
    for query, fragment in (("?explain=abc", "not a whole number"),
                            ("?explain=-1", "not a whole number"),
                            ("?explain=1001", "not a whole number"),
                            ("?explain=2&explain=3", "at most once"),
                            ("?explain=2&explain_scale=probability", "explain_scale")):
        expect_error(svc, query, 400, fragment, path="/score" + query, body=body)


def test_basic(exe, model, expected):
    svc = Service(exe, model, "--max-body-bytes", "20000", "--max-rows", "50")
    try:
        status, health, _ = svc.request("GET", "/health")
        check(status == 200 and health["status"] == "ok", f"/health: {status} {health}")
        check(health["feature_names"] == ["age", "lab", "source"], f"feature names {health}")
        check(health["threshold"] == expected["threshold"], "threshold in /health")

        rows = expected["rows"]
        status, out, _ = svc.request("POST", "/score", json.dumps({"rows": rows}))
        check(status == 200, f"/score status {status} {out}")
        check(out["risks"] == expected["risks"], f"risks {out['risks']} != {expected['risks']}")
        check(out["flags"] == [r >= expected["threshold"] for r in expected["risks"]], "flags")

        by_name = [{"age": r[0], "lab": r[1], "source": r[2]} for r in rows]
        status, out2, _ = svc.request("POST", "/score", json.dumps({"rows": by_name}))
        check(status == 200 and out2["risks"] == expected["risks"], f"rows by name: {out2}")
        status, out3, _ = svc.request("POST", "/score", json.dumps({"rows": [[200.0, 0.0, 7]]}))
        check(status == 200 and {d["feature"] for d in out3["drift"]} == {"age", "source"},
              f"drift signals: {out3}")
        # Unknown top-level keys (any nesting up to the depth limit) are ignored.
        extra = json.dumps({"id": {"a": [1, {"b": None}]}, "rows": rows, "z": "x"})
        status, out4, _ = svc.request("POST", "/score", extra)
        check(status == 200 and out4["risks"] == expected["risks"], f"extra keys: {out4}")
        # A form content type over httplib's 8192-byte form limit is read as JSON.
        padded = json.dumps({"pad": "x" * 9000, "rows": rows})
        status, out5, _ = svc.request("POST", "/score", padded,
                                      {"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 200 and out5["risks"] == expected["risks"],
              f"form content type, {len(padded)} bytes: {status} {out5}")
        # Compressed and chunked bodies are read (the limit applies after decompression).
        status, out6, _ = svc.request("POST", "/score", gzip.compress(json.dumps(
            {"rows": rows}).encode()), {"Content-Type": "application/json",
                                        "Content-Encoding": "gzip"})
        check(status == 200 and out6["risks"] == expected["risks"], f"gzip body: {out6}")
        chunks = iter([b'{"rows": ', json.dumps(rows).encode(), b"}"])
        status, out7, _ = svc.request("POST", "/score", chunks, {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        check(status == 200 and out7["risks"] == expected["risks"], f"chunked body: {out7}")

        check_explanations(svc, expected)

        bad = [
            ("not JSON", b"{rows: nope", "not valid JSON"),
            ("number overflow", b'{"rows": [[1e99999, 0, 0]]}', "overflow"),
            ("truncated", b'{"rows": [[1, 0, 0]', "not valid JSON"),
            ("trailing bytes", b'{"rows": [[1, 0, 0]]} x', "not valid JSON"),
            ("top level not an object", b"[[1, 0, 0]]", "not an object"),
            ("no rows", json.dumps({"data": []}), "no \"rows\""),
            ("rows not an array", json.dumps({"rows": "x"}), "not an array"),
            ("empty rows", json.dumps({"rows": []}), "empty"),
            ("rows twice", b'{"rows": [[1, 0, 0]], "rows": [[1, 0, 0]]}', "twice"),
            ("wrong length", json.dumps({"rows": [[1.0, 2.0]]}), "rows[0] has 2 values"),
            ("too long", json.dumps({"rows": [[1.0, 2.0, 0, 4]]}), "more than 3 values"),
            ("string value", json.dumps({"rows": [[1.0, "a", 0]]}), "rows[0][1] is a string"),
            ("nested value", json.dumps({"rows": [[1.0, [2], 0]]}), "rows[0][1] is an array"),
            ("unknown key", json.dumps({"rows": [{"age": 1, "weight": 2}]}), "\"weight\""),
            ("key twice", b'{"rows": [{"age": 1, "age": 2}]}', "twice"),
            ("row not array", json.dumps({"rows": [5]}), "rows[0] is a number"),
            ("too many rows", json.dumps({"rows": [[1.0, 0.0, 0]] * 51}), "more than 50 rows"),
            ("too deep", b'{"x": ' + b"[" * 9000 + b"]" * 9000 + b', "rows": [[1,0,0]]}',
             "nested deeper than 8"),
            ("oversized body", json.dumps({"rows": [[1.0, 0.0, 0]] * 2000}), "larger than 20000"),
        ]
        for what, body, fragment in bad:
            expect_error(svc, what, 400, fragment, body=body)
        # Decompression bomb: 10 MB of spaces in ~10 kB of gzip.
        bomb = gzip.compress(b'{"rows": [[1, 0, 0]]' + b" " * 10_000_000 + b"}")
        expect_error(svc, "gzip bomb", 400, "after decompression", body=bomb,
                     headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        big_chunks = iter([b'{"rows": [[1, 0, 0]]'] + [b" " * 4096] * 10 + [b"}"])
        expect_error(svc, "chunked over the limit", 400, "larger than 20000", body=big_chunks,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        expect_error(svc, "multipart", 415, "application/json",
                     body=b"--b\r\nContent-Disposition: form-data; name=\"rows\"\r\n\r\n[]\r\n--b--\r\n",
                     headers={"Content-Type": "multipart/form-data; boundary=b"})
        expect_error(svc, "unknown encoding", 415, "Content-Encoding",
                     body=b"{}", headers={"Content-Type": "application/json",
                                          "Content-Encoding": "compress"})
        expect_error(svc, "unknown path", 404, "GET /health", method="GET", path="/nope")
        expect_error(svc, "GET /score", 405, "POST /score", method="GET")
        expect_error(svc, "POST /health", 405, "GET /health", path="/health", body=b"{}")
        expect_error(svc, "GET /health with a body", 400, "no body", method="GET",
                     path="/health", body=b"{}")

        # Headers over 64 KiB: 431 with a message; the service keeps serving.
        with socket.create_connection(("127.0.0.1", svc.port), timeout=TIMEOUT) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: y\r\n" * 8000 + b"\r\n")
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        check(reply.startswith(b"HTTP/1.1 431") and b"64 KiB" in reply, f"big head: {reply!r}")
        status, _, _ = svc.request("GET", "/health")
        check(status == 200, f"/health after the hostile requests: {status}")
    finally:
        rc, _ = svc.stop()
    check(rc == 0, f"the service exited with {rc} after SIGTERM; stderr: {svc.stderr}")


def test_usage(exe, model):
    cases = [
        (["--port", "99999"], "--port"),
        (["--port", "abc"], "--port"),
        (["--port", "-1"], "--port"),
        (["--max-body-bytes", "0"], "--max-body-bytes"),
        (["--max-body-bytes", "-5"], "--max-body-bytes"),
        (["--max-body-bytes", "12x"], "--max-body-bytes"),
        (["--max-rows", "0"], "--max-rows"),
        (["--max-connections", "0"], "--max-connections"),
        (["--request-timeout-ms", "soon"], "--request-timeout-ms"),
        (["--grace-ms", "-1"], "--grace-ms"),
        (["--bogus"], "--bogus"),
    ]
    for flags, fragment in cases:
        r = subprocess.run([exe, "--model", model, "--host", "127.0.0.1", *flags],
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 2 and fragment in r.stderr and "usage error" in r.stderr
              and "listening" not in r.stdout,
              f"{flags}: expected exit 2 and a usage error naming {fragment}, got "
              f"{r.returncode} {r.stdout!r} {r.stderr!r}")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 0 and "--max-connections" in r.stdout, f"--help: {r.returncode}")


class Tricklers(threading.Thread):
    """n connections sending `head` one byte every `interval` s; records when each one was
    answered or closed by the service."""

    def __init__(self, port, n, interval, head):
        super().__init__(daemon=True)
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                      for _ in range(n)]
        self.interval, self.head = interval, head
        self.start_time = time.monotonic()
        self.ended = {}  # socket index -> (seconds after start, first bytes received)
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set() and len(self.ended) < len(self.socks):
            for k, s in enumerate(self.socks):
                if k not in self.ended:
                    try:
                        s.send(self.head[i % len(self.head):][:1])
                    except OSError:
                        self.ended[k] = (time.monotonic() - self.start_time, b"")
            i += 1
            live = [s for k, s in enumerate(self.socks) if k not in self.ended]
            readable, _, _ = select.select(live, [], [], self.interval)
            for s in readable:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                self.ended[self.socks.index(s)] = (time.monotonic() - self.start_time, data)

    def close(self):
        self.halt.set()
        self.join(TIMEOUT)
        for s in self.socks:
            s.close()


def health_latencies(svc, n, pause):
    out = []
    for _ in range(n):
        start = time.monotonic()
        try:
            status, _, _ = svc.request("GET", "/health", timeout=5.0)
        except OSError:
            status = None
        out.append((status, time.monotonic() - start))
        time.sleep(pause)
    return out


def test_slow(exe, model):
    head = b"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n"
    # 1. 32 clients trickling a byte every 0.25 s (the attack sent one per 2 s): /health
    #    keeps answering within 1 s, and each trickling request is cut with a 408 at the 2 s
    #    request timeout.
    svc = Service(exe, model, "--request-timeout-ms", "2000")
    try:
        attack = Tricklers(svc.port, 32, 0.25, head * 100)
        attack.start()
        time.sleep(0.5)
        lat = health_latencies(svc, 6, 0.2)
        print("/health under 32 slow clients (status, s):",
              ", ".join(f"({s}, {t:.3f})" for s, t in lat), flush=True)
        check(all(s == 200 and t < 1.0 for s, t in lat), f"/health under attack: {lat}")
        attack.join(6.0)
        ends = sorted(attack.ended.values())
        attack.close()
        check(len(ends) == 32 and all(t < 4.0 and d.startswith(b"HTTP/1.1 408") for t, d in ends),
              f"slow requests should get 408 at the 2 s request timeout; got {len(ends)}: "
              f"{[(round(t, 2), d[:12]) for t, d in ends[:3]]}")
        status, _, _ = svc.request("GET", "/health")
        check(status == 200, f"/health after the attack: {status}")
    finally:
        rc, _ = svc.stop()
    check(rc == 0, f"exit code {rc} after SIGTERM; stderr: {svc.stderr}")

    # 2. Connections over --max-connections get 503 at once.
    svc = Service(exe, model, "--max-connections", "4")
    try:
        hold = Tricklers(svc.port, 4, 0.25, head * 100)
        hold.start()
        time.sleep(0.3)
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", svc.port), timeout=TIMEOUT) as s:
            reply = s.recv(4096)
        check(reply.startswith(b"HTTP/1.1 503") and time.monotonic() - start < 1.0,
              f"connection over the limit: {reply!r}")
        hold.close()
    finally:
        rc, _ = svc.stop()
    check(rc == 0, f"exit code {rc} after SIGTERM; stderr: {svc.stderr}")

    # 3. SIGTERM with 32 slow clients mid-request (request timeout far away): the service exits
    #    within the 1 s grace period (+ 1.5 s for process start-up and a loaded machine).
    svc = Service(exe, model, "--request-timeout-ms", "60000", "--grace-ms", "1000")
    attack = Tricklers(svc.port, 32, 0.25, head * 100)
    attack.start()
    time.sleep(1.0)
    rc, elapsed = svc.stop()
    attack.close()
    print(f"SIGTERM with 32 slow clients: exit {rc} after {elapsed:.2f} s (grace 1 s)", flush=True)
    check(rc == 0 and elapsed < 2.5, f"SIGTERM with slow clients: exit {rc} after {elapsed:.2f} s")


def test_memory(exe, model):
    # A 1 MB body of compact rows ("[0,0,0]", the cheapest JSON per value) must not add many times
    # its size to the peak RSS (as a JSON document tree of the request plus a second one for the
    # answer would).
    if os.environ.get("SCORING_SERVICE_SANITIZED"):
        print("skipped: a sanitizer's allocator inflates peak RSS")
        return SKIP
    svc = Service(exe, model, "--max-body-bytes", "2000000", "--max-rows", "1000000")
    try:
        status, _, _ = svc.request("POST", "/score", json.dumps({"rows": [[1.0, 0.5, 1]]}))
        check(status == 200, "warm-up request")
        before = svc.peak_rss()
        n = 1_000_000 // 8
        body = ('{"rows":[' + ",".join(["[0,0,0]"] * n) + "]}").encode()
        status, out, _ = svc.request("POST", "/score", body, timeout=60.0)
        check(status == 200 and len(out["risks"]) == n, f"1 MB request: {status}")
        growth = svc.peak_rss() - before
        print(f"peak RSS growth for a {len(body)} byte request: {growth} bytes "
              f"({growth / len(body):.1f}x the body)", flush=True)
        check(growth < 10 * len(body), f"peak RSS grew by {growth / len(body):.1f}x the body")
    finally:
        rc, _ = svc.stop()
    check(rc == 0, f"exit code {rc} after SIGTERM; stderr: {svc.stderr}")


def test_multiclass(exe, model):
    """The K-class golden model: probabilities equal the stored scores bit for bit, the label is
    the argmax class, the route follows the stored review threshold (hand-computed here)."""
    import csv

    golden = os.path.dirname(model)
    with open(os.path.join(golden, "rows.csv"), newline="") as f:
        rows = [[float(v) if v != "" else None for v in r] for r in list(csv.reader(f))[1:]]
    with open(os.path.join(golden, "lr_claims_temperature.scores.csv"), newline="") as f:
        stored = list(csv.reader(f))
    with open(model) as f:
        doc = json.load(f)
    classes, t = doc["classes"], doc["review"]["thresholds"][0]
    svc = Service(exe, model)
    try:
        status, health, _ = svc.request("GET", "/health")
        check(status == 200 and health["n_classes"] == 6 and health["classes"] == classes,
              f"/health of the K-class model: {health}")
        status, body, _ = svc.request("POST", "/score", json.dumps({"rows": rows}))
        check(status == 200, f"/score: {status} {body}")
        check(body["classes"] == classes, "classes in the response")
        cols = [c[2:] for c in stored[0][:-1]]
        check(len(body["probabilities"]) == len(rows) == 40, "every row scored")
        for i, (P, label, route) in enumerate(zip(body["probabilities"], body["labels"],
                                                  body["routes"])):
            want = [float(v) for v in stored[i + 1][:-1]]
            got = [P[classes.index(c)] for c in cols]
            check(got == want, f"row {i}: probabilities {got} != stored {want}")
            check(label == classes[P.index(max(P))], f"row {i}: label {label}")
            check(route == ("auto" if max(P) >= t else "review"), f"row {i}: route {route}")
            check((route == "review") == (stored[i + 1][-1] == "1"), f"row {i}: stored route")
        status, body, _ = svc.request("POST", "/score?explain=2", json.dumps({"rows": rows[:3]}))
        ex = body.get("explanations", {})
        check(status == 200 and ex.get("scale") == "class_logit" and len(ex.get("rows", [])) == 3,
              f"K-class explanations: {status} {ex}")
        for r, label in zip(ex.get("rows", []), body.get("labels", [])):
            check(r["class"] == label and len(r["top"]) == 2, f"explained class {r}")
    finally:
        svc.stop()


def main():
    part, service, demo, model = sys.argv[1:5]
    if part == "multiclass":
        test_multiclass(service, model)
        if failures:
            print(f"{len(failures)} failure(s)")
            return 1
        print("scoring service (multiclass): all checks passed")
        return 0
    expected = json.loads(subprocess.run([demo, model], check=True, capture_output=True,
                                         timeout=120, text=True).stdout)
    if part == "basic":
        test_basic(service, model, expected)
    elif part == "usage":
        test_usage(service, model)
    elif part == "slow":
        test_slow(service, model)
    elif part == "memory":
        if test_memory(service, model) == SKIP:
            return SKIP
    else:
        raise SystemExit(f"unknown part {part!r}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"scoring service ({part}): all checks passed")
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"({time.monotonic() - start:.1f} s)")
    sys.exit(code)
