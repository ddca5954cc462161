"""The dashboard's frame policy and oEmbed discovery, without a browser (the browser test is
tests/dashboard/test_embeds.py)."""

from __future__ import annotations

import pytest

from dashboard.framing import discovery_tags, embed_origins, frame_policy
from hub.settings import SettingsError, load_settings


def test_only_share_pages_may_be_framed_and_only_by_the_allowed_origins() -> None:
    origins = embed_origins("https://acme.atlassian.net, https://*.notion.site\nhttp://wiki:8080/")
    assert origins == ["https://acme.atlassian.net", "https://*.notion.site", "http://wiki:8080"]
    shared = frame_policy("/shared", "link=salon_link_x&embed=true", origins)
    assert shared == (
        "frame-ancestors 'self' https://acme.atlassian.net https://*.notion.site http://wiki:8080"
    )
    for path, query in [
        ("/", ""),
        ("/settings", ""),
        ("/shared", "embed=true"),
        ("/compare", "link=salon_link_x"),
        ("/_stcore/health", ""),
    ]:
        assert frame_policy(path, query, origins) == "frame-ancestors 'none'", (path, query)


def test_a_bad_origin_is_left_out_by_the_dashboard_and_refused_by_the_hub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert embed_origins("javascript:alert(1), https://ok.example 'unsafe-inline'") == [
        "https://ok.example"
    ]
    for bad in ("javascript:alert(1)", "https://a.example/path", "'self'", "*", "https://a b"):
        monkeypatch.setenv("SALON_EMBED_ORIGINS", bad)
        with pytest.raises(SettingsError, match="SALON_EMBED_ORIGINS"):
            load_settings(env_file=None)


def test_discovery_tags_name_the_hubs_oembed_endpoint_with_the_page_escaped() -> None:
    tag = discovery_tags("http://hub:8000", "http://dash:8501/shared?link=a&b=<x>").decode()
    assert tag.startswith('<link rel="alternate" type="application/json+oembed"')
    assert (
        "http://hub:8000/oembed?url=http%3A%2F%2Fdash%3A8501%2Fshared%3Flink%3Da%26b%3D%3Cx%3E"
        in tag
    )
    assert "<x>" not in tag


def test_embeds_redraw_no_more_often_than_every_five_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(env_file=None).embed_refresh_seconds == 300
    monkeypatch.setenv("SALON_EMBED_REFRESH_SECONDS", "1")
    with pytest.raises(SettingsError, match="at least 5"):
        load_settings(env_file=None)
