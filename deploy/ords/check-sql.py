#!/usr/bin/env python3
"""Parse every deploy/ords/*.sql with sqlfluff's Oracle dialect; exit 1 on any
unparsable section.

sqlfluff (https://docs.sqlfluff.com/) parses SQL and PL/SQL but not SQL*Plus, so what
it is given is a copy of each file in a temporary directory with:

* the SQL*Plus directives blanked: `whenever`, `set serveroutput` (and SQL*Plus's
  other `set` options), `prompt`, `show errors`, `spool`, `@file` and the lone `/`
  that runs a block (line numbers stay the same);
* each q-quoted literal (`q'[...]'`) replaced by a plain placeholder string, because
  sqlfluff's lexer ends a string at the first quote inside it. A literal that holds a
  statement (a handler's source, DDL run by EXECUTE IMMEDIATE) is parsed on its own,
  so it is checked too;
* the column expressions of a function-based index, which the dialect does not parse
  in CREATE INDEX, each parsed on its own as `SELECT <expression> FROM dual`, and the
  statement parsed with a plain column in its place.

Usage: check-sql.py [FILE.sql ...]   (default: every *.sql beside this script)
The sqlfluff command is $SQLFLUFF, else `sqlfluff` on the PATH.
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

# `set` and `show` only with SQL*Plus's own words, so `SET col = …` of an UPDATE stays.
DIRECTIVE = re.compile(
    r"^\s*(/|@.*|(whenever|prompt|spool)\b.*"
    r"|set\s+(serveroutput|define|echo|feedback|verify|heading|pagesize|linesize"
    r"|timing|termout|trimspool|sqlblanklines|long)\b.*"
    r"|show\s+err(ors)?\b.*)\s*$",
    re.I,
)
QUOTE_CLOSE = {"[": "]", "(": ")", "{": "}", "<": ">"}
STATEMENT = re.compile(
    r"^\s*(select|insert|update|delete|merge|create|alter|drop|begin|declare|with)\b",
    re.I,
)
INDEX = re.compile(
    r"^\s*(create\s+(?:unique\s+)?index\s+\S+\s+on\s+\S+\s*)\((.*)\)\s*;?\s*$",
    re.I | re.S,
)
IDENTIFIER = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_$#]*\s*(asc|desc)?\s*$", re.I)


def strip_directives(text):
    return "\n".join("" if DIRECTIVE.match(line) else line for line in text.split("\n"))


def take_q_literals(text):
    """Returns the text with q-quoted literals replaced, and the literals."""
    out, literals, i = [], [], 0
    pattern = re.compile(r"[qQ]'(.)")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            break
        opener = m.group(1)
        end = text.find(QUOTE_CLOSE.get(opener, opener) + "'", m.end())
        if end < 0:
            out.append(text[i:])
            break
        literal = text[m.end():end]
        literals.append((text.count("\n", 0, m.start()) + 1, literal))
        # Same number of lines, so sqlfluff's line numbers still point into the file.
        out.append(text[i:m.start()] + "'q_literal'" + "\n" * literal.count("\n"))
        i = end + 2
    return "".join(out), literals


def top_level_split(text):
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return parts


def pieces(statement):
    """The statement, split when sqlfluff cannot parse it whole."""
    m = INDEX.match(statement)
    if not m:
        return [statement]
    columns, out = [], []
    for n, expression in enumerate(top_level_split(m.group(2))):
        if IDENTIFIER.match(expression):
            columns.append(expression.strip())
        else:
            columns.append(f"expression_{n + 1}")
            out.append(f"SELECT {expression.strip()} FROM dual")
    return [f"{m.group(1)}({', '.join(columns)})"] + out


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    files = argv[1:] or sorted(glob.glob(os.path.join(here, "*.sql")))
    sqlfluff = shlex.split(os.environ.get("SQLFLUFF", "sqlfluff"))
    with tempfile.TemporaryDirectory(prefix="check-sql.") as tmp:
        # Large files are skipped silently (exit 0) unless the limit is lifted.
        with open(os.path.join(tmp, ".sqlfluff"), "w") as config:
            config.write("[sqlfluff]\ndialect = oracle\nlarge_file_skip_byte_limit = 0\n")
        targets = []
        for path in files:
            name = os.path.splitext(os.path.basename(path))[0]
            with open(path, encoding="utf-8") as f:
                text, literals = take_q_literals(strip_directives(f.read()))
            target = os.path.join(tmp, f"{name}.sql")
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            targets.append(target)
            for n, (line, literal) in enumerate(literals, 1):
                if not STATEMENT.match(literal):
                    continue
                for k, piece in enumerate(pieces(literal), 1):
                    part = os.path.join(tmp, f"{name}.line{line}.literal{n}.{k}.sql")
                    with open(part, "w", encoding="utf-8") as f:
                        f.write(piece.rstrip() + "\n")
                    targets.append(part)
        result = subprocess.run(
            sqlfluff + ["parse", "--dialect", "oracle", "."],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        output = result.stdout + result.stderr
        bad = [l for l in output.splitlines() if "unparsable" in l.lower() or "skipping" in l.lower()]
        if result.returncode != 0 or bad:
            violations = output.find("==== parsing violations ====")
            failed = [l for l in output.splitlines() if l.startswith("== [") and "FAIL" in l]
            print("\n".join(failed), file=sys.stderr)
            print(output[violations:] if violations >= 0 else output, file=sys.stderr)
            print(f"check-sql: sqlfluff found unparsable SQL (exit {result.returncode})", file=sys.stderr)
            return 1
        print(f"check-sql: {len(files)} files ({len(targets)} parts) parse as Oracle SQL")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
