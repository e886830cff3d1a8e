"""Settings an operator relies on: a plugin's settings live with the plugin (its own env prefix,
old names as aliases, ``plugin_config`` over the environment), misspelt variables are found,
and a bad value names the variable that was set."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import AliasChoices, Field, ValidationError

from novelcrew import PluginSettings, Settings
from novelcrew.settings import (
    SettingsError,
    check_environment,
    check_plugin_settings,
    env_names,
    settings_error,
)

ROOT = Path(__file__).resolve().parents[2]


class LensSettings(PluginSettings):
    plugin: ClassVar[str] = "lens-kit"
    model_config = PluginSettings.config_for("lens-kit")

    url: str | None = Field(None, validation_alias=AliasChoices(
        "NOVELCREW_LENS_KIT_URL", "LENS_API_URL", "url"))
    retries: int = 3


def test_a_plugins_settings_read_its_prefix_its_aliases_and_plugin_config(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert LensSettings.of().url is None and LensSettings.of().retries == 3
    monkeypatch.setenv("LENS_API_URL", "http://old-name")
    monkeypatch.setenv("NOVELCREW_LENS_KIT_RETRIES", "5")
    assert (LensSettings.of().url, LensSettings.of().retries) == ("http://old-name", 5)
    monkeypatch.setenv("NOVELCREW_LENS_KIT_URL", "http://new-name")
    assert LensSettings.of().url == "http://new-name"
    core = Settings(_env_file=None, plugin_config={"lens-kit": {"url": "http://toml"}})
    assert LensSettings.of(core).url == "http://toml"  # the core settings' table wins
    assert LensSettings.of(core).retries == 5


class FolderSettings(PluginSettings):
    plugin: ClassVar[str] = "folder-kit"
    model_config = PluginSettings.config_for("folder-kit")

    config_dir: Path | None = None
    max_parallel: int | None = None


def test_an_empty_plugin_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """Compose files and systemd units write ``NAME=`` for "not set". For a folder that read
    as ``Path('.')``, so a crew loaded its YAML from wherever the server was started; for a
    number it failed every job."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NOVELCREW_FOLDER_KIT_MAX_PARALLEL=\n")
    monkeypatch.setenv("NOVELCREW_FOLDER_KIT_CONFIG_DIR", "")
    assert FolderSettings.of() == FolderSettings(config_dir=None, max_parallel=None)
    monkeypatch.setenv("NOVELCREW_FOLDER_KIT_CONFIG_DIR", "crew-texts")
    assert FolderSettings.of().config_dir == Path("crew-texts")


def test_core_settings_hold_no_plugins_field() -> None:
    """A plugin's settings live with the plugin: no core field or variable is named after a
    plugin of this workspace (``payload_url``, ``PATHRAG_API_URL``, ...)."""
    plugins = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "src").is_dir())
    assert {"architect", "pathrag", "payload"} <= set(plugins)
    named = [f"{field} {' '.join(names)}" for field, names in env_names(Settings).items()
             if any(plugin in f"{field} {' '.join(names)}".lower() for plugin in plugins)]
    assert named == []
    assert not any(k.lower().startswith(("novel_movie", "pathrag")) for n in
                   env_names(Settings).values() for k in n)  # Novel Movie's and PathRAG's names


def test_unknown_variables_are_found_plugin_fields_included() -> None:
    environ = {"NOVELCREW_PROT": "1", "NOVELCREW_PORT": "1", "NOVELCREW_LENS_KIT_URL": "x",
               "NOVELCREW_LENS_KIT_RETRIESS": "2", "NOVELCREW_TRACE_PLUGINS": "1",
               "PATH": "/bin"}
    warnings = check_environment(environ)
    assert warnings == [
        "unknown setting NOVELCREW_LENS_KIT_RETRIESS is ignored; did you mean "
        "NOVELCREW_LENS_KIT_RETRIES?",
        "unknown setting NOVELCREW_PROT is ignored; did you mean NOVELCREW_PORT?",
    ]


def test_a_bad_value_names_the_variable_that_was_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOVELCREW_PORT", raising=False)
    monkeypatch.setenv("CREWAI_PORT", "eighty")
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    error = settings_error(err.value)
    assert error is not None
    assert str(error) == ("bad setting CREWAI_PORT='eighty': Input should be a valid integer, "
                          "unable to parse string as an integer")


@pytest.mark.parametrize(("name", "value", "problem"), [
    # uvicorn raised KeyError('loud') once the app had started
    ("NOVELCREW_LOG_LEVEL", "LOUD", "should be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    # 70000 was bound as 70000 % 65536 while the summary said :70000
    ("NOVELCREW_PORT", "70000", "less than or equal to 65535"),
    ("NOVELCREW_PORT", "-1", "greater than or equal to 0"),
    # arq raised RuntimeError('invalid DSN scheme'), the rate limiter a `limits` error
    ("NOVELCREW_REDIS_URL", "notaurl", "should start with redis://, rediss://, unix://"),
    ("NOVELCREW_REDIS_URL", "redis://cache/zero", "the database 'zero' is not a number"),
    # taken for a host name that never matched: every webhook to 10.x was refused
    ("NOVELCREW_WEBHOOK_ALLOW", "127.0.0.1,10.0.0.0/33", "'10.0.0.0/33' is not an address"),
    ("NOVELCREW_WEBHOOK_ALLOW", "300.1.1.1", "'300.1.1.1' is not an address or CIDR"),
])
def test_a_value_the_server_cannot_use_is_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    error = settings_error(err.value)
    assert error is not None and str(error).startswith(f"bad setting {name}=")
    assert problem in str(error)


def test_a_bad_redis_url_is_quoted_without_its_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVELCREW_REDIS_URL", "redis://admin:hunter2@cache:six/0")
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    error = str(settings_error(err.value))
    assert "hunter2" not in error
    assert "NOVELCREW_REDIS_URL='redis://admin:***@cache:six/0'" in error


def test_good_values_pass_as_operators_write_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("redis://:pw@10.0.0.5:6380/2", "rediss://cache.internal", "unix:///run/r.sock"):
        monkeypatch.setenv("NOVELCREW_REDIS_URL", value)
        assert Settings(_env_file=None).redis_url == value
    monkeypatch.setenv("NOVELCREW_WEBHOOK_ALLOW", "127.0.0.1,novel-movie.internal,10.0.0.0/8,::1")
    assert len(Settings(_env_file=None).webhook_allow) == 4
    monkeypatch.setenv("NOVELCREW_LOG_LEVEL", "debug")
    assert Settings(_env_file=None).log_level == "DEBUG"


def test_a_bad_plugin_setting_names_the_variable_or_the_toml_key(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What a job that reads a plugin's settings fails with (``settings_error``, its message
    as the job's error), and what ``run``/``serve``/``worker`` print at their start."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("NOVELCREW_LENS_KIT_RETRIES", "many")
    with pytest.raises(SettingsError) as err:
        LensSettings.of()
    assert err.value.error_type == "settings_error"
    assert err.value.message == (
        "bad setting NOVELCREW_LENS_KIT_RETRIES='many': Input should be a valid integer, "
        "unable to parse string as an integer")
    with pytest.raises(SettingsError) as err:
        check_plugin_settings(Settings(_env_file=None))
    assert "NOVELCREW_LENS_KIT_RETRIES='many'" in err.value.message
    monkeypatch.delenv("NOVELCREW_LENS_KIT_RETRIES")
    core = Settings(_env_file=None, plugin_config={"lens-kit": {"retries": "lots"}})
    with pytest.raises(SettingsError) as err:
        LensSettings.of(core)
    assert err.value.message.startswith(
        "bad setting [plugin_config.lens-kit] retries='lots': Input should be a valid integer")


def test_a_jobs_config_overrides_model_settings_for_that_job_only() -> None:
    settings = Settings(_env_file=None, model_temperature=0.7)
    assert settings.for_job({}) is settings
    job = settings.for_job({"temperature": 0.1, "max_tokens": 50, "model": "offline"})
    assert (job.model_temperature, job.model_max_tokens) == (0.1, 50)
    assert settings.model_temperature == 0.7


def test_keyword_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    """What the CLI's flags rely on (``novelcrew serve --port``), on every pydantic-settings
    in range: before 2.11 the environment's alias won over a keyword named by field."""
    monkeypatch.setenv("NOVELCREW_PORT", "1")
    monkeypatch.setenv("NOVELCREW_DATA_DIR", str(tmp_path / "env"))
    settings = Settings(_env_file=None, port=5002, data_dir=tmp_path / "flag")
    assert (settings.port, settings.data_dir) == (5002, tmp_path / "flag")
    assert Settings(_env_file=None).port == 1
