"""The deployment files in deploy/, checked without a container engine or a cluster.

- deploy/compose.yaml against the Compose Specification's JSON Schema (the copy check-jsonschema ships),
  then what the schema cannot know: three KRaft brokers, two replicas of each API, health checks on
  /healthz, the gateway's upstreams, Prometheus scraping every process, a database per service.
- deploy/k8s rendered by kustomize (built by `make test` from the Go module proxy into .venv/bin, or
  `kubectl kustomize`), every manifest validated against the Kubernetes JSON Schemas that
  kubernetes-validate bundles (strict: an unknown field fails), then the probes, resources, autoscalers
  and Services of each API, and the topic Job against what the services' contracts declare.
- deploy/k8s/base/topics/provision-topics.sh run against stand-ins of Kafka's CLI that record what
  they are asked, so the partitions, replication and retention each topic gets are seen, not read;
  it and the database init script also pass shellcheck (as POSIX sh).
- deploy/Dockerfile through BuildKit's own parser, and deploy/requirements.lock against pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import dockerfile
import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from crm.registry import SERVICES, contract_of
from shared.topics import dead_letter_topic

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
TOPICS_DIR = BASE / "topics"
# The oldest Kubernetes release the manifests are meant for: its schemas are what they must satisfy.
KUBERNETES_VERSION = "1.32"
API_PORT = 8000
WORKER_PORT = 9000
DOMAIN_RETENTION = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}


def dns_name(service: str) -> str:
    """A service's name in compose and Kubernetes: DNS names take no underscore."""
    return service.replace("_", "-")


# --- the topics the services' contracts declare ------------------------------------------------

def declared_topics() -> dict[str, str]:
    """Every topic the workers would create, by name -> kind (as topics.txt spells kinds)."""
    topics: dict[str, str] = {}
    for service in SERVICES:
        for spec in contract_of(service).TOPICS:
            kind = "view" if spec.compacted else "domain"
            assert topics.setdefault(spec.name, kind) == kind, f"{spec.name} is declared compacted and not"
        topics[dead_letter_topic(service)] = "dead-letter"
    return topics


def listed_topics(text: str) -> dict[str, str]:
    topics: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, kind = line.split()
        assert name not in topics, f"{name} is listed twice"
        topics[name] = kind
    return topics


# --- compose --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_satisfies_the_compose_specification() -> None:
    # The schema check-jsonschema vendors from the compose-spec project, refreshed with its releases.
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         "--output-format", "text", str(DEPLOY / "compose.yaml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_three_kraft_brokers_as_one_quorum(compose: dict[str, Any]) -> None:
    brokers = {name: spec for name, spec in compose["services"].items() if name.startswith("kafka-")}
    assert len(brokers) == 3
    voters = {f"{spec['environment']['KAFKA_NODE_ID']}@{name}:9093" for name, spec in brokers.items()}
    for name, spec in brokers.items():
        env = spec["environment"]
        assert spec["image"].startswith("apache/kafka:")
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]) == 3
        assert int(env["KAFKA_MIN_INSYNC_REPLICAS"]) == 2
    assert len({spec["environment"]["CLUSTER_ID"] for spec in brokers.values()}) == 1
    assert len({spec["environment"]["KAFKA_NODE_ID"] for spec in brokers.values()}) == 3


def test_compose_references_resolve(compose: dict[str, Any]) -> None:
    # What `docker compose config` would refuse and the schema cannot see.
    services, volumes = compose["services"], set(compose.get("volumes", {}))
    for name, service in services.items():
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), f"{name} depends on {set(depends) - set(services)}"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in volumes, f"{name} mounts the undeclared volume {source}"
        if service.get("image", "").startswith("oneview-crm"):
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()
        else:
            assert not service["image"].endswith(":latest") and ":" in service["image"], name


def _healthz_port(healthcheck: dict[str, Any]) -> int:
    command = " ".join(healthcheck["test"])
    found = re.search(r"http://127\.0\.0\.1:(\d+)/healthz\b", command)
    assert found, f"not a /healthz check: {command}"
    return int(found.group(1))


def test_compose_runs_every_service_api_twice_and_its_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for service in SERVICES:
        api, worker = services[f"{dns_name(service)}-api"], services[f"{dns_name(service)}-worker"]
        assert api["deploy"]["replicas"] == 2
        assert api["command"][:2] == ["uvicorn", f"services.{service}.app:create_app"]
        assert api["command"][api["command"].index("--port") + 1] == str(API_PORT)
        assert _healthz_port(api["healthcheck"]) == API_PORT
        assert worker["command"] == ["python", "-m", f"services.{service}.worker"]
        assert int(worker["environment"][f"{service.upper()}_WORKER_PORT"]) == WORKER_PORT
        assert worker["environment"]["CRM_WORKER_HOST"] == "0.0.0.0"
        assert _healthz_port(worker["healthcheck"]) == WORKER_PORT
        assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        for process in (api, worker):
            assert process["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert process["build"]["dockerfile"] == "deploy/Dockerfile"
            # Compose refuses to start without a secret rather than fall back to the public one.
            assert process["environment"]["CRM_JWT_SECRET"].startswith("${CRM_JWT_SECRET:?")
    assert services["migrate"]["command"] == ["crm", "migrate"]
    assert _healthz_port(services["gateway"]["healthcheck"]) == API_PORT


def _assert_service_urls(urls: dict[str, str], known_hosts: set[str]) -> None:
    assert set(urls) == set(SERVICES), "CRM_SERVICE_URLS names exactly the services' APIs, no worker"
    for service, url in urls.items():
        assert url == f"http://{dns_name(service)}-api:{API_PORT}"
        assert f"{dns_name(service)}-api" in known_hosts


def test_compose_gateway_routes_to_the_apis_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    urls = json.loads(services["gateway"]["environment"]["CRM_SERVICE_URLS"])
    _assert_service_urls(urls, set(services))
    # The customer service's export reads the others through the same URLs.
    assert json.loads(services["customer-api"]["environment"]["CRM_SERVICE_URLS"]) == urls


def test_prometheus_scrapes_every_api_worker_and_the_gateway(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    targets: set[str] = set()
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            assert sd["type"] == "A"
            targets |= {f"{name}:{sd['port']}" for name in sd["names"]}
        for static in job.get("static_configs", []):
            targets |= set(static["targets"])
    wanted = {f"{dns_name(s)}-api:{API_PORT}" for s in SERVICES} | {
        f"{dns_name(s)}-worker:{WORKER_PORT}" for s in SERVICES} | {f"gateway:{API_PORT}"}
    assert targets == wanted
    prometheus = compose["services"]["prometheus"]
    assert "./prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_postgres_init_script_creates_the_database_of_every_service_url(compose: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    postgres = compose["services"]["postgres"]
    mount = next(v for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in v)
    script = DEPLOY / mount.split(":")[0]
    _stub(tmp_path, "psql", f'echo "$*" >> {tmp_path}/psql.log\n')
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "POSTGRES_USER": "crm"}
    subprocess.run(["sh", str(script)], env=env, check=True, capture_output=True, timeout=30)
    created = set(re.findall(r'CREATE DATABASE "([^"]+)"', (tmp_path / "psql.log").read_text()))
    urls = {s: compose["services"]["migrate"]["environment"][f"{s.upper()}_DATABASE_URL"] for s in SERVICES}
    assert created == {url.rsplit("/", 1)[1] for url in urls.values()}
    assert len(created) == len(SERVICES), "one database per service"


def test_compose_topics_one_shot_uses_the_kubernetes_list_and_script(compose: dict[str, Any]) -> None:
    topics = compose["services"]["topics"]
    assert "./k8s/base/topics:/provision:ro" in topics["volumes"]
    assert topics["command"] == ["sh", "/provision/provision-topics.sh"]
    assert int(topics["environment"]["TOPIC_REPLICATION_FACTOR"]) == 3
    assert int(topics["environment"]["TOPIC_MIN_INSYNC_REPLICAS"]) == 2


# --- Kubernetes -----------------------------------------------------------------------------------

def _kustomize_command() -> list[str]:
    built = Path(sys.executable).parent / "kustomize"
    if built.exists():
        return [str(built), "build"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.fail("no kustomize: `make test` builds it into .venv/bin (target $(BIN)/kustomize)")


def render(folder: Path) -> list[dict[str, Any]]:
    result = subprocess.run([*_kustomize_command(), str(folder)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


KUSTOMIZATIONS = {"base": BASE, "production": DEPLOY / "k8s" / "overlays" / "production"}


# Every check of the rendered manifests holds for the base and for each overlay of it.
@pytest.fixture(scope="module", params=sorted(KUSTOMIZATIONS))
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(KUSTOMIZATIONS[request.param])


def test_every_overlay_is_tested() -> None:
    overlays = {p.parent for p in (DEPLOY / "k8s").glob("overlays/*/kustomization.yaml")}
    assert overlays == {path for name, path in KUSTOMIZATIONS.items() if name != "base"}


def find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def config_map(manifests: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """A generated ConfigMap, whose name kustomize suffixes with a hash of its contents."""
    found = [m for m in manifests if m["kind"] == "ConfigMap" and re.fullmatch(
        rf"{prefix}(-[a-z0-9]{{10}})?", m["metadata"]["name"])]
    assert len(found) == 1
    return found[0]


def test_every_manifest_satisfies_the_kubernetes_schemas(manifests: list[dict[str, Any]]) -> None:
    template = yaml.safe_load((BASE / "secret.template.yaml").read_text())
    problems = []
    for manifest in [*manifests, template]:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            problems.append(f"{manifest.get('kind')} {manifest.get('metadata', {}).get('name')}: {exc}")
    assert not problems, "\n".join(problems)


def test_the_kustomization_holds_everything_item_one_asks_for(manifests: list[dict[str, Any]]) -> None:
    kinds = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    for service in SERVICES:
        name = dns_name(service)
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler"):
            assert (kind, f"{name}-api") in kinds
        assert ("Deployment", f"{name}-worker") in kinds
    assert {("Deployment", "gateway"), ("Service", "gateway"), ("Job", "crm-migrate"), ("Job", "crm-topics"),
            ("ConfigMap", "crm-config")} <= kinds
    # The Secret is a template only: applying the base must never install a known key.
    assert not [m for m in manifests if m["kind"] == "Secret"]


def containers_of(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _probe_port(container: dict[str, Any], probe: dict[str, Any]) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def _listening_port(container: dict[str, Any]) -> int:
    command = container["command"]
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    return int(next(v for k, v in env.items() if k.endswith("_WORKER_PORT")))


def _assert_probes_and_resources(deployment: dict[str, Any], port: int, readiness: str = "/readyz") -> None:
    name = deployment["metadata"]["name"]
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    assert _listening_port(main) == port, name
    assert main["readinessProbe"]["httpGet"]["path"] == readiness, name
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz", name
    assert _probe_port(main, main["readinessProbe"]) == _probe_port(main, main["livenessProbe"]) == port, name
    for container in containers_of(deployment):
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{name}/{container['name']}: {bound}"


def test_every_api_has_probes_resources_a_service_and_an_autoscaler(manifests: list[dict[str, Any]]) -> None:
    for service in SERVICES:
        name = f"{dns_name(service)}-api"
        deployment = find(manifests, "Deployment", name)
        _assert_probes_and_resources(deployment, API_PORT)
        main = deployment["spec"]["template"]["spec"]["containers"][0]
        assert main["command"][:2] == ["uvicorn", f"services.{service}.app:create_app"]
        # The autoscaler owns the replica count; a fixed one would fight it on every apply.
        assert "replicas" not in deployment["spec"]
        hpa = find(manifests, "HorizontalPodAutoscaler", name)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        _assert_service_selects(find(manifests, "Service", name), deployment, API_PORT)


def _assert_service_selects(service: dict[str, Any], deployment: dict[str, Any], port: int) -> None:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    main = deployment["spec"]["template"]["spec"]["containers"][0]
    (entry,) = service["spec"]["ports"]
    target = entry["targetPort"]
    assert (target if isinstance(target, int) else _probe_port(main, {"httpGet": {"port": target}})) == port


def test_every_worker_has_probes_resources_and_waits_for_its_topics(manifests: list[dict[str, Any]]) -> None:
    for service in SERVICES:
        deployment = find(manifests, "Deployment", f"{dns_name(service)}-worker")
        _assert_probes_and_resources(deployment, WORKER_PORT)
        pod = deployment["spec"]["template"]["spec"]
        main = pod["containers"][0]
        assert main["command"] == ["python", "-m", f"services.{service}.worker"]
        assert {"name": "CRM_WORKER_HOST", "value": "0.0.0.0"} in main["env"]
        (wait,) = pod["initContainers"]
        assert wait["command"][-1] == "wait"
        assert _topics_volume(pod) == config_map(manifests, "crm-topics")["metadata"]["name"]


def _topics_volume(pod: dict[str, Any]) -> str:
    return next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "topics")


def test_gateway_routes_to_the_api_services_only(manifests: list[dict[str, Any]]) -> None:
    gateway = find(manifests, "Deployment", "gateway")
    # Its /readyz asks every API: one service down must not take the whole origin out of the balancer.
    _assert_probes_and_resources(gateway, API_PORT, readiness="/healthz")
    _assert_service_selects(find(manifests, "Service", "gateway"), gateway, API_PORT)
    config = find(manifests, "ConfigMap", "crm-config")["data"]
    services = {m["metadata"]["name"] for m in manifests if m["kind"] == "Service"}
    _assert_service_urls(json.loads(config["CRM_SERVICE_URLS"]), services)


def test_every_reference_resolves_and_every_image_is_pinned(manifests: list[dict[str, Any]]) -> None:
    config_maps = {m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap"}
    for manifest in manifests:
        if manifest["kind"] not in ("Deployment", "Job"):
            continue
        pod = manifest["spec"]["template"]["spec"]
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, manifest["metadata"]["name"]
        for container in containers_of(manifest):
            where = f"{manifest['metadata']['name']}/{container['name']}"
            assert {m["name"] for m in container.get("volumeMounts", [])} <= volumes, where
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, where
            image = container["image"]
            assert re.search(r":[\w][\w.-]*$", image) and not image.endswith(":latest"), f"{where}: {image}"


def test_every_secret_reference_is_in_the_template(manifests: list[dict[str, Any]]) -> None:
    template = yaml.safe_load((BASE / "secret.template.yaml").read_text())
    keys = set(template["stringData"])
    for manifest in manifests:
        if manifest["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers_of(manifest):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == template["metadata"]["name"] and ref["key"] in keys
    assert {f"{s.upper()}_DATABASE_URL" for s in SERVICES} | {"CRM_JWT_SECRET"} == keys
    migrate = find(manifests, "Job", "crm-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"] == ["crm", "migrate"]
    assert {"secretRef": {"name": "crm-secrets"}} in migrate["envFrom"]


def test_every_pod_runs_as_a_non_root_user(manifests: list[dict[str, Any]]) -> None:
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "Job"):
            security = manifest["spec"]["template"]["spec"]["securityContext"]
            assert security["runAsNonRoot"] is True and security["runAsUser"] > 0, manifest["metadata"]["name"]


def test_every_container_can_write_where_its_image_writes(manifests: list[dict[str, Any]]) -> None:
    # The root filesystem is read-only: whatever the image writes to must be a volume.
    writes = {"oneview-crm": {"/tmp", "/var/lib/crm"}, "apache/kafka": {"/tmp"}}
    for manifest in manifests:
        if manifest["kind"] not in ("Deployment", "Job"):
            continue
        for container in containers_of(manifest):
            image = container["image"].rsplit(":", 1)[0]
            (wanted,) = [paths for name, paths in writes.items() if image == name or image.endswith("/" + name)]
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert wanted <= mounted, f"{manifest['metadata']['name']}/{container['name']}: {wanted - mounted}"
            if "kafka" in image:
                assert {"name": "LOG_DIR", "value": "/tmp"} in container["env"]


def test_the_topic_job_lists_exactly_the_topics_the_contracts_declare(manifests: list[dict[str, Any]]) -> None:
    job = find(manifests, "Job", "crm-topics")
    pod = job["spec"]["template"]["spec"]
    topics = config_map(manifests, "crm-topics")
    assert _topics_volume(pod) == topics["metadata"]["name"]
    assert pod["containers"][0]["command"] == ["sh", "/provision/provision-topics.sh"]
    assert listed_topics(topics["data"]["topics.txt"]) == declared_topics()
    config = find(manifests, "ConfigMap", "crm-config")["data"]
    assert int(config["CRM_TOPIC_PARTITIONS"]) >= 1
    assert config["TOPIC_REPLICATION_FACTOR"] == "3"
    assert config["TOPIC_MIN_INSYNC_REPLICAS"] == "2"


def test_topics_have_three_partitions_unless_an_overlay_says_otherwise() -> None:
    config = yaml.safe_load((BASE / "configmap.yaml").read_text())["data"]
    assert config["CRM_TOPIC_PARTITIONS"] == "3"


# --- the topic provisioning script, against stand-ins of Kafka's CLI ---------------------------------

# Each created topic is a file holding its partitions and replication factor; describing a missing
# topic fails, as Kafka's CLI does. Every call is appended to calls.log.
FAKE_KAFKA_TOPICS = r'''
echo "kafka-topics.sh $*" >> "$FAKE_KAFKA/calls.log"
topic=; partitions=; replication=; action=
while [ $# -gt 0 ]; do
  case $1 in
    --topic) topic=$2; shift ;;
    --partitions) partitions=$2; shift ;;
    --replication-factor) replication=$2; shift ;;
    --create|--describe|--list) action=$1 ;;
  esac
  shift
done
state="$FAKE_KAFKA/topics/$topic"
case $action in
  --list) ls "$FAKE_KAFKA/topics" ;;
  --create) [ -f "$state" ] || echo "$partitions $replication" > "$state" ;;
  --describe)
    [ -f "$state" ] || { echo "Topic '$topic' does not exist" >&2; exit 1; }
    read -r p r < "$state"
    printf 'Topic: %s\tTopicId: x\tPartitionCount: %s\tReplicationFactor: %s\tConfigs:\n' "$topic" "$p" "$r" ;;
esac
'''
FAKE_KAFKA_CONFIGS = 'echo "kafka-configs.sh $*" >> "$FAKE_KAFKA/calls.log"\n'


def fake_kafka(tmp_path: Path) -> Path:
    """The stand-ins' folder, laid out once per test; topics/ holds the topics that exist."""
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        (tmp_path / "topics").mkdir()
        _stub(bin_dir, "kafka-topics.sh", FAKE_KAFKA_TOPICS)
        _stub(bin_dir, "kafka-configs.sh", FAKE_KAFKA_CONFIGS)
    return bin_dir


def provision(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = fake_kafka(tmp_path)
    log = tmp_path / "calls.log"
    log.write_text("")
    result = subprocess.run(
        ["sh", str(TOPICS_DIR / "provision-topics.sh"), *args], capture_output=True, text=True, timeout=20,
        env={"PATH": os.environ["PATH"], "KAFKA_BOOTSTRAP_SERVERS": "broker:9092", "KAFKA_BIN": str(bin_dir),
             "FAKE_KAFKA": str(tmp_path), **env},
    )
    return result, log.read_text().splitlines()


def _created(calls: list[str]) -> dict[str, tuple[int, int, dict[str, str]]]:
    created = {}
    for call in calls:
        if " --create " in call:
            words = call.split()
            value = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--")}
            configs = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--config")
            created[value["--topic"]] = (int(value["--partitions"]), int(value["--replication-factor"]), configs)
    return created


def _altered(calls: list[str]) -> dict[str, dict[str, str]]:
    altered = {}
    for call in calls:
        if call.startswith("kafka-configs.sh"):
            words = call.split()
            name = words[words.index("--entity-name") + 1]
            altered[name] = dict(c.split("=", 1) for c in words[words.index("--add-config") + 1].split(","))
    return altered


def test_provisioning_creates_every_topic_with_its_settings(tmp_path: Path) -> None:
    result, calls = provision(tmp_path)
    assert result.returncode == 0, result.stderr
    created = _created(calls)
    declared = declared_topics()
    assert set(created) == set(declared)
    for name, kind in declared.items():
        partitions, replication, configs = created[name]
        assert replication == 3 and configs["min.insync.replicas"] == "2", name
        if kind == "view":
            assert partitions == 3 and configs["cleanup.policy"] == "compact", name
        else:
            # Kept for ever: `crm replay` reads the domain topics from offset zero.
            assert DOMAIN_RETENTION.items() <= configs.items(), name
            assert partitions == (1 if kind == "dead-letter" else 3), name
        # A topic that existed already is brought to the same settings.
        assert _altered(calls)[name] == configs, name


def test_provisioning_takes_partitions_and_replication_from_its_settings(tmp_path: Path) -> None:
    result, calls = provision(tmp_path, CRM_TOPIC_PARTITIONS="12", TOPIC_REPLICATION_FACTOR="5",
                              TOPIC_MIN_INSYNC_REPLICAS="3")
    assert result.returncode == 0, result.stderr
    created = _created(calls)
    assert created["crm.customer.v1"][:2] == (12, 5)
    assert created["crm.customer_view.v1"][:2] == (12, 5)
    assert created[dead_letter_topic("sales")][:2] == (1, 5)
    assert {c["min.insync.replicas"] for _, _, c in created.values()} == {"3"}


def test_provisioning_refuses_a_topic_created_with_one_replica(tmp_path: Path) -> None:
    fake_kafka(tmp_path)
    (tmp_path / "topics" / "crm.sales.v1").write_text("3 1\n")
    result, _ = provision(tmp_path)
    assert result.returncode == 1
    assert "crm.sales.v1 has 3 partitions and replication factor 1" in result.stderr


def test_provisioning_waits_for_the_topics(tmp_path: Path) -> None:
    assert provision(tmp_path)[0].returncode == 0
    result, calls = provision(tmp_path, "wait")
    assert result.returncode == 0, result.stderr
    assert calls == ["kafka-topics.sh --bootstrap-server broker:9092 --list"]


def test_provisioning_waits_while_a_topic_is_missing(tmp_path: Path) -> None:
    assert provision(tmp_path)[0].returncode == 0
    (tmp_path / "topics" / "crm.customer_view.v1").unlink()
    with pytest.raises(subprocess.TimeoutExpired) as waited:
        subprocess.run(["sh", str(TOPICS_DIR / "provision-topics.sh"), "wait"], capture_output=True, timeout=1,
                       env={"PATH": os.environ["PATH"], "KAFKA_BOOTSTRAP_SERVERS": "broker:9092",
                            "KAFKA_BIN": str(fake_kafka(tmp_path)), "FAKE_KAFKA": str(tmp_path)})
    assert b"waiting for topics: crm.customer_view.v1" in (waited.value.stdout or b"")


def test_shell_scripts_pass_shellcheck() -> None:
    # Both run under a plain POSIX sh (the kafka and postgres images), so they are checked as sh.
    shellcheck = Path(sys.executable).parent / "shellcheck"
    scripts = [TOPICS_DIR / "provision-topics.sh", DEPLOY / "postgres" / "init-databases.sh"]
    result = subprocess.run([str(shellcheck), "--shell=sh", "--severity=info", *map(str, scripts)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the image ------------------------------------------------------------------------------------

# The instructions of the Dockerfile reference; BuildKit's parser reads any word, the builder would not.
DOCKERFILE_INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                           "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def test_dockerfile_builds_from_the_lock_as_a_non_root_user() -> None:
    commands = dockerfile.parse_file(str(DEPLOY / "Dockerfile"))
    assert {c.cmd for c in commands} <= DOCKERFILE_INSTRUCTIONS, {c.cmd for c in commands}
    assert commands[0].cmd in ("FROM", "ARG")
    allowed = [line[1:].rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for copy in (c for c in commands if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags)):
        for source in copy.value[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the build context"
            assert any(source.rstrip("/") == a or source.startswith(a + "/") for a in allowed), \
                f"COPY {source}: left out by Dockerfile.dockerignore"
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.lock" in runs
    users = [c.value[0] for c in commands if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert [c for c in commands if c.cmd == "CMD"]
    # Every process the manifests start is a command this image has.
    for module in {f"services.{s}.app" for s in SERVICES} | {f"services.{s}.worker" for s in SERVICES}:
        assert importlib.util.find_spec(module) is not None, module


def test_lock_pins_every_dependency_with_hashes() -> None:
    lock = (DEPLOY / "requirements.lock").read_text()
    pins = {canonicalize_name(name): version for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", lock, re.M)}
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        regenerate = "regenerate it with the command in its header (pip install uv)"
        assert name in pins, f"{requirement.name} is missing from deploy/requirements.lock: {regenerate}"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{requirement.name}=={pins[name]} in the lock, pyproject.toml wants {requirement.specifier}: {regenerate}"
