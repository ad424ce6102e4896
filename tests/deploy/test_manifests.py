"""The deployment files keep their promises: valid, complete, and in step with the code.

Everything here is offline: Kubernetes manifests are checked against the schemas
bundled with ``kubernetes-validate`` for one fixed Kubernetes version, the compose
file against check-jsonschema's bundled compose specification.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from linli.embedded import DATA_DIR_ENV

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SETTINGS = ROOT / "platform" / "linli" / "settings.py"

# The oldest Kubernetes release the manifests promise to work on; bundled by the package.
KUBERNETES_VERSION = "1.33.0"

MANIFESTS = sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")

# Names read by the `linli` command's process model (`linli web`) and by compose alone.
PROCESS_MODEL_VARIABLES = {"LINLI_WEB_WORKERS", "LINLI_WEB_THREADS", "PORT"}
COMPOSE_ONLY_VARIABLES = {"POSTGRES_PASSWORD", "LINLI_IMAGE", "LINLI_HTTP_PORT"}

_READ = re.compile(
    r"""(?:os\.environ\.get\(|os\.environ\[|os\.getenv\(|env_int\(|env_bool\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)
_ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["kind"], doc["metadata"]["name"]): doc
        for path in MANIFESTS
        for doc in _documents(path)
    }


def _variables_read(path: Path) -> set[str]:
    return set(_READ.findall(path.read_text()))


# --- Kubernetes -------------------------------------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_manifest_is_valid_for_the_pinned_kubernetes_version(path: Path):
    documents = _documents(path)
    assert documents, f"{path.name} holds no manifest"
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_an_unknown_field():
    # given: the web Deployment with a misspelt field, as a typo would leave it
    deployment = _resources()[("Deployment", "linli-web")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    # then
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_exactly_the_manifests():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a manifest is listed twice"
    assert set(listed) == {path.name for path in MANIFESTS}


def test_web_pods_are_probed_drained_and_unprivileged():
    spec = _resources()[("Deployment", "linli-web")]["spec"]
    pod = spec["template"]["spec"]
    (web,) = pod["containers"]
    assert web["args"] == ["web"]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert web["resources"]["requests"]["cpu"] and web["resources"]["limits"]["memory"]
    # workers are deployed apart: their outage must not empty the Service
    env = {item["name"]: item["value"] for item in web["env"]}
    assert env["LINLI_READY_REQUIRES_WORKER"] == "0"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the replica count"


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", "linli-web"), ("Deployment", "linli-worker"), ("Job", "linli-release")],
)
def test_every_linli_pod_runs_as_a_non_root_user_without_privileges(kind: str, name: str):
    pod = _resources()[(kind, name)]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"]:
        assert container["image"] == "linli"  # kustomize's `images:` sets the real one
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert {
            source.get("configMapRef", source.get("secretRef"))["name"]
            for source in container["envFrom"]
        } == {"linli-config", "linli-secrets"}


def test_release_runs_once_and_autoscaling_and_budgets_select_real_pods():
    resources = _resources()
    job = resources[("Job", "linli-release")]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["release"]
    hpa = resources[("HorizontalPodAutoscaler", "linli-web")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert ("Deployment", hpa["spec"]["scaleTargetRef"]["name"]) in resources
    for component in ("web", "worker"):
        pod_labels = resources[("Deployment", f"linli-{component}")]["spec"]["template"]["metadata"]
        budget = resources[("PodDisruptionBudget", f"linli-{component}")]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels["labels"].items()
    service = resources[("Service", "linli-web")]
    web_labels = resources[("Deployment", "linli-web")]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= web_labels.items()


# --- Compose ----------------------------------------------------------------------------


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_file_follows_the_compose_specification():
    result = _check_compose(DEPLOY / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_validation_refuses_an_unknown_key(tmp_path: Path):
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        (DEPLOY / "compose.yaml").read_text().replace('restart: "no"', 'restarts: "no"')
    )
    assert _check_compose(broken).returncode != 0


def test_compose_runs_release_first_and_web_twice():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert services["db"]["image"].startswith("postgres:18")
    assert services["db"]["healthcheck"]["test"]
    release = services["release"]
    assert release["command"] == ["release"]
    assert release["restart"] == "no"
    assert release["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["web"]["deploy"]["replicas"] == 2
    for name in ("release", "web", "worker"):
        assert services[name]["env_file"][0]["path"] == ".env"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["release"]["condition"] == (
            "service_completed_successfully"
        )


# --- .env.example -----------------------------------------------------------------------


def test_env_example_names_every_variable_the_settings_read():
    listed = set(_ENV_LINE.findall((DEPLOY / ".env.example").read_text()))
    read_by_settings = _variables_read(SETTINGS)
    assert len(read_by_settings) > 40, "the settings' reading pattern changed; update _READ"
    assert read_by_settings - listed == set()


def test_env_example_names_nothing_linli_does_not_read():
    listed = set(_ENV_LINE.findall((DEPLOY / ".env.example").read_text()))
    read_anywhere = set().union(*(_variables_read(path) for path in ROOT.glob("platform/**/*.py")))
    known = read_anywhere | {DATA_DIR_ENV} | PROCESS_MODEL_VARIABLES | COMPOSE_ONLY_VARIABLES
    assert listed - known == set()


# --- Dockerfile -------------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_healthcheck():
    instructions = _instructions((DEPLOY / "Dockerfile").read_text())
    stages = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert len(stages) >= 2, "multi-stage: build tools never reach the runtime image"
    runtime = instructions[stages[-1] :]
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, "the runtime stage sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    healthchecks = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/healthz" in healthchecks[0]
    assert ("ENTRYPOINT", '["linli"]') in runtime
    assert ("CMD", '["web"]') in runtime
    assert "COPY" in {keyword for keyword, _ in runtime}


def test_dockerfile_bakes_no_secret_into_the_image():
    instructions = _instructions((DEPLOY / "Dockerfile").read_text())
    for keyword, args in instructions:
        if keyword in {"ENV", "ARG", "LABEL"}:
            assert not re.search(
                r"\b(SECRET_KEY|DATABASE_URL|STRIPE_SECRET_KEY|SENTRY_DSN)\b", args
            ), f"{keyword} {args}"
    # the build-only key exists for collectstatic alone, in a RUN of the builder stage
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    runs_with_key = [
        (index, keyword, args)
        for index, (keyword, args) in enumerate(instructions)
        if "SECRET_KEY=" in args
    ]
    assert runs_with_key, "collectstatic needs a key to import the settings"
    for index, keyword, args in runs_with_key:
        assert index < last_from and keyword == "RUN", "only the builder stage sees the key"
        assert "collectstatic" in args and "build-only" in args


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".linli", "**/.env"} <= ignored
