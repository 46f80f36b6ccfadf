# SPDX-License-Identifier: Apache-2.0
"""scripts/check_function_length.py (run by `make format-check`) on small C++ fixtures.

The expected lengths are counted by the test itself (the lines between a body's braces, both
included), not taken from the checker.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_function_length.py"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_function_length", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def function(name, body_lines, signature=None):
    """A function whose body spans `body_lines` lines, braces included."""
    head = signature or f"int {name}(int x)"
    inner = [f"  x += {i};" for i in range(body_lines - 3)]
    return "\n".join([head + " {", *inner, "  return x;", "}"]) + "\n"


def run(path, *args):
    return subprocess.run([sys.executable, str(SCRIPT), *args, str(path)], capture_output=True,
                          text=True, check=False)


def test_a_130_line_function_fails_and_a_100_line_one_passes(tmp_path):
    long_file = tmp_path / "long.cpp"
    long_file.write_text("namespace demo {\n" + function("too_long", 130) + "}  // namespace demo\n")
    short_file = tmp_path / "short.cpp"
    short_file.write_text("namespace demo {\n" + function("fine", 100) + "}  // namespace demo\n")

    failed = run(long_file)
    assert failed.returncode == 1
    assert "too_long is 130 lines (limit 120)" in failed.stderr
    assert "split them at their stage comments" in failed.stderr

    passed = run(short_file)
    assert passed.returncode == 0, passed.stderr


def test_lengths_of_methods_constructors_and_operators(checker):
    text = (
        "namespace a {\nnamespace {\n" + function("helper", 7) + "}  // namespace\n"
        "struct S {\n  S() : v_{1}, w_(2) {}\n  int v_{0};\n  int w_ = 0;\n"
        + function("method", 5, "  int method(int x) const") + "};\n"
        + function("Cls::run", 12, "void Cls::run(std::vector<int> v = {}, int x = 0)")
        + function("operator()", 4, "double Cls::operator()(int x)")
        + "Cls::Cls(int a)\n    : base_{a, 2}, other_(a) {\n  f();\n}\n"
        + "}  // namespace a\n"
    )
    found = {fn.name: fn.length for fn in checker.scan(text)}
    assert found == {"helper": 7, "S": 1, "method": 5, "Cls::run": 12,
                     "Cls::operator()": 4, "Cls::Cls": 3}


def test_braces_in_comments_strings_raw_strings_and_directives_are_ignored(checker):
    text = (
        "// a comment with { an open brace\n"
        "/* and { another\n } */\n"
        "#define OPEN {\n"
        'const char* kCss = R"css(body{margin:0} p{)css";\n'
        "const char kBrace = '{';\n"
        "int big = 1'000'000;\n"
        + function("after", 9)
    )
    found = {fn.name: fn.length for fn in checker.scan(text)}
    assert found == {"after": 9}


def test_pybind_registration_and_allow_list_entries_are_exempt(tmp_path, checker):
    fixture = tmp_path / "bind.cpp"
    fixture.write_text(function("bind_things", 200, "void bind_things(py::module_& m)")
                       + function("long_but_allowed", 150))
    assert checker.main([str(fixture)], allow_list={}) == 1
    allowed = {f"{fixture.as_posix()}:long_but_allowed": "a reason"}
    assert checker.main([str(fixture)], allow_list=allowed) == 0
    assert checker.main([str(fixture)], allow_list={"long_but_allowed": "any file"}) == 0


def test_every_allow_list_entry_gives_a_reason(checker):
    for key, reason in checker.ALLOW_LIST.items():
        assert len(reason.split()) >= 4, key


def test_the_repository_has_no_unlisted_long_function():
    root = SCRIPT.parents[1]
    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=root, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
