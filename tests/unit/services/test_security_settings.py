"""Security-related settings (issue 6) are checked at start-up: a SAS lifetime too short to use, or a size limit
that refuses everything, is a clear SettingsError rather than a service that fails every request."""
from __future__ import annotations

from pathlib import Path

import pytest

from services.config import Settings, SettingsError


@pytest.mark.parametrize("env,fragment", [
    ({"OPENQIO_SAS_TTL_S": "0"}, "OPENQIO_SAS_TTL_S"),
    ({"OPENQIO_SAS_TTL_S": "-5"}, "OPENQIO_SAS_TTL_S"),
    ({"OPENQIO_MAX_REQUEST_BYTES": "0"}, "OPENQIO_MAX_REQUEST_BYTES"),
    ({"OPENQIO_MAX_INPUT_BYTES": "-1"}, "OPENQIO_MAX_INPUT_BYTES"),
    ({"OPENQIO_MAX_TERMS": "0"}, "OPENQIO_MAX_TERMS"),
    ({"OPENQIO_MAX_VARIABLES": "0"}, "OPENQIO_MAX_VARIABLES"),
])
def test_unusable_security_settings_are_refused(tmp_path: Path, env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env({"OPENQIO_DATA_DIR": str(tmp_path), **env})


def test_limits_and_sas_lifetime_reach_the_codec_and_blob_store(tmp_path: Path):
    s = Settings.from_env({"OPENQIO_DATA_DIR": str(tmp_path), "OPENQIO_SAS_TTL_S": "600",
                           "OPENQIO_MAX_INPUT_BYTES": "1000", "OPENQIO_MAX_TERMS": "10", "OPENQIO_MAX_VARIABLES": "5",
                           "OPENQIO_TOKENS": "a=" + "x" * 20 + ",b=" + "y" * 20})
    assert s.sas_ttl_s == 600
    assert (s.problem_limits.max_input_bytes, s.problem_limits.max_terms, s.problem_limits.max_variables) == (1000, 10, 5)
    assert s.tokens == {"x" * 20: "a", "y" * 20: "b"}
    with pytest.raises(SettingsError, match="at least 16"):
        Settings.from_env({"OPENQIO_DATA_DIR": str(tmp_path), "OPENQIO_TOKENS": "a=short"})
