#!/usr/bin/env python3
"""Import graph of huoti-server: finds circles, and checks the layering rules of
docs/ARCHITECTURE.md ("The server, module by module").

    python3 tools/server_imports.py [--edges]

Reads every `crate::…` and `super::…` path in crates/huoti-server/src (in `use` lines and
inline, comments and strings left out), resolves each to the file of the module it names, and
reports:

* circles among files (strongly connected components of more than one file);
* the rules: leaf modules name no feature (rule 1), no module but the crate root names `app`
  (rule 3), and the features call each other along one order (rule 2): the graph of features
  has no circle; the order found is printed, callees first.

A directory module naming its own children by a relative path (`mod.rs` routing to
`create::create_session`, re-exporting `pub use sealing::rotate_kek`) is how a module is made
of files, not an import between units, so only `crate::` and `super::` paths count.

Exit status 1 when a circle or a broken rule is found. Standard library only.
"""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "crates" / "huoti-server" / "src"

# Modules below the features: they never name a feature (keep in step with
# crates/huoti-server/tests/layout.rs and docs/ARCHITECTURE.md).
LEAVES = {"calendar", "clock", "config", "error", "http", "metrics", "models", "serve", "signing", "state", "store", "testkit", "util", "vault"}
# The composition (the crate root, the application, the background loops) and `privacy`,
# whose mod.rs only declares its features.
TOP = {"", "app", "jobs", "privacy"}
DOC = SRC.parent.parent.parent / "docs" / "ARCHITECTURE.md"


def module_of(path: Path) -> tuple:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return tuple(parts)


def strip_comments_and_strings(text: str) -> str:
    """The code without comments, string and char literals (so doc links and SQL do not count)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4]):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_groups(code: str) -> list:
    """Every path written in the code, with `a::{b, c::d}` groups expanded."""
    paths = []
    for m in re.finditer(r"\b(?:crate|super)(?:::(?:\w+|\{))+", code):
        start = m.start()
        if code[m.end() - 1] == "{":
            depth, j = 1, m.end()
            while j < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
            paths.extend(expand(code[start:j]))
        else:
            paths.append(m.group(0))
    return paths


def expand(text: str) -> list:
    text = re.sub(r"\s+as\s+\w+", "", text)
    text = re.sub(r"\s+", "", text)
    if "{" not in text:
        return [text]
    head, _, rest = text.partition("{")
    items, depth, cur = [], 0, ""
    for ch in rest[:-1]:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    items.append(cur)
    out = []
    for item in items:
        if item in ("self", ""):
            out.append(head.rstrip(":"))
        else:
            out.extend(expand(head + item))
    return out


def resolve(path: str, here: tuple, modules: dict) -> tuple | None:
    """The module a path names (the longest prefix of it that is a module of the crate).
    `super` is the parent of the module a file defines, whether it is a `mod.rs` or not."""
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        supers = 0
        while supers < len(parts) and parts[supers] == "super":
            supers += 1
        base, rest = here[: len(here) - supers], parts[supers:]
    target = tuple(base) + tuple(rest)
    while target and target not in modules:
        target = target[:-1]
    return target if target in modules else None


def unit(mod: tuple) -> str:
    if not mod:
        return ""
    if mod[0] == "privacy" and len(mod) > 1:
        return f"privacy::{mod[1]}"
    return mod[0]


def sccs(graph: dict) -> list:
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def documented_order() -> list | None:
    """The features in the order written in docs/ARCHITECTURE.md (a line `Feature order
    (callees first): `a` → `b` → …`)."""
    for line in DOC.read_text().splitlines():
        if line.startswith("Feature order"):
            return re.findall(r"`([\w:]+)`", line)
    return None


def main() -> int:
    files = sorted(SRC.rglob("*.rs"))
    modules = {module_of(f): f for f in files}
    file_edges, unit_edges, problems = {}, {}, []
    for f in files:
        here = module_of(f)
        text = f.read_text()
        # Unit tests (at the end of a file, in `mod tests`) are left out, as from the line counts.
        cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+", text, re.M)
        code = strip_comments_and_strings(text[: cut.start()] if cut else text)
        for p in expand_use_groups(code):
            target = resolve(p, here, modules)
            if target is None or target == here:
                continue
            file_edges.setdefault(here, set()).add(target)
            a, b = unit(here), unit(target)
            if a == b:
                continue
            unit_edges.setdefault(a, set()).add(b)
            name = "::".join(here) or "lib"
            if b == "app" and a != "":
                problems.append(f"rule 3: {name} names app ({p})")
            if a in LEAVES and b not in LEAVES:
                problems.append(f"rule 1: leaf module {name} names {b} ({p})")
    circles = [c for c in sccs({k: v for k, v in file_edges.items()}) if len(c) > 1]
    for c in circles:
        problems.append("circle among files: " + " -> ".join("::".join(m) or "lib" for m in c))
    features = {u: {t for t in ts if t not in LEAVES and t not in TOP} for u, ts in unit_edges.items() if u not in LEAVES and u not in TOP}
    for u in {unit(m) for m in modules}:
        if u not in LEAVES and u not in TOP:
            features.setdefault(u, set())
    feature_circles = [c for c in sccs(features) if len(c) > 1]
    for c in feature_circles:
        problems.append("rule 2: circle among features: " + " -> ".join(c))
    print(f"huoti-server: {len(files)} files, {sum(len(v) for v in file_edges.values())} imports between them")
    print(f"circles among files: {len(circles)}")
    if not feature_circles:
        order, done = [], set()
        while len(order) < len(features):
            ready = sorted(u for u in features if u not in done and features[u] <= done)
            order.extend(ready)
            done.update(ready)
        print("features, callees first: " + ", ".join(order))
    documented = documented_order()
    if documented is None:
        problems.append(f"rule 2: no line starting 'Feature order' in {DOC.name}")
    else:
        position = {u: i for i, u in enumerate(documented)}
        for u in sorted(set(features) - set(position)):
            problems.append(f"rule 2: feature {u} is missing from the order in {DOC.name}")
        for u in sorted(set(position) - set(features)):
            problems.append(f"rule 2: {DOC.name} lists {u}, which is not a feature")
        for u, ts in sorted(features.items()):
            for t in sorted(ts):
                if u in position and t in position and position[t] > position[u]:
                    problems.append(f"rule 2: {u} calls {t}, which comes after it in the order of {DOC.name}")
        print("order in ARCHITECTURE.md: " + ", ".join(documented))
    if "--edges" in sys.argv:
        for u in sorted(features):
            if features[u]:
                print(f"  {u} -> {', '.join(sorted(features[u]))}")
    for p in problems:
        print("PROBLEM: " + p)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
