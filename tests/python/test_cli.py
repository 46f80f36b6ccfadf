# SPDX-License-Identifier: Apache-2.0
"""The ``calibrisk`` command-line tool: the whole flow on a generated cohort, the quality checks
on the demo cohort, and malformed inputs (documented exit codes, messages, no partial outputs).

The executable is ``$CALIBRISK_CLI`` when set, else ``<repo>/build/bin/calibrisk`` (the setup
step builds it there). A missing executable is a failure, not a skip.
"""

import csv
import hashlib
import json
import os
import pathlib
import resource
import signal
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CLI = pathlib.Path(os.environ.get("CALIBRISK_CLI", REPO / "build" / "bin" / "calibrisk"))

EXIT_USAGE, EXIT_DATA, EXIT_MODEL = 2, 3, 4


def run(*args, cwd=None, check=None):
    assert CLI.is_file(), (
        f"the calibrisk executable is not at {CLI}; build it (make build) or set CALIBRISK_CLI"
    )
    proc = subprocess.run(
        [str(CLI), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    if check is not None:
        assert proc.returncode == check, (
            f"exit {proc.returncode}, expected {check}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def no_leftovers(directory):
    """No temporary files of an atomic write are left in the directory."""
    return [p.name for p in pathlib.Path(directory).iterdir() if ".tmp-" in p.name]


def provenance(model_path):
    doc = json.loads(pathlib.Path(model_path).read_text())
    params = doc["provenance"]["parameters"]
    if isinstance(params, list):  # [[key, value], ...] or [{"key":..., "value":...}]
        out = {}
        for item in params:
            if isinstance(item, dict):
                out[item.get("key", item.get("name"))] = item["value"]
            else:
                out[item[0]] = item[1]
        return out
    return dict(params)


def saved_threshold(model_path):
    doc = json.loads(pathlib.Path(model_path).read_text())
    t = doc["threshold"] if "threshold" in doc else doc["operating_point"]
    return t["value"] if isinstance(t, dict) and "value" in t else t["threshold"]


# --------------------------------------------------------------------------- the normal flow
@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort")
    path = d / "cohort.csv"
    run("generate", "--rows", 6000, "--seed", 3, "--out", path, check=0)
    return path


TRAIN_FLAGS = [
    "--label", "readmitted", "--group-column", "patient_id", "--time-column", "encounter_date",
    "--drop", "encounter_id", "--drop", "true_risk", "--categorical", "site",
    "--drop", "age_band", "--subgroup", "age_band",
]


@pytest.fixture(scope="module")
def trained(cohort, tmp_path_factory):
    d = tmp_path_factory.mktemp("trained")
    model = d / "model.json"
    proc = run(
        "train", "--data", cohort, *TRAIN_FLAGS, "--model", "gbdt", "--calibration", "isotonic",
        "--policy", "min-recall=0.8", "--param", "n_estimators=50", "--out", model,
        "--report", d / "report.html", "--json", d / "report.json", check=0,
    )
    return d, model, proc


def test_generate_writes_the_cohort(cohort):
    with open(cohort, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6000
    for col in ("patient_id", "encounter_date", "site", "readmitted", "true_risk"):
        assert col in rows[0]
    prevalence = sum(int(r["readmitted"]) for r in rows) / len(rows)
    assert 0.05 < prevalence < 0.25


def test_train_writes_model_reports_and_records_the_split(trained):
    d, model, proc = trained
    assert model.is_file() and (d / "report.html").is_file() and (d / "report.json").is_file()
    assert no_leftovers(d) == []
    assert "threshold" in proc.stdout and "AUC" in proc.stdout
    # progress and timing lines go to stderr
    assert "done in" in proc.stderr
    prov = provenance(model)
    assert prov["model"] == "gbdt" and prov["calibration"] == "isotonic"
    assert prov["model.n_estimators"] == "50"
    assert prov["policy"] == "min-recall=0.8"
    rows = [int(prov[f"split.{p}.rows"]) for p in ("train", "calibration", "test")]
    assert sum(rows) == 6000
    assert abs(rows[0] / 6000 - 0.6) < 0.01
    # patients enter the parts in time order (ISO dates compare as strings)
    assert prov["split.train.last_entry"] <= prov["split.calibration.first_entry"]
    assert prov["split.calibration.last_entry"] <= prov["split.test.first_entry"]
    # Format 1.4: the labels are the schema's level table (no longer in the provenance).
    site = [f for f in json.loads(model.read_text())["schema"]["features"] if f["name"] == "site"]
    assert site[0]["labels"] == ["A", "B", "C", "D", "E"]
    assert "data.categories.site" not in prov


def test_train_is_quiet_with_quiet(cohort, tmp_path):
    proc = run("train", "--data", cohort, *TRAIN_FLAGS, "--model", "lr", "--calibration", "sigmoid",
               "--out", tmp_path / "m.json", "--quiet", check=0)
    assert proc.stderr == ""


def test_a_text_column_is_read_as_if_declared_categorical(trained, cohort, tmp_path):
    """Without --categorical site, the text column site is inferred: a note names it, the
    provenance records it, and the model scores every row exactly as the declared one."""
    _, declared, _ = trained
    flags = [f for f in TRAIN_FLAGS if f not in ("--categorical", "site")]
    assert len(flags) == len(TRAIN_FLAGS) - 2
    model = tmp_path / "m.json"
    proc = run("train", "--data", cohort, *flags, "--model", "gbdt", "--calibration", "isotonic",
               "--policy", "min-recall=0.8", "--param", "n_estimators=50", "--out", model,
               check=0)
    assert "columns of text read as categorical features: 'site' (" in proc.stderr
    assert "+ isotonic calibration" in proc.stdout
    inferred, explicit = provenance(model), provenance(declared)
    assert json.loads(inferred["data.inferred_categorical"]) == ["site"]
    assert "data.inferred_categorical" not in explicit
    assert {k: v for k, v in inferred.items() if k != "data.inferred_categorical"} == explicit
    for m, name in ((model, "a.csv"), (declared, "b.csv")):
        run("predict", "--model", m, "--data", cohort, "--out", tmp_path / name, check=0)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # --text-columns error: the strict reading, which names the flag to add.
    strict = run("train", "--data", cohort, *flags, "--text-columns", "error", "--out",
                 tmp_path / "strict.json")
    assert strict.returncode == EXIT_DATA
    assert "column 'site' has the non-numeric value" in strict.stderr
    assert "--categorical COLUMN" in strict.stderr
    assert not (tmp_path / "strict.json").exists()


def test_a_column_of_numbers_and_text_is_an_error_naming_each(tmp_path):
    text = "pid,date,dx,note,x2,y\n" + "".join(
        f"{i // 2},2023-01-{1 + i % 28:02d},{'V57' if i == 7 else 250 + i % 9},"
        f"{'ok' if i < 5 else i % 3},{(i * 13) % 11},{int(i % 5 == 0)}\n" for i in range(400))
    proc, out = train_on(tmp_path, text)
    assert proc.returncode == EXIT_DATA, proc.stderr
    assert ("column 'dx' (the number '250' in data row 1, the text 'V57' in data row 8); "
            "column 'note' (the number '2' in data row 6, the text 'ok' in data row 1)"
            in proc.stderr)
    assert "--categorical COLUMN" in proc.stderr
    assert not out.exists()


def test_the_summary_and_report_name_the_calibration_the_choice_kept(cohort, tmp_path):
    """With --model auto and no --calibration the method is chosen (platt on this cohort): the
    summary line and the report's title name it, as the provenance does, not the flag's
    default (beta)."""
    model, report = tmp_path / "m.json", tmp_path / "r.html"
    proc = run("train", "--data", cohort, *TRAIN_FLAGS, "--param", "n_estimators=20", "--out",
               model, "--report", report, check=0)
    used = provenance(model)["calibration"]
    assert used == "platt"
    assert f"+ {used} calibration, policy min-recall=0.8" in proc.stdout
    title = f"<title>auto + {used} calibration: test part of cohort.csv</title>"
    assert title in report.read_text()


def test_a_text_column_with_a_value_per_row_is_not_guessed_to_be_categorical(tmp_path):
    text = "pid,date,enc,x2,y\n" + "".join(
        f"{i // 2},2023-01-{1 + i % 28:02d},E{i:05d},{(i * 13) % 11},{int(i % 5 == 0)}\n"
        for i in range(400))
    proc, out = train_on(tmp_path, text)
    assert proc.returncode == EXIT_DATA, proc.stderr
    assert ("column 'enc' holds text with 400 different values in 400 rows: it looks like an "
            "identifier or free text" in proc.stderr)
    assert not out.exists()
    # Declared, its values are levels (the user's choice).
    proc, out = train_on(tmp_path, text, "--categorical", "enc")
    assert proc.returncode == 0, proc.stderr


def test_a_text_column_of_dates_is_not_guessed_to_be_categorical(tmp_path):
    # 28 distinct dates in 400 rows: few levels, but dates are an order, not categories.
    text = "pid,date,admitted,x2,y\n" + "".join(
        f"{i // 2},2023-01-{1 + i % 28:02d},2022-12-{1 + i % 28:02d},{(i * 13) % 11},"
        f"{int(i % 5 == 0)}\n" for i in range(400))
    proc, out = train_on(tmp_path, text)
    assert proc.returncode == EXIT_DATA, proc.stderr
    assert ("column 'admitted' holds dates (e.g. '2022-12-01'), which are not categories"
            in proc.stderr)
    assert "Pass --time-column admitted to split by it, or --drop it." in proc.stderr
    assert not out.exists()


def test_a_label_of_two_text_values_trains_as_its_0_1_coding(trained, cohort, tmp_path):
    """readmitted written as yes/no trains the model of the 0/1 file (the provenance adds the two
    labels); evaluate maps yes/no and 0/1 files alike; another pair needs --positive."""
    _, coded, _ = trained
    rows = list(csv.DictReader(open(cohort, newline="")))
    def write(path, yes, no):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({**r, "readmitted": yes if r["readmitted"] == "1" else no})
    text, other = tmp_path / "yes_no.csv", tmp_path / "other.csv"
    write(text, "Yes", "No")
    write(other, "readmitted", "home")
    args = [*TRAIN_FLAGS, "--model", "gbdt", "--calibration", "isotonic", "--policy",
            "min-recall=0.8", "--param", "n_estimators=50"]
    model = tmp_path / "m.json"
    run("train", "--data", text, *args, "--out", model, check=0)
    got, want = provenance(model), provenance(coded)
    assert (got["data.positive_label"], got["data.negative_label"]) == ("Yes", "No")
    extra = {"data.positive_label", "data.negative_label", "data.source"}
    assert {k: v for k, v in got.items() if k not in extra} == {
        k: v for k, v in want.items() if k not in extra}
    for m, name in ((model, "a.csv"), (coded, "b.csv")):
        run("predict", "--model", m, "--data", cohort, "--out", tmp_path / name, check=0)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    reports = []
    for data in (text, cohort):
        out = tmp_path / f"e{len(reports)}.json"
        run("evaluate", "--model", model, "--data", data, "--label", "readmitted", "--report",
            tmp_path / "e.html", "--json", out, check=0)
        doc = json.loads(out.read_text())
        reports.append([doc[k] for k in ("discrimination", "calibration", "operating_point")])
    assert reports[0] == reports[1]
    bad = run("evaluate", "--model", model, "--data", other, "--label", "readmitted",
              "--report", tmp_path / "bad.html")
    assert bad.returncode == EXIT_DATA
    assert "holds 'home', which the model was not trained on" in bad.stderr
    proc = run("train", "--data", other, *args, "--out", tmp_path / "o.json")
    assert proc.returncode == EXIT_DATA
    assert "holds the text labels 'home' and 'readmitted'; say which is the event" in proc.stderr
    run("train", "--data", other, *args, "--positive", "readmitted", "--out",
        tmp_path / "o.json", check=0)
    assert provenance(tmp_path / "o.json")["data.positive_label"] == "readmitted"


def test_predict_scores_every_row_with_the_saved_threshold(trained, cohort, tmp_path):
    _, model, _ = trained
    out = tmp_path / "scores.csv"
    run("predict", "--model", model, "--data", cohort, "--out", out, "--explain", 3, check=0)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6000
    threshold = saved_threshold(model)
    for r in rows[:500]:
        risk = float(r["risk"])
        assert 0.0 <= risk <= 1.0
        assert int(r["flag"]) == int(risk >= threshold)
        assert r["top1_feature"] and r["top3_feature"]
        assert abs(float(r["top1_contribution"])) >= abs(float(r["top2_contribution"]))
    assert "patient_id" in rows[0] and "encounter_date" in rows[0]


def test_predict_encodes_categories_as_at_training(trained, cohort, tmp_path):
    """A file whose categorical column has its labels in another order scores identically."""
    _, model, _ = trained
    with open(cohort, newline="") as f:
        rows = list(csv.DictReader(f))
    head = rows[:300]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path, subset in ((a, head), (b, list(reversed(head)))):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(subset)
    run("predict", "--model", model, "--data", a, "--out", tmp_path / "sa.csv", check=0)
    run("predict", "--model", model, "--data", b, "--out", tmp_path / "sb.csv", check=0)
    ra = [r["risk"] for r in csv.DictReader(open(tmp_path / "sa.csv"))]
    rb = [r["risk"] for r in csv.DictReader(open(tmp_path / "sb.csv"))]
    assert ra == list(reversed(rb))


def test_evaluate_writes_reports(trained, cohort, tmp_path):
    _, model, _ = trained
    proc = run("evaluate", "--model", model, "--data", cohort, "--label", "readmitted",
               "--subgroup", "site", "--report", tmp_path / "r.html", "--json", tmp_path / "r.json",
               check=0)
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
    json.loads((tmp_path / "r.json").read_text())
    assert "AUC" in proc.stdout


# --------------------------------------------------------------------------- usage and help
def test_help_documents_the_exit_codes():
    proc = run("--help", check=0)
    for code in ("2  usage error", "3  data error", "4  model file error", "1  internal error"):
        assert code in proc.stdout
    for cmd in ("generate", "train", "predict", "evaluate", "demo"):
        assert cmd in proc.stdout
    assert "--policy" in run("train", "--help", check=0).stdout


def test_unknown_flag_is_a_usage_error(cohort, tmp_path):
    proc = run("train", "--data", cohort, "--label", "readmitted", "--out", tmp_path / "m.json",
               "--frobnicate", "3", check=EXIT_USAGE)
    assert "frobnicate" in proc.stderr and "--help" in proc.stderr
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--param", "num_leaves=31"], "valid keys: n_estimators"),
        (["--param", "n_estimators=ten"], "whole number"),
        (["--param", "learning_rate=5"], "learning_rate"),  # out of range: Params::validate
        (["--policy", "recall=0.8"], "min-recall=0.8"),
        (["--split", "train=0.7,calibration=0.2,test=0.2"], "sum to 1"),
        (["--model", "svm"], "svm"),
    ],
)
def test_bad_flag_values_are_usage_errors(cohort, tmp_path, flags, fragment):
    proc = run("train", "--data", cohort, *TRAIN_FLAGS, "--out", tmp_path / "m.json", *flags,
               check=EXIT_USAGE)
    assert fragment in proc.stderr
    assert not (tmp_path / "m.json").exists()
    assert no_leftovers(tmp_path) == []


def test_missing_data_file_is_a_usage_error(tmp_path):
    proc = run("train", "--data", tmp_path / "nope.csv", "--label", "y", "--out",
               tmp_path / "m.json", check=EXIT_USAGE)
    assert "nope.csv" in proc.stderr


def test_unwritable_output_is_a_usage_error(cohort, tmp_path):
    proc = run("train", "--data", cohort, *TRAIN_FLAGS, "--out", tmp_path / "no" / "dir" / "m.json",
               check=EXIT_USAGE)
    assert "exists and is writable" in proc.stderr


# --------------------------------------------------------------------------- malformed CSV files
GOOD_HEADER = "pid,date,x1,x2,y\n"


def good_rows(n=400):
    lines = []
    for i in range(n):
        lines.append(f"{i // 2},2023-01-{1 + i % 28:02d},{i % 7},{(i * 13) % 11},{int(i % 5 == 0)}\n")
    return "".join(lines)


def train_on(tmp_path, text, *extra):
    data = tmp_path / "data.csv"
    data.write_text(text)
    out = tmp_path / "out" / "m.json"
    out.parent.mkdir(exist_ok=True)
    proc = run("train", "--data", data, "--label", "y", "--group-column", "pid", "--time-column",
               "date", "--model", "lr", "--out", out, *extra)
    return proc, out


def test_well_formed_small_file_trains(tmp_path):
    proc, out = train_on(tmp_path, GOOD_HEADER + good_rows(), "--policy", "max-f=1")
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()


@pytest.mark.parametrize(
    "name, text, extra, fragments",
    [
        ("missing label column", "pid,date,x1,x2\n1,2023-01-01,1,2\n", [], ["--label y", "x1, x2"]),
        ("ragged rows", GOOD_HEADER + good_rows(10) + "5,2023-02-01,1\n" + good_rows(10), [],
         ["data row 11", "3 fields"]),
        ("text in a numeric column", GOOD_HEADER + good_rows(10) + "5,2023-02-01,abc,1,0\n", [],
         ["x1", "abc", "--categorical"]),
        ("empty file", "", [], ["empty"]),
        ("header only", GOOD_HEADER, [], ["no data rows"]),
        ("one class only", GOOD_HEADER + good_rows().replace(",1\n", ",0\n"), [],
         ["only class 0"]),
        ("label not 0/1", GOOD_HEADER + good_rows(10) + "5,2023-02-01,1,1,2\n", [],
         ["value 2", "data row 11"]),
        ("too few patients", GOOD_HEADER + "1,2023-01-01,1,1,0\n1,2023-01-02,1,1,1\n", [],
         ["too few for --split", "the minimum is 100 rows"]),
        ("ten rows", GOOD_HEADER + good_rows(10), [], ["10 data rows", "the minimum is 100 rows"]),
        ("impossible date", GOOD_HEADER + good_rows(10) + "5,2023-02-30,1,1,0\n", [],
         ["'2023-02-30' in data row 11", "not a valid calendar date (2023-02 has 28 days)"]),
    ],
)
def test_malformed_csv_is_a_data_error_with_no_partial_model(tmp_path, name, text, extra, fragments):
    proc, out = train_on(tmp_path, text, *extra)
    assert proc.returncode == EXIT_DATA, f"{name}: exit {proc.returncode}\n{proc.stderr}"
    assert "data error" in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, f"{name}: {fragment!r} not in {proc.stderr!r}"
    assert not out.exists()
    assert no_leftovers(out.parent) == []


# --------------------------------------------------------------------------- model file errors
def test_bad_model_files_exit_4(trained, cohort, tmp_path):
    _, model, _ = trained
    text = model.read_text()
    cases = {
        "missing.json": None,
        "truncated.json": text[: len(text) // 2],
        "edited.json": text.replace('"threshold":', '"threshold": 0.5, "x":', 1),
        "not_json.json": "hello",
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        out = tmp_path / "scores.csv"
        proc = run("predict", "--model", path, "--data", cohort, "--out", out)
        assert proc.returncode == EXIT_MODEL, f"{name}: {proc.returncode}\n{proc.stderr}"
        assert "model file error" in proc.stderr and name in proc.stderr
        assert not out.exists()
    assert no_leftovers(tmp_path) == []


def test_predict_on_a_file_without_the_features_is_a_data_error(trained, tmp_path):
    _, model, _ = trained
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    proc = run("predict", "--model", model, "--data", data, "--out", tmp_path / "s.csv",
               check=EXIT_DATA)
    assert "lacks the column(s)" in proc.stderr and "age" in proc.stderr
    assert not (tmp_path / "s.csv").exists()


# --------------------------------------------------------------------------- the demo (quality)
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--out", d, check=0)
    return d, proc, json.loads((d / "summary.json").read_text())


def test_demo_calibration_moves_risks_closer_to_the_truth(demo):
    _, proc, summary = demo
    for key in ("lr", "gbdt"):
        mae = summary["models"][key]["mae_true_risk"]
        print(f"{key}: mean |risk - true risk| {mae['before']:.4f} -> {mae['after']:.4f}")
        assert mae["after"] < mae["before"], (key, mae)
    assert "mean |risk - true risk|" in proc.stdout


def test_demo_threshold_meets_the_recall_floor_on_the_calibration_part(demo):
    _, _, summary = demo
    for key in ("lr", "gbdt"):
        assert summary["models"][key]["calibration_part"]["recall"] >= 0.8


def test_demo_report_flags_the_shifted_site(demo):
    d, _, summary = demo
    for key in ("lr", "gbdt"):
        assert "C" in summary["models"][key]["flagged_sites"], summary["models"][key]
        report = json.loads((d / f"{key}.report.json").read_text())
        assert "C" in json.dumps(report)


def test_demo_writes_every_file_and_prints_the_table(demo):
    d, proc, _ = demo
    for name in ("cohort.csv", "lr.model.json", "gbdt.model.json", "lr.report.html",
                 "gbdt.report.html", "lr.report.json", "gbdt.report.json", "summary.json"):
        assert (d / name).is_file(), name
    for label in ("ROC AUC", "average precision", "log loss", "Brier", "ECE", "threshold",
                  "alert rate", "site flagged"):
        assert label in proc.stdout


# --------------------------------------------------------------------------- hostile input (#11)
def digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def write_good_csv(path, n=400):
    pathlib.Path(path).write_text(GOOD_HEADER + good_rows(n))
    return path


@pytest.mark.parametrize("case", ["predict-same", "predict-symlink", "train-same", "train-outputs",
                                  "evaluate-model"])
def test_an_output_may_not_overwrite_an_input_or_another_output(trained, cohort, tmp_path, case):
    _, model, _ = trained
    data = tmp_path / "d.csv"
    data.write_bytes(cohort.read_bytes()[:200000].rsplit(b"\n", 1)[0] + b"\n")
    own_model = tmp_path / "m.json"
    own_model.write_bytes(model.read_bytes())
    (tmp_path / "link.csv").symlink_to(data)
    args = {
        "predict-same": ["predict", "--model", own_model, "--data", data, "--out", data],
        "predict-symlink": ["predict", "--model", own_model, "--data", data, "--out",
                            tmp_path / "link.csv"],
        "train-same": ["train", "--data", data, *TRAIN_FLAGS, "--out", data],
        "train-outputs": ["train", "--data", data, *TRAIN_FLAGS, "--out", own_model, "--report",
                          own_model, "--json", own_model],
        "evaluate-model": ["evaluate", "--model", own_model, "--data", data, "--label",
                           "readmitted", "--report", tmp_path / "." / "m.json"],
    }[case]
    before = {p.name: digest(p) for p in (data, own_model)}
    proc = run(*args, check=EXIT_USAGE)
    assert "same file" in proc.stderr
    assert {p.name: digest(p) for p in (data, own_model)} == before
    assert (tmp_path / "link.csv").is_symlink()
    assert no_leftovers(tmp_path) == []


def _limit_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    return apply


def test_a_train_failing_after_training_replaces_no_output(cohort, tmp_path):
    """The model (the largest output) cannot be written after training and the reports were
    produced: the old report and JSON stay as they were and no model appears."""
    report, report_json, model = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "m.json"
    report.write_text("old report")
    report_json.write_text("old json")
    args = [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "gbdt",
            "--param", "n_estimators=400", "--param", "early_stopping=false", "--out", str(model),
            "--report", str(report), "--json", str(report_json)]
    limit = 500_000  # well above both reports (about 60 kB), below the 400-tree model (2 MB)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600,
                          preexec_fn=_limit_file_size(limit))
    assert proc.returncode != 0, proc.stderr
    assert "writing" in proc.stderr and "no output was replaced" in proc.stderr, proc.stderr
    assert "evaluating" in proc.stderr  # the failure came after training and the reports
    assert report.read_text() == "old report"
    assert report_json.read_text() == "old json"
    assert not model.exists()
    assert no_leftovers(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_train_leaves_no_temporaries(cohort, tmp_path, sig):
    out = tmp_path / "m.json"
    args = [str(CLI), "train", "--data", str(cohort), *TRAIN_FLAGS, "--model", "gbdt",
            "--param", "n_estimators=100000", "--param", "max_model_nodes=100000000",
            "--param", "early_stopping=false", "--out", str(out),
            "--report", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    # The signal's default action in the child: a shell that starts the tests in the background
    # ignores SIGINT, children inherit that, and the CLI keeps a signal ignored at its start
    # ignored (as under nohup), so it would train on to the end.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not no_leftovers(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(no_leftovers(tmp_path)) == 3  # the three outputs' temporaries exist
        time.sleep(0.5)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -sig  # still ends by the signal
    assert no_leftovers(tmp_path) == []
    assert not out.exists()


def test_non_utf8_is_a_data_error_before_training(tmp_path):
    raw = (GOOD_HEADER.replace("x2", "site") + good_rows(300)).encode()
    # A Latin-1 e-grave in the site label of data row 5.
    fields = raw.split(b"\n")
    cols = fields[5].split(b",")
    cols[3] = b"Gen\xe8ve"
    fields[5] = b",".join(cols)
    data = tmp_path / "d.csv"
    data.write_bytes(b"\n".join(fields))
    expected_offset = sum(len(f) + 1 for f in fields[:5]) + len(b",".join(cols[:3])) + 1 + 3
    out = tmp_path / "out" / "m.json"
    out.parent.mkdir()
    report = tmp_path / "out" / "r.json"
    report.write_text("old")
    proc = run("train", "--data", data, "--label", "y", "--group-column", "pid", "--time-column",
               "date", "--categorical", "site", "--model", "lr", "--out", out, "--json", report,
               check=EXIT_DATA)
    assert "data row 5, column 'site' holds the byte 0xE8" in proc.stderr, proc.stderr
    assert f"byte offset {expected_offset}" in proc.stderr
    assert "Gen\\xE8ve" in proc.stderr and "UTF-8" in proc.stderr
    assert "fitting" not in proc.stderr
    assert not out.exists() and report.read_text() == "old"
    assert no_leftovers(out.parent) == []


def test_latin1_column_name_and_cr_line_ends_are_short_data_errors(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes((GOOD_HEADER.replace("x2", "G\xe9n") + good_rows(50)).encode("latin-1"))
    proc = run("train", "--data", data, "--label", "y", "--out", tmp_path / "m.json",
               check=EXIT_DATA)
    assert "the header's column 4 holds the byte 0xE9 at byte offset 13" in proc.stderr
    data.write_text((GOOD_HEADER + good_rows(2000)).replace("\n", "\r"), newline="")
    proc = run("train", "--data", data, "--label", "y", "--out", tmp_path / "m.json",
               check=EXIT_DATA)
    assert "unsupported line ending" in proc.stderr
    assert len(proc.stderr) < 600, proc.stderr  # the file is not echoed
    assert not (tmp_path / "m.json").exists()


def test_a_non_utf8_file_name_does_not_break_the_model_file(tmp_path):
    name = os.fsencode(tmp_path) + b"/d\xe9.csv"
    with open(name, "wb") as f:
        f.write((GOOD_HEADER + good_rows()).encode())
    out = tmp_path / "m.json"
    proc = subprocess.run([os.fsencode(CLI), b"train", b"--data", name, b"--label", b"y",
                           b"--time-column", b"date", b"--group-column", b"pid",
                           b"--model", b"lr", b"--policy", b"max-f=1", b"--out", os.fsencode(out),
                           b"--json", os.fsencode(tmp_path / "r.json")],
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert provenance(out)["data.source"] == "d\\xE9.csv"


@pytest.mark.parametrize("flags", [["--seed", "-1"], ["--seed", str(2**70)], ["--seed", "1e3"],
                                   ["--threads", "-1"], ["--threads", str(2**70)]])
def test_integer_flags_are_checked_in_full(tmp_path, flags):
    data = write_good_csv(tmp_path / "d.csv")
    proc = run("train", "--data", data, "--label", "y", "--out", tmp_path / "m.json", *flags,
               check=EXIT_USAGE)
    assert flags[1] in proc.stderr
    assert not (tmp_path / "m.json").exists()


def test_generate_rows_and_seed_are_checked(tmp_path):
    for flags in (["--rows", str(2**70)], ["--rows", "5x"], ["--seed", "-1"]):
        run("generate", *flags, "--out", tmp_path / "c.csv", check=EXIT_USAGE)
    assert not (tmp_path / "c.csv").exists()
    run("generate", "--rows", 100, "--seed", str(2**64 - 1), "--out", tmp_path / "c.csv", check=0)


def test_a_directory_is_named_as_such(trained, cohort, tmp_path):
    _, model, _ = trained
    proc = run("predict", "--model", tmp_path, "--data", cohort, "--out", tmp_path / "s.csv",
               check=EXIT_MODEL)
    assert "is a directory" in proc.stderr and "bytes" not in proc.stderr
    proc = run("predict", "--model", model, "--data", tmp_path, "--out", tmp_path / "s.csv",
               check=EXIT_USAGE)
    assert "is a directory" in proc.stderr
    assert not (tmp_path / "s.csv").exists()
