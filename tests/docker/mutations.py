#!/usr/bin/env python3
"""Proves tests/docker/guard.py fails, with the right message, on broken files.

    mutations.py BINARY SOURCE_DIR

1. fixtures/broken.Dockerfile holds many problems at once: every expected
   message must appear in one guard run (the guard reports all problems).
2. Each mutation changes one thing in the real docker/Dockerfile or
   docker/compose.yaml and expects the guard to exit 1 naming that problem.
   A mutation whose text no longer occurs in the real file fails this test,
   so the mutations follow the files instead of silently testing nothing.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

FIXTURE_EXPECTED = [
    r"libyaml-cpp\.so\.0\.7 .*comes from package libyaml-cpp0\.7, which the runtime stage's apt-get install",
    r"apt-get install without --no-install-recommends",
    r"the apt lists are not removed",
    r"COPY source sources does not exist",
    r"COPY --from=build /src/build/countersign is not what that stage builds \(/src/out/countersign\)",
    r"no build stage runs scripts/install-deps\.sh",
    r"USER root runs as root",
    r"EXPOSE lacks port 8443",
    r"no HEALTHCHECK calling the admin API's /status/ready",
    r"no VOLUME for data_dir",
    r"the admin listener must be 0\.0\.0\.0:8001",
]

# (name, file, old text, new text, expected message regex)
MUTATIONS = [
    ("runtime lacks a library package", "dockerfile", " libfmt9 ", " ",
     r"libfmt\.so\.9 .*comes from package libfmt9, which the runtime stage's apt-get install line does not"),
    ("apt installs recommends", "dockerfile", "install -y --no-install-recommends", "install -y",
     r"apt-get install without --no-install-recommends"),
    ("missing COPY source", "dockerfile", "COPY docker/default.yaml", "COPY docker/missing.yaml",
     r"COPY source docker/missing\.yaml does not exist"),
    ("COPY --from a path the build stage does not produce", "dockerfile",
     "--from=build /src/build/countersign", "--from=build /src/out/countersign",
     r"COPY --from=build /src/out/countersign is not what that stage builds \(/src/build/countersign\)"),
    ("build stage builds another target", "dockerfile", "--target countersign", "--target test_core",
     r"builds target 'test_core', not countersign"),
    ("unknown CMake option", "dockerfile", "-DCOUNTERSIGN_BUILD_TESTS=OFF", "-DCOUNTERSIGN_TESTS=OFF",
     r"-DCOUNTERSIGN_TESTS is not an option of CMakeLists\.txt"),
    ("build stage skips install-deps.sh", "dockerfile", "RUN bash scripts/install-deps.sh",
     "RUN bash scripts/build.sh", r"no build stage runs scripts/install-deps\.sh"),
    ("build stage not Debian 12", "dockerfile", "FROM debian:12 AS build", "FROM debian:11 AS build",
     r"is based on debian:11, not debian:12"),
    ("root user", "dockerfile", "USER 10001:10001", "USER root", r"USER root runs as root"),
    ("no user", "dockerfile", "USER 10001:10001\n", "", r"the runtime stage has no USER"),
    ("port 8443 not exposed", "dockerfile", "EXPOSE 8000 8443 8001", "EXPOSE 8000 8001",
     r"EXPOSE lacks port 8443"),
    ("health check on /status", "dockerfile", "/status/ready}", "/status}",
     r"no HEALTHCHECK calling the admin API's /status/ready"),
    ("no volume", "dockerfile", 'VOLUME ["/var/lib/countersign"]\n', "", r"no VOLUME for data_dir"),
    ("admin on loopback", "dockerfile", 'COUNTERSIGN_ADMIN_LISTEN="0.0.0.0:8001"',
     'COUNTERSIGN_ADMIN_LISTEN="127.0.0.1:8001"', r"the admin listener must be 0\.0\.0\.0:8001"),
    ("invalid default config", "dockerfile", "COPY docker/default.yaml",
     "COPY tests/docker/fixtures/invalid.yaml",
     r"`countersign check .*invalid\.yaml` \(image default at /etc/countersign/countersign\.yaml\) failed"
     r"(.|\n)*countersign\.workers"),
    ("runtime stage not slim", "dockerfile", "FROM debian:12-slim AS runtime", "FROM debian:12 AS runtime",
     r"the runtime stage is based on debian:12, not debian:12-slim"),
    ("depends_on an unknown service", "compose", "      idp:\n        condition: service_healthy",
     "      identity:\n        condition: service_healthy",
     r"service gateway: depends_on 'identity', which is not a service"),
    ("config names a host that is not a service", "compose", "  upstream:\n    image: traefik",
     "  backend:\n    image: traefik",
     r"url http://upstream:80 names host 'upstream', which is not a compose service"),
    ("unknown countersign subcommand", "compose", '["demo-idp", ', '["demo-nonexistent", ',
     r"service idp: command 'demo-nonexistent .*no demo-nonexistent subcommand"),
    ("unknown option of a countersign subcommand", "compose", '"--issuer", ', '"--issuer-url", ',
     r"service idp: `countersign demo-idp` has no option --issuer-url"),
    ("mounted file missing", "compose", "./countersign.yaml:", "./nope.yaml:",
     r"service gateway: mounted \./nope\.yaml does not exist"),
    ("undeclared named volume", "compose", "volumes:\n  countersign-data:\n", "",
     r"volume 'countersign-data' is not declared"),
]

YAML_MUTATION = ("compose is not YAML", "compose", "\nservices:\n", "\nservices:\n  - [unclosed\n",
                 r"invalid YAML")


PACKAGE_MUTATION = ("runtime installs a package Debian 12 lacks", "dockerfile", " libspdlog1.10 ",
                    " libspdlog1.10 libspdlog1.99 ",
                    r"the runtime stage installs 'libspdlog1\.99', which is not a Debian 12 package")


def have_pyyaml():
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run([py, "-c", "import yaml"], capture_output=True).returncode == 0:
            return True
    return False


def run_guard(binary, source, env, dockerfile=None, compose=None):
    cmd = [sys.executable, os.path.join(HERE, "guard.py"), binary, source]
    if dockerfile:
        cmd += ["--dockerfile", dockerfile]
    if compose:
        cmd += ["--compose", compose]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r.returncode, r.stdout + r.stderr


def main():
    binary, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    dockerfile = os.path.join(source, "docker", "Dockerfile")
    compose = os.path.join(source, "docker", "compose.yaml")
    texts = {"dockerfile": open(dockerfile, encoding="utf-8").read(),
             "compose": open(compose, encoding="utf-8").read()}
    failures = []
    mutations = list(MUTATIONS)
    if glob.glob("/var/lib/apt/lists/*_Packages*"):
        mutations.append(PACKAGE_MUTATION)
    else:
        print("SKIP the package-name mutation needs apt package lists (apt-get update)")
    if have_pyyaml():
        mutations.append(YAML_MUTATION)
    else:
        print("SKIP compose mutations need PyYAML (Debian: python3-yaml)")
        mutations = [m for m in mutations if m[1] != "compose"]

    with tempfile.TemporaryDirectory(prefix="docker-mutations-") as tmp:
        env = dict(os.environ)
        # One data_dir for every run: keys are generated once, then loaded.
        env["COUNTERSIGN_GUARD_DATA_DIR"] = os.path.join(tmp, "data")
        env["COUNTERSIGN_GUARD_APT_CACHE"] = os.path.join(tmp, "apt-cache.json")

        def relocate_compose(text):
            # The copy lives in tmp: make its relative paths point at the repo.
            text = text.replace("context: ..", f"context: {source}")
            return text.replace("- ./countersign.yaml:", f"- {source}/docker/countersign.yaml:")

        code, out = run_guard(binary, source, env, dockerfile=os.path.join(HERE, "fixtures", "broken.Dockerfile"))
        missing = [e for e in FIXTURE_EXPECTED if not re.search(e, out)]
        if code != 1 or missing or "Traceback" in out:
            failures.append(f"fixtures/broken.Dockerfile: exit {code}, missing messages {missing}\n{out}")
        else:
            print(f"ok   fixtures/broken.Dockerfile: rejected with all {len(FIXTURE_EXPECTED)} expected messages")

        for name, which, old, new, expected in mutations:
            text = texts[which]
            if old not in text:
                failures.append(f"mutation {name!r}: {old!r} no longer occurs in docker/"
                                f"{'Dockerfile' if which == 'dockerfile' else 'compose.yaml'}; update "
                                "tests/docker/mutations.py")
                continue
            mutated = text.replace(old, new, 1)
            path = os.path.join(tmp, "Dockerfile" if which == "dockerfile" else "compose.yaml")
            if which == "compose":
                mutated = relocate_compose(mutated)
            with open(path, "w", encoding="utf-8") as f:
                f.write(mutated)
            if which == "dockerfile":
                code, out = run_guard(binary, source, env, dockerfile=path)
            else:
                code, out = run_guard(binary, source, env, compose=path)
            if code != 1 or not re.search(expected, out) or "Traceback" in out:
                failures.append(f"mutation {name!r}: expected exit 1 and /{expected}/, got exit {code}:\n{out}")
            else:
                print(f"ok   mutation {name!r} rejected")
            os.remove(path)

    if failures:
        print(f"\n{len(failures)} failure(s):")
        for f in failures:
            print(f"FAIL {f}\n")
        return 1
    print("\nthe guard rejects every broken variant")
    return 0


if __name__ == "__main__":
    sys.exit(main())
