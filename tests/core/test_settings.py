import pytest

from core.settings import ConfigurationError, load_settings


def test_defaults(tmp_path):
    s = load_settings({"VAR_DIR": str(tmp_path)})
    assert s.time_zone == "America/Toronto"
    assert s.default_language == "fr"
    assert s.database_url.startswith("sqlite://")
    assert len(s.secret_key) >= 32  # generated, kept in var/
    assert load_settings({"VAR_DIR": str(tmp_path)}).secret_key == s.secret_key


def test_production_refuses_missing_or_default_secret(tmp_path):
    base = {
        "ENV": "production",
        "VAR_DIR": str(tmp_path),
        "BASE_URL": "https://evenements.exemple.qc.ca",
    }
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings(base)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_settings(base | {"SECRET_KEY": "change-me"})
    ok = load_settings(base | {"SECRET_KEY": "s" * 48})
    assert ok.is_production and ok.https


def test_production_refuses_local_base_url(tmp_path):
    env = {"ENV": "production", "VAR_DIR": str(tmp_path), "SECRET_KEY": "s" * 48}
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        load_settings(env)
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        load_settings(env | {"BASE_URL": "http://127.0.0.1:8000"})


def test_bad_values(tmp_path):
    with pytest.raises(ConfigurationError):
        load_settings({"VAR_DIR": str(tmp_path), "DEFAULT_LANGUAGE": "de"})
    s = load_settings({"VAR_DIR": str(tmp_path), "RATE_LIMIT_ENABLED": "false"})
    assert s.rate_limit_enabled is False
