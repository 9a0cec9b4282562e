"""Mechanical repairs of a bash solution, for mistakes whose intent is plain and that a small model
repeats after being told (each named by the run it came from)."""

from __future__ import annotations

import re

DONE_FROM_RE = re.compile(r"^(?P<indent>\s*)done\s*<\s*(?P<target>\"?\$?\{?[\w./-]+\}?\"?)\s*$")
WHILE_RE = re.compile(r"^\s*while\b")


def read_loop_rewritten(script: str) -> str:
    """A `while read ... done < FILE` loop that writes to FILE itself (`>> FILE` or `> FILE` in its
    body) never ends, reading each line it appends again, or keeps one line: it writes to FILE.new
    instead, which replaces FILE after the loop (run P: a config repaired in place ran out its 300 s,
    as run O's had, three rounds each, told only that it had not finished)."""
    lines = script.splitlines()
    for i, line in enumerate(lines):
        done = DONE_FROM_RE.match(line)
        start = next((j for j in range(i - 1, -1, -1) if WHILE_RE.match(lines[j])), None) if done else None
        if start is None:
            continue
        target, bare = done["target"], done["target"].strip('"')
        writes = re.compile(r">>?\s*(?:" + "|".join(re.escape(t) for t in {bare, f'"{bare}"'}) + r")(?=[\s;)]|$)")
        if not any(writes.search(body) for body in lines[start + 1 : i]):
            continue
        new = f'"{bare}.new"'
        lines[start + 1 : i] = [writes.sub(f">> {new}", body) for body in lines[start + 1 : i]]
        lines[i] = f"{line}\n{done['indent']}mv {new} {target}"
        lines[start] = f"{done['indent']}: > {new}\n{lines[start]}"
    return "\n".join(lines) + ("\n" if script.endswith("\n") else "")


MKDIR_RE = re.compile(r"^(?P<lead>[ \t]*mkdir[ \t]+-p[ \t]+)(?P<paths>[^;&|<>#\n]+?)[ \t]*$", re.M)


def without_mkdir_of_files(script: str, files: list[str]) -> str:
    """The script with the output files the task names (`/app/sccs.txt`) taken out of its
    `mkdir -p` lines (a line left with none goes): made folders, they can never be written (run P:
    `mkdir -p /app/sccs.txt`, and an accepted task whose tests only checked that it existed)."""
    named = {f.rstrip("/") for f in files if not f.endswith("/")}

    def mended(line: re.Match[str]) -> str:
        kept = [p for p in line["paths"].split() if p.strip("\"'") not in named]
        return f"{line['lead']}{' '.join(kept)}" if kept else ""

    return MKDIR_RE.sub(mended, script)
