"""A shared store that cannot be reached: a 503 that says so plainly, names no host, and asks to retry."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/api/search?q=care", "/search?q=care", "/healthz"])
def test_an_unreachable_store_is_a_503_without_details(tmp_path, path):
    from webapp import create_app

    socket_dir = tmp_path / "no-server-here"
    settings = make_settings(tmp_path / "replica", store_url=f"postgresql://kb@/kb?host={socket_dir}")
    client = create_app({"TESTING": True, "KB_SETTINGS": settings}).test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers.get("Retry-After")
    body = response.get_data(as_text=True)
    assert "cannot be reached" in body and str(socket_dir) not in body and "postgresql://" not in body
    assert "Traceback" not in body
