"""Static checks of docker-compose.yml, Dockerfile and .dockerignore (no Docker engine needed).

Run by scripts/test with the readers' Python environment (PyYAML and jsonschema):

    python scripts/check_compose.py

It validates docker-compose.yml against the Compose Specification's JSON Schema, then checks
what reeltime relies on: the Kafka image is the version scripts/kafka-local runs, the broker
is a single KRaft node whose internal topics (transactions included) have one replica, the
reeltime service is built from the Dockerfile, creates the topics and then runs with the
image's config, waits for a healthy broker, keeps its data in ./data and serves port 8080;
the Dockerfile's stages, and its builder installing scripts/build-packages; the config the
image carries points at the compose broker.

The schema is the `compose_spec.json` shipped in the PyPI wheel of docker-compose 1.29.2,
downloaded once (pip, no dependencies, not installed) into $REELTIME_COMPOSE_SCHEMA_CACHE
(default /var/cache/reeltime/compose-spec). Exit status 1 lists every problem found.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tomllib
import zipfile

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA_WHEEL = "docker-compose==1.29.2"
SCHEMA_MEMBER = "compose/config/compose_spec.json"
problems = []


def problem(text):
    problems.append(text)


def compose_schema():
    cache = pathlib.Path(os.environ.get("REELTIME_COMPOSE_SCHEMA_CACHE",
                                        "/var/cache/reeltime/compose-spec"))
    wheels = sorted(cache.glob("docker_compose-1.29.2-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--dest", str(cache), SCHEMA_WHEEL],
                       check=True, stdin=subprocess.DEVNULL)
        wheels = sorted(cache.glob("docker_compose-1.29.2-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return json.loads(wheel.read(SCHEMA_MEMBER))


def kafka_version():
    pom = (ROOT / "scripts/kafka/pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    return match.group(1)


def check_compose(compose):
    validator = jsonschema.Draft201909Validator(compose_schema())
    for error in sorted(validator.iter_errors(compose), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.path) or "(top)"
        problem(f"docker-compose.yml: {where}: {error.message}")
    services = compose.get("services", {})

    kafka = services.get("kafka", {})
    want_image = f"apache/kafka:{kafka_version()}"
    if kafka.get("image") != want_image:
        problem(f"kafka image is {kafka.get('image')!r}, not {want_image!r} "
                "(the version of scripts/kafka/pom.xml)")
    env = {key: str(value) for key, value in (kafka.get("environment") or {}).items()}
    if set(env.get("KAFKA_PROCESS_ROLES", "").split(",")) != {"broker", "controller"}:
        problem("kafka: KAFKA_PROCESS_ROLES must be broker,controller (one KRaft node)")
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
                "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"):
        if env.get(key) != "1":
            problem(f"kafka: {key} is {env.get(key)!r}, not '1' (a single node)")
    for key in ("KAFKA_NODE_ID", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_LISTENERS",
                "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_LISTENER_NAMES"):
        if key not in env:
            problem(f"kafka: {key} is not set")
    advertised = env.get("KAFKA_ADVERTISED_LISTENERS", "")
    if "://127.0.0.1:9092" not in advertised or "127.0.0.1:9092:9092" not in kafka.get("ports", []):
        problem("kafka: the host listener 127.0.0.1:9092 is not advertised and published")
    if "healthcheck" not in kafka:
        problem("kafka: no healthcheck (reeltime waits for a healthy broker)")

    # The one-shot topics service builds the image the others run.
    topics = services.get("topics", {})
    dockerfile = (topics.get("build") or {}).get("dockerfile", "Dockerfile")
    if not (ROOT / dockerfile).is_file():
        problem(f"topics: build.dockerfile {dockerfile!r} does not exist")
    if topics.get("command") != ["topics", "create", "--brokers", "kafka:19092"]:
        problem("topics: the command is not `topics create --brokers kafka:19092`")
    ready = ((topics.get("depends_on") or {}).get("kafka") or {}).get("condition")
    if ready != "service_healthy":
        problem(f"topics: depends on kafka with condition {ready!r}, not 'service_healthy'")

    service = services.get("reeltime", {})
    if service.get("image") != topics.get("image"):
        problem("reeltime: not the image the topics service builds")
    if service.get("command") != ["run", "--config", "/etc/reeltime/reeltime.toml"]:
        problem("reeltime: the command is not `run --config /etc/reeltime/reeltime.toml`")
    if "./data:/data" not in service.get("volumes", []):
        problem("reeltime: ./data is not mounted at /data")
    # The API and console: published on the host's loopback only, where the image's
    # configuration makes the service listen.
    if "127.0.0.1:8080:8080" not in [str(port) for port in service.get("ports", [])]:
        problem("reeltime: port 8080 is not published on 127.0.0.1 (127.0.0.1:8080:8080)")
    image_config = (ROOT / "docker" / "reeltime.toml").read_text()
    if 'listen = "0.0.0.0:8080"' not in image_config or 'log = "kafka"' not in image_config:
        problem("docker/reeltime.toml: the service must use Kafka and listen on 0.0.0.0:8080")
    condition = ((service.get("depends_on") or {}).get("topics") or {}).get("condition")
    if condition != "service_completed_successfully":
        problem(f"reeltime: depends on topics with condition {condition!r}, "
                "not 'service_completed_successfully' (the topics must exist first)")
    if "healthcheck" not in service:
        problem("reeltime: no healthcheck")
    if "kafka-data" not in (compose.get("volumes") or {}):
        problem("the kafka-data volume is not declared")

    # The live demo: the image's `reeltime demo --live` into the broker, once the engine runs.
    publisher = services.get("demo-publisher", {})
    if publisher.get("image") != service.get("image"):
        problem("demo-publisher: not the engine's image")
    publisher_command = " ".join(publisher.get("command") or [])
    if "demo" not in publisher_command or "--live --brokers kafka:19092" not in publisher_command:
        problem("demo-publisher: the command is not `demo ... --live --brokers kafka:19092`")
    depends = ((publisher.get("depends_on") or {}).get("reeltime") or {}).get("condition")
    if depends != "service_healthy":
        problem(f"demo-publisher: depends on reeltime with {depends!r}, not 'service_healthy'")
    if "./data:/data" not in publisher.get("volumes", []):
        problem("demo-publisher: ./data is not mounted at /data (the engine reads its chunks)")


def check_dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE | re.IGNORECASE)
    if stages != [("rust:1.95-bookworm", "builder"), ("debian:bookworm-slim", "")]:
        problem(f"Dockerfile: stages are {stages}, not a rust:1.95-bookworm builder and a "
                "debian:bookworm-slim runtime")
    builder = text.split("FROM debian:bookworm-slim")[0]
    copied = "COPY scripts/build-packages /tmp/build-packages" in builder
    installs = re.search(r"/tmp/build-packages\s*\\?\s*\|\s*xargs apt-get install", builder)
    if not (copied and installs):
        problem("Dockerfile: the builder does not install the packages of scripts/build-packages")
    if "COPY docker/reeltime.toml /etc/reeltime/reeltime.toml" not in text:
        problem("Dockerfile: docker/reeltime.toml is not copied to /etc/reeltime/reeltime.toml")
    if "EXPOSE 8080" not in text:
        problem("Dockerfile: port 8080 is not exposed")

    config = tomllib.loads((ROOT / "docker/reeltime.toml").read_text())
    if config.get("kafka", {}).get("brokers") != "kafka:19092":
        problem("docker/reeltime.toml: kafka.brokers is not the compose broker kafka:19092")
    if not str(config.get("output", {}).get("dir", "")).startswith("/data/"):
        problem("docker/reeltime.toml: output.dir is not under the /data volume")

    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".git", "target"):
        if entry not in ignored:
            problem(f".dockerignore: {entry} is not ignored")


def main():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    check_compose(compose)
    check_dockerfile()
    for text in problems:
        print(text, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"docker-compose.yml valid against the Compose Specification ({SCHEMA_WHEEL}); "
          f"Kafka {kafka_version()}, Dockerfile and .dockerignore consistent with "
          "scripts/build-packages")


if __name__ == "__main__":
    main()
