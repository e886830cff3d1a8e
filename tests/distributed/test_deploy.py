"""The files in ``deploy/`` as far as this machine can try them: the compose file validated
by docker-compose, the systemd units by ``systemd-analyze verify``, and the nginx site both
checked by ``nginx -t`` and run for real in front of an API instance, with a job's SSE stream
passing through it event by event."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from nc_cluster import Cluster

from novelcrew_sdk.testing import free_port, stop_process, wait_for_http

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def documented_settings() -> list[str]:
    """Every environment name in the operator guide's settings tables (aliases too)."""
    doc = (DEPLOY.parent / "docs" / "operator-guide.md").read_text()
    names: list[str] = []
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 3 and not cells[0].startswith("backend"):
            names += [n for n in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[1]) if n not in names]
    return names


def test_the_compose_file_is_valid_and_defines_api_worker_and_persistent_redis(
        tmp_path: Path) -> None:
    example = (DEPLOY / "novelcrew.env.example").read_text()
    filled = tmp_path / "novelcrew.env"
    filled.write_text(re.sub(r"^# ([A-Z][A-Z0-9_]+)=$", r"\1=set-by-test", example,
                             flags=re.M))
    out = subprocess.run(
        [shutil.which("docker-compose") or "docker-compose", "-f", str(DEPLOY / "compose.yaml"),
         "config"], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "NOVELCREW_ENV_FILE": str(filled)},
    ).stdout
    config = yaml.safe_load(out)
    services = config["services"]
    assert set(services) == {"api", "worker", "redis"}
    assert "--appendonly" in services["redis"]["command"]
    assert services["redis"]["volumes"]
    documented = documented_settings()
    assert {"NOVELCREW_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "NOVELCREW_WEBHOOK_SECRET",
            "NOVELCREW_PAYLOAD_URL", "NOVELCREW_PATHRAG_URL"} <= set(documented)
    fixed = {"NOVELCREW_JOB_BACKEND", "NOVELCREW_REDIS_URL", "NOVELCREW_HOST", "NOVELCREW_PORT",
             "NOVELCREW_WORKER_GRACE_SECONDS", "NOVELCREW_WORKER_METRICS_HOST",
             "NOVELCREW_WORKER_METRICS_PORT"}
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert env["NOVELCREW_JOB_BACKEND"] == "arq"
        assert env["NOVELCREW_REDIS_URL"] == "redis://redis:6379/0"
        # every documented setting (or its alias) reaches the container through the env file
        for setting in documented:
            if setting not in fixed and f"# {setting}=" in example:
                assert env.get(setting) == "set-by-test", (name, setting)
        missing = [s for s in documented if f"{s}=" not in example
                   and not any(f"alias: {s}" in line or f", {s}" in line
                               for line in example.splitlines())]
        assert not missing, f"documented but not in novelcrew.env.example: {missing}"
        assert services[name]["healthcheck"]["test"]
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["worker"]["command"][:2] == ["novelcrew", "worker"]
    assert "ports" not in services["worker"]  # scalable: --scale worker=N
    # each replica serves its metrics on its own address, where deploy/prometheus.yml looks
    worker_env = services["worker"]["environment"]
    assert worker_env["NOVELCREW_WORKER_METRICS_HOST"] == "0.0.0.0"
    metrics_port = int(worker_env["NOVELCREW_WORKER_METRICS_PORT"])
    scrape = {job["job_name"]: job for job in
              yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["scrape_configs"]}
    assert scrape["novelcrew-api"]["static_configs"][0]["targets"] == ["api:5001"]
    [workers] = scrape["novelcrew-worker"]["dns_sd_configs"]
    assert (workers["names"], workers["port"]) == (["worker"], metrics_port)


def test_the_api_health_checks_outwait_the_health_endpoints_own_bound() -> None:
    """``/health`` waits up to ``CHECK_TIMEOUT`` for a hanging optional dependency (a model
    provider that accepts and never answers took it 4.1 s): a container check that gives up
    sooner (it was 4 s) marks a working API unhealthy while the provider hangs."""
    from novelcrew.api.routes.health import CHECK_TIMEOUT

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    check = compose["services"]["api"]["healthcheck"]
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [docker_timeout] = re.findall(r"HEALTHCHECK .*--timeout=(\d+)s", dockerfile)
    for test, timeout in ((" ".join(check["test"]), int(check["timeout"].rstrip("s"))),
                          (dockerfile.split("HEALTHCHECK", 1)[1], int(docker_timeout))):
        [client] = re.findall(r"/health', timeout=(\d+)\)", test)
        assert CHECK_TIMEOUT < int(client) < timeout, (client, timeout)


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on the units, pointed at this machine's novelcrew; each gives
    the service a writable state directory as its HOME (crewAI writes under ``$HOME``, and
    ``ProtectHome=yes`` hides /home)."""
    novelcrew = str(Path(sys.executable).parent / "novelcrew")
    for unit in (DEPLOY / "systemd").glob("*.service"):
        source = unit.read_text()
        assert "StateDirectory=novelcrew\n" in source and "ProtectHome=yes" in source
        env = " ".join(line.split("=", 1)[1] for line in source.splitlines()
                       if line.startswith("Environment="))
        assert "HOME=/var/lib/novelcrew " in env + " "
        assert "NOVELCREW_DATA_DIR=/var/lib/novelcrew" in env
        if unit.name == "novelcrew-worker@.service":  # metrics on port + instance number
            assert "NOVELCREW_WORKER_INDEX=%i" in env
        text = source.replace("/opt/novelcrew/.venv/bin/novelcrew", novelcrew)
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "novelcrew" not in result.stderr, result.stderr


def test_the_units_outwait_a_draining_process() -> None:
    """systemd SIGKILLs a unit still running ``TimeoutStopSec`` after SIGTERM. The API's was
    30 s, the default grace itself: an inline server draining its running jobs (grace, then
    uvicorn's 10 s to close connections) was killed before it handed them back."""
    from novelcrew.settings import Settings

    grace = Settings(_env_file=None).worker_grace_seconds
    for unit in ("novelcrew-api.service", "novelcrew-worker@.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        [stop] = re.findall(r"^TimeoutStopSec=(\d+)$", text, flags=re.M)
        assert int(stop) > grace + 10, (unit, stop)


def test_the_images_dependency_layer_has_every_workspace_members_manifest() -> None:
    """Step 1 installs third-party dependencies from the members' manifests, so that layer is
    rebuilt only when uv.lock changes; a member left out (storyboard, eval and exports were)
    has its dependencies installed in step 2 instead, on every source change."""
    root = DEPLOY.parent
    members = {p.parent.relative_to(root).as_posix()
               for pattern in ("core", "sdk", "plugins/*")
               for p in root.glob(f"{pattern}/pyproject.toml")}
    copied = set(re.findall(r"^COPY (\S+)/pyproject.toml ", (DEPLOY / "Dockerfile").read_text(),
                            re.M))
    assert {"core", "sdk", "plugins/exports"} <= members
    assert members == copied


def test_the_image_steps_install_a_third_party_plugin() -> None:
    """deploy/check-image-steps.sh replays the Dockerfile (no Docker engine here), including
    its EXTRA_PLUGINS step with the repository's example plugin, and checks it is listed."""
    assert 'ARG EXTRA_PLUGINS=""' in (DEPLOY / "Dockerfile").read_text()
    out = subprocess.run(["bash", str(DEPLOY / "check-image-steps.sh")], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "image build steps OK" in out.stdout


def nginx_conf(tmp_path: Path, site: str) -> Path:
    (tmp_path / "site.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""")
    return conf


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    conf = nginx_conf(tmp_path, (DEPLOY / "nginx" / "novelcrew.conf").read_text())
    result = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p",
                             str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.fixture
def proxied(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    """An API instance and a worker behind nginx running the deploy site (on free ports)."""
    api = cluster.api()
    cluster.worker(2)
    cluster.wait_ready([api])
    port = free_port()
    site = (DEPLOY / "nginx" / "novelcrew.conf").read_text()
    site = site.replace("127.0.0.1:5001", api.removeprefix("http://"))
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    site = re.sub(r"listen \[::\]:80;", "", site)
    (tmp_path / "nginx").mkdir()
    conf = nginx_conf(tmp_path / "nginx", site)
    proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p",
                             str(tmp_path / "nginx"), "-c", str(conf), "-g", "daemon off;"])
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health", proc, timeout=20)
        yield url
    finally:
        stop_process(proc, 10)


def test_sse_streams_through_the_nginx_site_event_by_event(proxied: str) -> None:
    client = httpx.Client(timeout=30)
    job = client.post(f"{proxied}/jobs", json={
        "crews": ["sleepy"], "inputs": {"steps": 15, "step_seconds": 0.1}})
    assert job.status_code == 202, job.text
    arrivals: list[tuple[float, str]] = []
    with client.stream("GET", f"{proxied}/jobs/{job.json()['id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                arrivals.append((time.monotonic(), line[6:].strip()))
    types = [t for _, t in arrivals]
    assert types[0] == "queued" and types[-1] == "succeeded"
    # unbuffered: the first task's events arrived well before the job ended
    first_task = next(at for at, t in arrivals if t == "task_finished")
    assert arrivals[-1][0] - first_task > 0.8


def test_the_web_ui_is_served_through_the_nginx_site(proxied: str) -> None:
    client = httpx.Client(timeout=10, follow_redirects=True)
    page = client.get(f"{proxied}/ui")
    assert page.status_code == 200 and str(page.url).endswith("/ui/")
    assert '<script type="module" src="assets/app.js">' in page.text
    for asset, kind in (("app.js", "javascript"), ("graph.js", "javascript"),
                        ("app.css", "text/css")):
        response = client.get(f"{proxied}/ui/assets/{asset}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    # nothing the page loads comes from another host
    assert "http://" not in page.text and "https://" not in page.text
