"""Parsing of a Dockerfile for tests/docker/guard.py (stdlib only).

Enough of the syntax for the project's own Dockerfile: stages, logical lines
(comments dropped, `\\` continuations joined), exec and shell forms, ENV,
the packages of `apt-get install` lines, and what a `cmake` build produces.
"""
import json
import os
import shlex


class instruction:
    def __init__(self, keyword, args, line):
        self.keyword = keyword  # upper case
        self.args = args        # the rest of the logical line
        self.line = line        # first physical line, 1-based

    def words(self):
        """The arguments as words: JSON (exec) form or shell-like splitting."""
        a = self.args.strip()
        if a.startswith("["):
            try:
                v = json.loads(a)
                if isinstance(v, list):
                    return [str(x) for x in v]
            except ValueError:
                pass
        try:
            return shlex.split(a, comments=False)
        except ValueError:
            return a.split()


class stage:
    def __init__(self, base, name, line):
        self.base = base
        self.name = name
        self.line = line
        self.instructions = []

    def all(self, keyword):
        return [i for i in self.instructions if i.keyword == keyword]

    def label(self):
        return f"stage {self.name or self.base!r} (line {self.line})"


def parse_dockerfile(text):
    """Logical instructions grouped by stage; comments dropped, `\\` joined."""
    stages = []
    pending, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped
        if not pending:
            start = n
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, args = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            w = args.split()
            w = [x for x in w if not x.startswith("--")]
            name = w[2] if len(w) >= 3 and w[1].upper() == "AS" else None
            stages.append(stage(w[0] if w else "", name, start))
        elif stages:
            stages[-1].instructions.append(instruction(keyword, args.strip(), start))
    return stages


def split_flags(words):
    flags, rest = {}, []
    for w in words:
        if w.startswith("--") and not rest:
            k, _, v = w[2:].partition("=")
            flags[k] = v
        else:
            rest.append(w)
    return flags, rest


def parse_env(st):
    env = {}
    for ins in st.all("ENV"):
        words = ins.words()
        if len(words) >= 1 and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])  # legacy `ENV KEY value`
            continue
        for w in words:
            k, _, v = w.partition("=")
            env[k] = v
    return env


def shell_commands(run_args):
    """Splits a RUN line at &&, ||, ; and | into word lists."""
    try:
        lexer = shlex.shlex(run_args, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = run_args.split()
    commands, current = [], []
    for t in tokens:
        if t in ("&&", "||", ";", "|", "&"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(t)
    if current:
        commands.append(current)
    return commands


def apt_installed_packages(st):
    """Packages named on `apt-get install` lines of a stage, and the RUNs."""
    packages, runs = set(), []
    for ins in st.all("RUN"):
        for cmd in shell_commands(ins.args):
            words = [w for w in cmd if "=" not in w or w.startswith("-")]  # drop VAR=value prefixes
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                names = [w for w in after if not w.startswith("-")]
                packages.update(n.split("=")[0] for n in names)
                runs.append(ins)
    return packages, runs


def build_output(st):
    """(path of the countersign binary the stage builds, problems)."""
    workdir, problems, out = "/", [], None
    for ins in st.instructions:
        if ins.keyword == "WORKDIR":
            w = ins.args.strip()
            workdir = w if w.startswith("/") else os.path.join(workdir, w)
        elif ins.keyword == "RUN":
            for cmd in shell_commands(ins.args):
                if not cmd or cmd[0] != "cmake":
                    continue
                if "-B" in cmd:
                    bdir = cmd[cmd.index("-B") + 1]
                    out_dir = bdir if bdir.startswith("/") else os.path.normpath(os.path.join(workdir, bdir))
                    out = os.path.join(out_dir, "countersign")
                if "--build" in cmd and "--target" in cmd:
                    if cmd[cmd.index("--target") + 1] != "countersign":
                        problems.append(f"line {ins.line}: builds target {cmd[cmd.index('--target') + 1]!r}, "
                                        "not countersign")
    return out, problems
