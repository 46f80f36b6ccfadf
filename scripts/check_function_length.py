#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fail when a C++ function body is longer than the limit (default 120 lines).

Run by `make format-check` (and so by CI) on clang-formatted sources. The scan is a brace matcher,
not a parser: it blanks comments, string/char literals (raw strings included) and preprocessor lines,
then classifies every `{` opened at namespace or class scope by the text before it (its "head"):
`namespace`/`extern` opens a namespace, a leading class-key opens a class, a head with a parameter
list opens a function body, anything else (an initializer) is skipped. Lambdas and local classes
count towards the function that contains them. A body's length is the number of lines from its
opening to its closing brace, both included.

Exempt: pybind11 registration functions (`bind_*`, a flat list of `.def` calls) and the entries of
ALLOW_LIST below, each with the reason it may stay long.

Usage: check_function_length.py [--max N] [--list] [PATH ...]   (default paths: src include bindings examples)
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX = 120
DEFAULT_PATHS = ("src", "include", "bindings", "examples")
SUFFIXES = {".cpp", ".hpp", ".inc", ".h", ".cc"}

# Functions that may exceed the limit, each with the reason. A key is "path:name" (path relative to
# the repository root) or a bare "name" (any file). An entry that no longer matches an over-long
# function is reported so that it can be deleted.
ALLOW_LIST: dict[str, str] = {}

_CLASS_KEYS = {"class", "struct", "union", "enum"}
_NOT_A_NAME = {"decltype", "alignas", "noexcept", "__attribute__", "sizeof", "alignof", "static_assert"}


@dataclass(frozen=True)
class Function:
    path: str
    name: str
    first_line: int  # line of the opening brace (1-based)
    last_line: int  # line of the closing brace

    @property
    def length(self) -> int:
        return self.last_line - self.first_line + 1


def blank_code(text: str) -> str:
    """Return `text` with comments, literals and preprocessor lines replaced by spaces (newlines kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    line_start = True  # only whitespace seen since the last newline

    def blank(segment: str) -> str:
        return "".join(c if c == "\n" else " " for c in segment)

    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            line_start = True
            i += 1
            continue
        if line_start and c == "#":  # preprocessor directive, with backslash continuations
            j = i
            while j < n and text[j] != "\n":
                j += 2 if text[j] == "\\" and j + 1 < n else 1
            out.append(blank(text[i:j]))
            i = j
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "'" and not _is_digit_separator(text, i)):
            raw = re.match(r'(?:u8|[uUL])?R$', text[max(0, i - 3) : i])
            if c == '"' and raw and not _ident_char(text, i - len(raw.group(0)) - 1):
                m = re.compile(r'"([^()\\\s]{0,16})\(').match(text, i)
                end = text.find(")" + m.group(1) + '"', m.end()) if m else -1
                j = n if end < 0 else end + len(m.group(1)) + 2
            else:
                j = i + 1
                while j < n and text[j] != c and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, n)
            out.append(c + blank(text[i + 1 : j - 1]) + (c if j - 1 > i else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _ident_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _is_digit_separator(text: str, i: int) -> bool:
    """A `'` inside a number literal such as 1'000'000 (C++14)."""
    j = i - 1
    while j >= 0 and (text[j].isalnum() or text[j] in "'."):
        j -= 1
    token = text[j + 1 : i]
    return bool(token) and token[0].isdigit() and _ident_char(text, i + 1)


def _strip_template_prefix(head: str) -> str:
    head = head.strip()
    while True:
        m = re.match(r"template\s*<", head)
        if not m:
            return head
        depth, k = 1, m.end()
        while k < len(head) and depth:
            depth += {"<": 1, ">": -1}.get(head[k], 0)
            k += 1
        head = head[k:].strip()


def _depth0_parens(head: str) -> list[int]:
    """Offsets of the `(` that open a parenthesised group at depth 0 of `head`."""
    opens, depth = [], 0
    for k, ch in enumerate(head):
        if ch in "([":
            if depth == 0 and ch == "(":
                opens.append(k)
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
    return opens


def function_name(head: str) -> str | None:
    """Name of the function whose definition head this is, or None if it is not one."""
    head = _strip_template_prefix(re.sub(r"\[\[.*?\]\]", " ", head))
    for start in _depth0_parens(head):
        before = head[:start].rstrip()
        if "=" in re.sub(r"operator\s*\S+", "", before):
            return None  # an initializer such as `auto f = [](int x) {` or `T x = T(1) {`
        m = re.search(r"((?:[A-Za-z_~]\w*\s*::\s*)*(?:operator\s*(?:\(\)|[^\s(]+)|~?[A-Za-z_]\w*))$", before)
        if m is None or m.group(1) in _NOT_A_NAME:
            continue
        name = re.sub(r"\s+", "", m.group(1))
        return name + "()" if name.endswith("operator") else name  # the group was operator's ()
    return None


def _classify(head: str) -> str:
    """'namespace', 'class', 'function' or 'other' for the scope a `{` opens after `head`."""
    words = re.findall(r"[A-Za-z_]\w*", _strip_template_prefix(re.sub(r"\[\[.*?\]\]", " ", head)))
    if words and words[0] in {"namespace", "inline"} and "namespace" in words[:2]:
        return "namespace"
    if words and words[0] == "extern" and "(" not in head:
        return "namespace"  # extern "C" { ... }
    if words and (words[0] in _CLASS_KEYS or (words[0] == "typedef" and words[1:2] and words[1] in _CLASS_KEYS)):
        return "class"
    if function_name(head) is None:
        return "other"
    # In a constructor's initializer list (`Foo() : a_{1}, b_(2) {`) a brace initializer follows a
    # member or base name; the body follows the `)` or `}` that closes the last initializer.
    tail = head.rstrip()
    is_ctor_init = re.search(r"\)\s*(?:noexcept\s*)?:[^:]", tail) is not None
    if is_ctor_init and re.search(r"[\w>]$", tail) and not re.search(r"\b(?:const|noexcept|override|final)$", tail):
        return "member-init"
    return "function"


def scan(text: str, path: str = "<text>") -> list[Function]:
    """Every function body defined at namespace or class scope in `text`."""
    code = blank_code(text)
    functions: list[Function] = []
    stack: list[str] = []  # scope kinds of the open braces
    head_start = 0
    line = 1
    parens = 0  # depth of ( ) in the current head: braces in default arguments are not scopes
    i = 0
    while i < len(code):
        c = code[i]
        if c == "\n":
            line += 1
        elif c in "()":
            parens = max(0, parens + (1 if c == "(" else -1))
        elif c in ";{}" and parens == 0:
            if c == "{":
                head = code[head_start:i]
                kind = _classify(head)
                if kind == "function":
                    name = function_name(head) or "?"
                    end, end_line = _matching_brace(code, i, line)
                    functions.append(Function(path, name, line, end_line))
                    i, line = end, end_line
                    head_start = i + 1
                elif kind in {"other", "member-init"}:
                    end, end_line = _matching_brace(code, i, line)
                    i, line = end, end_line
                    if kind == "other":
                        head_start = i + 1
                else:
                    stack.append(kind)
                    head_start = i + 1
            else:
                if c == "}" and stack:
                    stack.pop()
                head_start = i + 1
        i += 1
    return functions


def _matching_brace(code: str, i: int, line: int) -> tuple[int, int]:
    """Offset and line of the `}` that closes the `{` at offset i (end of text if unbalanced)."""
    depth = 0
    for k in range(i, len(code)):
        ch = code[k]
        if ch == "\n":
            line += 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k, line
    return len(code) - 1, line


def allow_key(fn: Function, allow_list: dict[str, str]) -> str | None:
    """The allow-list entry covering `fn`, if any."""
    for key in (f"{fn.path}:{fn.name}", fn.name):
        if key in allow_list:
            return key
    return None


def is_exempt(fn: Function, allow_list: dict[str, str] = ALLOW_LIST) -> str | None:
    """Why `fn` may be long, or None."""
    if fn.name.split("::")[-1].startswith("bind_"):
        return "pybind11 registration function"
    key = allow_key(fn, allow_list)
    return None if key is None else allow_list[key]


def source_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES and f.is_file()))
    return files


def main(argv: list[str] | None = None, allow_list: dict[str, str] = ALLOW_LIST) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--max", type=int, default=DEFAULT_MAX, help="longest allowed body, in lines")
    parser.add_argument("--list", action="store_true", help="print every function over --max, exempt or not")
    args = parser.parse_args(argv)

    too_long, used = [], set()
    for f in source_files(args.paths):
        for fn in scan(f.read_text(encoding="utf-8", errors="replace"), f.as_posix()):
            if fn.length <= args.max:
                continue
            reason = is_exempt(fn, allow_list)
            used.add(allow_key(fn, allow_list))
            if args.list:
                note = f"  (exempt: {reason})" if reason else ""
                print(f"{fn.path}:{fn.first_line}: {fn.name} {fn.length} lines{note}")
            if reason is None:
                too_long.append(fn)
    stale = sorted(set(allow_list) - used) if args.paths == list(DEFAULT_PATHS) else []
    for key in stale:
        print(f"note: allow-list entry '{key}' matches no function over {args.max} lines; delete it "
              "from scripts/check_function_length.py", file=sys.stderr)
    for fn in [] if args.list else too_long:
        print(f"{fn.path}:{fn.first_line}: {fn.name} is {fn.length} lines (limit {args.max})", file=sys.stderr)
    if too_long:
        print(
            f"{len(too_long)} function(s) over {args.max} lines: split them at their stage comments into "
            "named helpers, or add an ALLOW_LIST entry with a reason in scripts/check_function_length.py",
            file=sys.stderr,
        )
    return 1 if too_long else 0


if __name__ == "__main__":
    sys.exit(main())
