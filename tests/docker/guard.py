#!/usr/bin/env python3
"""Guards docker/Dockerfile and docker/compose.yaml where no Docker engine runs.

    guard.py BINARY SOURCE_DIR [--dockerfile FILE] [--compose FILE]

Checks, reporting every violation (exit 1) rather than stopping at the first:

  libraries  every shared library `ldd BINARY` resolves comes from a Debian
             package (`dpkg -S`) that the runtime stage's apt-get line
             installs; the line uses --no-install-recommends and removes the
             apt lists.
  copies     every COPY source exists in the build context (SOURCE_DIR) and is
             not excluded by .dockerignore; a COPY --from=STAGE copies what
             that stage builds (<WORKDIR>/<cmake -B dir>/countersign); the
             build stage runs scripts/install-deps.sh; every -DCOUNTERSIGN_*
             option it passes is defined in CMakeLists.txt.
  runtime    the last stage has a non-root USER, EXPOSE 8000 8443 8001, a
             HEALTHCHECK on /status/ready, a VOLUME equal to
             COUNTERSIGN_DATA_DIR, the admin listener on 0.0.0.0:8001, and
             CMD --config pointing at the file the image copies there.
  configs    `countersign check` passes on every config file the image copies
             and every one compose mounts, with the image's and the compose
             service's COUNTERSIGN_* environment (data_dir in a temp dir,
             or in $COUNTERSIGN_GUARD_DATA_DIR).
  compose    compose.yaml parses as YAML (skipped, with a message, when no
             python3 with PyYAML exists); depends_on names existing services;
             bind-mounted files exist; build contexts and Dockerfiles exist;
             services running the countersign image use commands the binary
             accepts; the hosts of URLs in the mounted gateway configs are
             compose services.

Environment: COUNTERSIGN_GUARD_DATA_DIR (data_dir for `check`; default a
temp dir) and COUNTERSIGN_GUARD_APT_CACHE (a JSON file caching apt-cache
answers across runs) are used by tests/docker/mutations.py.
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from dockerfile import (apt_installed_packages, build_output, parse_dockerfile,  # noqa: E402
                        parse_env, split_flags)

# Packages a debian:12-slim image already holds and that need not be named:
# libc6 is Priority: required (every Essential package needs it) and
# libgcc-s1 is a Depends of libc6, so neither can be missing from any Debian
# image. Everything else, libstdc++6 included, must be installed explicitly
# (today apt pulls libstdc++6 into the slim image, but nothing promises it).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}

REQUIRED_PORTS = ("8000", "8443", "8001")


class report:
    def __init__(self):
        self.errors = []

    def fail(self, area, message):
        self.errors.append(f"{area}: {message}")
        print(f"FAIL [{area}] {message}", flush=True)

    def ok(self, area, message):
        print(f"ok   [{area}] {message}", flush=True)

    def skip(self, area, message):
        print(f"SKIP [{area}] {message}", flush=True)


# --- checks ---------------------------------------------------------------------

def owner_candidates(path):
    """Paths dpkg may know a library by: as listed, with its directory
    resolved, fully resolved, each with merged-/usr variants (/lib <-> /usr/lib)."""
    candidates = []

    def add(p):
        if p and p not in candidates:
            candidates.append(p)

    real = os.path.realpath(path)
    dir_real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    for p in (path, dir_real, real):
        add(p)
        if p.startswith("/usr/lib"):
            add(p[len("/usr"):])
        elif p.startswith("/lib"):
            add("/usr" + p)
    return candidates


def dpkg_owners(paths):
    """{path: [package, ...]} for the paths dpkg knows (one dpkg -S call)."""
    if not paths:
        return {}
    r = subprocess.run(["dpkg", "-S"] + paths, capture_output=True, text=True)
    owners = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion by") or ": " not in line:
            continue
        pkgs, path = line.rsplit(": ", 1)
        owners[path.strip()] = [o.strip().split(":")[0] for o in pkgs.split(",")]
    return owners


def known_debian_packages(names):
    """(set of names apt knows, or None when apt has no package lists)."""
    lists = glob.glob("/var/lib/apt/lists/*_Packages*")
    if not lists or not shutil_which("apt-cache"):
        return None
    # apt-cache takes seconds; tests/docker/mutations.py runs the guard many
    # times and shares the answers through this cache file.
    cache_path = os.environ.get("COUNTERSIGN_GUARD_APT_CACHE")
    cache = {}
    if cache_path and os.path.exists(cache_path):
        cache = json.load(open(cache_path, encoding="utf-8"))
    ask = sorted(n for n in names if n not in cache)
    if ask:
        r = subprocess.run(["apt-cache", "policy"] + ask, capture_output=True, text=True)
        found, current = set(), None
        for line in r.stdout.splitlines():
            if line and not line.startswith(" ") and line.endswith(":"):
                current = line[:-1].split(":")[0]
            elif current and line.strip().startswith("Candidate:") and "(none)" not in line:
                found.add(current)
        cache.update({n: n in found for n in ask})
        if cache_path:
            with open(cache_path, "w", encoding="utf-8") as f:
                json.dump(cache, f)
    return {n for n in names if cache.get(n)}


def check_libraries(rep, binary, runtime):
    area = "libraries"
    installed, runs = apt_installed_packages(runtime)
    if not runs:
        rep.fail(area, f"the runtime {runtime.label()} has no `apt-get install` line")
        return
    for ins in runs:
        if "--no-install-recommends" not in ins.args:
            rep.fail(area, f"line {ins.line}: apt-get install without --no-install-recommends")
        if "rm -rf /var/lib/apt/lists" not in ins.args:
            rep.fail(area, f"line {ins.line}: the apt lists are not removed (rm -rf /var/lib/apt/lists/*) "
                           "in the same RUN")
    for needed in ("curl", "ca-certificates"):
        if needed not in installed:
            rep.fail(area, f"the runtime stage does not install {needed} (the HEALTHCHECK uses curl; "
                           "https JWKS/introspection URLs need CA certificates)")
    if not shutil_which("dpkg"):
        rep.skip(area, "dpkg not found: cannot map libraries to packages")
        return
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if r.returncode != 0:
        rep.fail(area, f"ldd {binary} failed: {r.stderr.strip() or r.stdout.strip()}")
        return
    libs = []
    for line in r.stdout.splitlines():
        line = line.strip()
        if "not found" in line:
            rep.fail(area, f"ldd cannot resolve {line}")
            continue
        m = re.match(r"^(\S+)\s+=>\s+(/\S+)", line) or re.match(r"^(/\S+)\s+\(0x", line)
        if not m:
            continue  # linux-vdso and the like have no file
        libs.append((m.group(1), m.group(m.lastindex)))
    if not libs:
        rep.fail(area, f"ldd listed no libraries for {binary}")
    candidates = {path: owner_candidates(path) for _, path in libs}
    owners_by_path = dpkg_owners(sorted({c for cs in candidates.values() for c in cs}))
    for soname, path in libs:
        owners = next((owners_by_path[c] for c in candidates[path] if c in owners_by_path), None)
        if owners is None:
            rep.fail(area, f"{soname} ({path}) belongs to no Debian package (tried "
                           f"{', '.join(candidates[path])}); the runtime image would not have it")
            continue
        if any(o in installed for o in owners):
            rep.ok(area, f"{soname}: package {'/'.join(owners)} is installed by the runtime stage")
        elif any(o in BASE_IMAGE_PACKAGES for o in owners):
            rep.ok(area, f"{soname}: package {'/'.join(owners)} is part of every Debian base image")
        else:
            rep.fail(area, f"{soname} ({path}) comes from package {'/'.join(owners)}, which the runtime "
                           f"stage's apt-get install line does not install (it installs: "
                           f"{' '.join(sorted(installed))})")
    known = known_debian_packages(installed)
    if known is None:
        rep.skip(area, "apt has no package lists: package names not checked against Debian")
    else:
        for p in sorted(installed - known):
            rep.fail(area, f"the runtime stage installs {p!r}, which is not a Debian 12 package")
        if installed <= known:
            rep.ok(area, "every package of the apt-get install line exists in Debian 12")


def shutil_which(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/bin", "/usr/sbin"]:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def dockerignore_patterns(context):
    path = os.path.join(context, ".dockerignore")
    if not os.path.exists(path):
        return []
    pats = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#") and not line.startswith("!"):
            pats.append(line.strip("/"))
    return pats


def ignored_by(src, patterns):
    import fnmatch
    parts = src.strip("/").split("/")
    for pat in patterns:
        bare = pat[3:] if pat.startswith("**/") else pat
        for i in range(len(parts)):
            prefix = "/".join(parts[:i + 1])
            if fnmatch.fnmatchcase(prefix, pat):
                return pat
            if pat.startswith("**/") and fnmatch.fnmatchcase(parts[i], bare):
                return pat
    return None


def check_copies(rep, stages, context):
    area = "copies"
    names = {s.name: s for s in stages if s.name}
    patterns = dockerignore_patterns(context)
    cmake_text = open(os.path.join(context, "CMakeLists.txt"), encoding="utf-8").read()
    for idx, st in enumerate(stages):
        for ins in st.instructions:
            if ins.keyword == "RUN":
                for opt in re.findall(r"-D(COUNTERSIGN_[A-Z0-9_]+)=", ins.args):
                    if not re.search(r"option\(\s*" + opt + r"\b", cmake_text):
                        rep.fail(area, f"line {ins.line}: -D{opt} is not an option of CMakeLists.txt "
                                       "(renamed? the build would silently ignore it)")
                    else:
                        rep.ok(area, f"-D{opt} is an option of CMakeLists.txt")
            if ins.keyword not in ("COPY", "ADD"):
                continue
            flags, words = split_flags(ins.words())
            if len(words) < 2:
                rep.fail(area, f"line {ins.line}: {ins.keyword} needs a source and a destination")
                continue
            sources = words[:-1]
            if "from" in flags:
                src_stage = names.get(flags["from"])
                if src_stage is None:
                    rep.skip(area, f"line {ins.line}: COPY --from={flags['from']} names an image, not a stage")
                    continue
                produced, problems = build_output(src_stage)
                for p in problems:
                    rep.fail(area, p)
                for s in sources:
                    if produced is None:
                        rep.fail(area, f"line {ins.line}: stage {flags['from']!r} runs no `cmake -B DIR`, "
                                       f"so nothing produces {s}")
                    elif os.path.normpath(s) != produced:
                        rep.fail(area, f"line {ins.line}: COPY --from={flags['from']} {s} is not what that "
                                       f"stage builds ({produced})")
                    else:
                        rep.ok(area, f"COPY --from={flags['from']} {s}: the stage builds it")
                continue
            for s in sources:
                if re.match(r"^[a-z]+://", s):
                    rep.fail(area, f"line {ins.line}: {ins.keyword} from a URL ({s}) is not reproducible")
                    continue
                rel = os.path.normpath(s.lstrip("/")) if s not in (".", "./") else "."
                hits = glob.glob(os.path.join(context, rel))
                if not hits:
                    rep.fail(area, f"line {ins.line}: {ins.keyword} source {s} does not exist in the build "
                                   f"context {context}")
                    continue
                pat = ignored_by(rel, patterns) if rel != "." else None
                if pat:
                    rep.fail(area, f"line {ins.line}: {ins.keyword} source {s} is excluded by .dockerignore "
                                   f"pattern {pat!r}")
                    continue
                rep.ok(area, f"{ins.keyword} {s} exists")
    deps_stages = [s for s in stages[:-1] if any("scripts/install-deps.sh" in i.args for i in s.all("RUN"))]
    if not deps_stages:
        rep.fail(area, "no build stage runs scripts/install-deps.sh (the image must build with the "
                       "same packages as a developer machine)")
    for s in deps_stages:
        if s.base not in ("debian:12", "debian:bookworm"):
            rep.fail(area, f"the build {s.label()} is based on {s.base}, not debian:12 (the Debian release "
                           "scripts/install-deps.sh and the runtime stage's packages are for)")
        else:
            rep.ok(area, f"the build {s.label()} is debian:12 and runs scripts/install-deps.sh")


def check_runtime(rep, runtime):
    area = "runtime"
    env = parse_env(runtime)
    users = runtime.all("USER")
    if not users:
        rep.fail(area, "the runtime stage has no USER: the gateway would run as root")
    else:
        u = users[-1].args.split(":")[0].strip()
        if u in ("root", "0", ""):
            rep.fail(area, f"line {users[-1].line}: USER {users[-1].args} runs as root")
        else:
            rep.ok(area, f"USER {users[-1].args}")
    exposed = set()
    for ins in runtime.all("EXPOSE"):
        exposed.update(w.split("/")[0] for w in ins.words())
    for p in REQUIRED_PORTS:
        if p not in exposed:
            rep.fail(area, f"EXPOSE lacks port {p} (8000 proxy, 8443 proxy TLS, 8001 admin)")
    if set(REQUIRED_PORTS) <= exposed:
        rep.ok(area, "EXPOSE 8000 8443 8001")
    hcs = runtime.all("HEALTHCHECK")
    if not hcs or "/status/ready" not in hcs[-1].args:
        rep.fail(area, "the runtime stage has no HEALTHCHECK calling the admin API's /status/ready")
    else:
        rep.ok(area, "HEALTHCHECK on /status/ready")
    volumes = []
    for ins in runtime.all("VOLUME"):
        volumes.extend(ins.words())
    data_dir = env.get("COUNTERSIGN_DATA_DIR")
    if not volumes:
        rep.fail(area, "the runtime stage has no VOLUME for data_dir (signing keys would die with the container)")
    elif data_dir and data_dir not in volumes:
        rep.fail(area, f"COUNTERSIGN_DATA_DIR={data_dir} is not a VOLUME ({' '.join(volumes)})")
    elif not data_dir:
        rep.fail(area, "the runtime stage sets no ENV COUNTERSIGN_DATA_DIR (data_dir would not be the volume)")
    else:
        rep.ok(area, f"VOLUME {data_dir} is data_dir")
    admin = env.get("COUNTERSIGN_ADMIN_LISTEN", "")
    if not re.search(r"(^|[ ,])0\.0\.0\.0:8001($|[ ,])", admin):
        rep.fail(area, f"ENV COUNTERSIGN_ADMIN_LISTEN={admin!r}: the admin listener must be 0.0.0.0:8001 in the "
                       "container, for the published port and the HEALTHCHECK")
    entry = runtime.all("ENTRYPOINT")
    if not entry or os.path.basename(entry[-1].words()[0]) != "countersign":
        rep.fail(area, "ENTRYPOINT is not the countersign binary")
    cmd = runtime.all("CMD")
    words = cmd[-1].words() if cmd else []
    if "--config" not in words or words.index("--config") + 1 >= len(words):
        rep.fail(area, "CMD does not pass --config FILE")
    else:
        cfg = words[words.index("--config") + 1]
        copied = [i for i in runtime.all("COPY") if "from" not in split_flags(i.words())[0]
                  and i.words()[-1] == cfg]
        if not copied:
            rep.fail(area, f"CMD --config {cfg}: no COPY puts a default config there (docker run without a "
                           "mount would fail)")
        else:
            rep.ok(area, f"CMD --config {cfg} (a default config is copied there)")
    return env


def run_check(rep, binary, config_path, env_overrides, data_dir, what):
    area = "configs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    env.update({k: v for k, v in env_overrides.items() if k.startswith("COUNTERSIGN_")})
    env["COUNTERSIGN_DATA_DIR"] = data_dir
    r = subprocess.run([binary, "check", config_path], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        detail = (r.stdout + r.stderr).strip().replace("\n", "\n       ")
        rep.fail(area, f"`countersign check {config_path}` ({what}) failed:\n       {detail}")
    else:
        rep.ok(area, f"countersign check {os.path.relpath(config_path)} ({what})")


def load_yaml(path):
    """(document, None) or (None, reason). Uses PyYAML in this or another python3."""
    text = open(path, encoding="utf-8").read()
    try:
        import yaml  # noqa: F401
        try:
            return yaml.safe_load(text), None
        except yaml.YAMLError as e:
            return None, f"invalid YAML: {e}"
    except ImportError:
        pass
    for py in ("/usr/bin/python3", "python3"):
        p = shutil_which(py) if "/" not in py else (py if os.path.exists(py) else None)
        if not p or os.path.realpath(p) == os.path.realpath(sys.executable):
            continue
        r = subprocess.run([p, "-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
                           input=text, capture_output=True, text=True)
        if r.returncode == 0:
            return json.loads(r.stdout), None
        if "No module named" not in r.stderr:
            return None, f"invalid YAML: {r.stderr.strip().splitlines()[-1]}"
    return None, "SKIP"


def config_hosts(doc):
    """Host names of every URL in a gateway config (service urls, *_uri, *_endpoint)."""
    hosts = []

    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, str(k))
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and (key == "url" or key.endswith("_uri") or key.endswith("_endpoint")):
            m = re.match(r"^https?://(\[[^\]]+\]|[^/:?#]+)", v)
            if m:
                hosts.append((key, m.group(1), v))
        elif isinstance(v, str) and key == "host":
            hosts.append((key, v, v))

    walk(doc)
    return hosts


def check_compose(rep, binary, compose_path, context, image_env, data_dir, runtime_image_cfgs):
    area = "compose"
    doc, why = load_yaml(compose_path)
    if why == "SKIP":
        rep.skip(area, f"no python3 with PyYAML (Debian: python3-yaml): {compose_path} not parsed; "
                       "compose checks skipped")
        return
    if why:
        rep.fail(area, f"{compose_path}: {why}")
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict) or not doc["services"]:
        rep.fail(area, f"{compose_path}: no `services:` map")
        return
    rep.ok(area, f"{os.path.relpath(compose_path)} parses ({len(doc['services'])} services)")
    services = doc["services"]
    volumes = doc.get("volumes") or {}
    base = os.path.dirname(os.path.abspath(compose_path))
    countersign_images = set()
    for name, svc in services.items():
        if isinstance(svc, dict) and svc.get("build"):
            b = svc["build"]
            ctx = b if isinstance(b, str) else b.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(b, str) else b.get("dockerfile", "Dockerfile")
            ctx_abs = os.path.normpath(os.path.join(base, ctx))
            if not os.path.isfile(os.path.join(ctx_abs, dockerfile)):
                rep.fail(area, f"service {name}: build {ctx}/{dockerfile} does not exist")
            elif os.path.realpath(ctx_abs) != os.path.realpath(context):
                rep.fail(area, f"service {name}: build context {ctx_abs} is not the repository root {context}")
            else:
                rep.ok(area, f"service {name}: builds {dockerfile} from the repository root")
                if svc.get("image"):
                    countersign_images.add(svc["image"])
    for name, svc in services.items():
        if not isinstance(svc, dict):
            rep.fail(area, f"service {name}: not a map")
            continue
        if not svc.get("image") and not svc.get("build"):
            rep.fail(area, f"service {name}: neither image nor build")
        deps = svc.get("depends_on") or []
        for d in (deps.keys() if isinstance(deps, dict) else deps):
            if d not in services:
                rep.fail(area, f"service {name}: depends_on {d!r}, which is not a service "
                               f"({', '.join(services)})")
        svc_env = dict(image_env)
        e = svc.get("environment") or {}
        if isinstance(e, list):
            e = dict(x.split("=", 1) if "=" in x else (x, "") for x in e)
        svc_env.update({k: str(v) for k, v in e.items()})
        is_countersign = svc.get("image") in countersign_images or bool(svc.get("build"))
        mounted_config = None
        for v in svc.get("volumes") or []:
            spec = v if isinstance(v, str) else f"{v.get('source', '')}:{v.get('target', '')}"
            src, _, rest = spec.partition(":")
            target = rest.split(":")[0]
            if src.startswith(".") or src.startswith("/"):
                src_abs = os.path.normpath(os.path.join(base, src))
                if not os.path.exists(src_abs):
                    rep.fail(area, f"service {name}: mounted {src} does not exist ({src_abs})")
                    continue
                if is_countersign and target in runtime_image_cfgs:
                    mounted_config = src_abs
            elif src not in volumes:
                rep.fail(area, f"service {name}: volume {src!r} is not declared under top-level volumes:")
        command = svc.get("command")
        if is_countersign and command:
            words = command if isinstance(command, list) else shlex.split(command)
            sub = [w for w in words if not w.startswith("-")][:1]
            top = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
            r = subprocess.run([binary] + sub + ["--help"], capture_output=True, text=True)
            if r.returncode != 0 or not sub or not re.search(r"^\s+" + re.escape(sub[0]) + r"\s", top, re.M):
                rep.fail(area, f"service {name}: command {' '.join(words)!r}: the binary has no "
                               f"{' '.join(sub) or 'such'} subcommand (`countersign --help`)")
            else:
                # `--help` wins over unknown options, so compare with its text.
                known = set(re.findall(r"(--[A-Za-z0-9][A-Za-z0-9-]*)", r.stdout))
                unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in known]
                if unknown:
                    rep.fail(area, f"service {name}: `countersign {sub[0]}` has no option "
                                   f"{', '.join(unknown)} (`countersign {sub[0]} --help`)")
                else:
                    rep.ok(area, f"service {name}: `countersign {' '.join(words)}` is a valid command line")
        if is_countersign and not command:
            if mounted_config:
                run_check(rep, binary, mounted_config, svc_env, data_dir, f"compose service {name}")
                cfg, why = load_yaml(mounted_config)
                for key, host, url in config_hosts(cfg or {}):
                    if host in ("localhost",) or re.match(r"^[\d.]+$|^\[", host) or "." in host:
                        continue  # an address or a fully qualified name outside compose
                    if host not in services:
                        rep.fail(area, f"{os.path.relpath(mounted_config)}: {key} {url} names host {host!r}, "
                                       f"which is not a compose service ({', '.join(services)})")
                    else:
                        rep.ok(area, f"{key} {url}: {host} is a compose service")
            else:
                rep.ok(area, f"service {name}: runs the image's default config")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("source_dir")
    ap.add_argument("--dockerfile")
    ap.add_argument("--compose")
    a = ap.parse_args()
    context = os.path.abspath(a.source_dir)
    dockerfile = a.dockerfile or os.path.join(context, "docker", "Dockerfile")
    compose = a.compose or os.path.join(context, "docker", "compose.yaml")
    rep = report()
    a.binary = os.path.abspath(a.binary)
    print(f"docker guard: {dockerfile}, {compose}, binary {a.binary}", flush=True)
    if not os.access(a.binary, os.X_OK):
        rep.fail("libraries", f"{a.binary} is not an executable file; build the countersign target first")
        return finish(rep)

    stages = parse_dockerfile(open(dockerfile, encoding="utf-8").read())
    if len(stages) < 2:
        rep.fail("copies", f"{dockerfile}: expected a multi-stage build (build + runtime), found "
                           f"{len(stages)} stage(s)")
    if not stages:
        return finish(rep)
    runtime = stages[-1]
    if not runtime.base.startswith("debian:12-slim") and not runtime.base.startswith("debian:bookworm-slim"):
        rep.fail("runtime", f"the runtime stage is based on {runtime.base}, not debian:12-slim")
    check_libraries(rep, a.binary, runtime)
    check_copies(rep, stages, context)
    image_env = check_runtime(rep, runtime)

    with tempfile.TemporaryDirectory(prefix="docker-guard-") as tmp:
        data_dir = os.environ.get("COUNTERSIGN_GUARD_DATA_DIR") or os.path.join(tmp, "data")
        image_cfgs = {}
        for ins in runtime.all("COPY"):
            flags, words = split_flags(ins.words())
            if "from" in flags or len(words) < 2:
                continue
            dest = words[-1]
            for s in words[:-1]:
                if re.search(r"\.(ya?ml|json)$", s) and os.path.isfile(os.path.join(context, s)):
                    image_cfgs[dest if not dest.endswith("/") else dest + os.path.basename(s)] = s
        for dest, src in image_cfgs.items():
            run_check(rep, a.binary, os.path.join(context, src), image_env, data_dir, f"image default at {dest}")
        if os.path.exists(compose):
            check_compose(rep, a.binary, compose, context, image_env, data_dir, set(image_cfgs))
        else:
            rep.fail("compose", f"{compose} does not exist")
    return finish(rep)


def finish(rep):
    if rep.errors:
        print(f"\ndocker guard: {len(rep.errors)} problem(s):", flush=True)
        for e in rep.errors:
            print(f"  - {e}")
        return 1
    print("\ndocker guard: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
