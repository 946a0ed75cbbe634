"""The pages and files a browser loads: the demo page, the widget (small, gzipped, embeddable), the staff pages."""

import gzip

WIDGET_BUDGET_BYTES = 50_000


def test_the_demo_page_embeds_the_widget_with_one_script_tag(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/widget.js"' in page.text


def test_the_signed_in_demo_is_off_unless_asked_for(client):
    assert "/demo/signed-in" not in client.get("/").text
    off = client.get("/demo/signed-in")
    assert off.status_code == 404 and "TIERZERO_DEMO_CUSTOMER" in off.json()["detail"]


def test_the_widget_is_served_gzipped_and_small(client):
    response = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    compressed = gzip.compress(response.content)  # httpx decoded it; measure the same way the server compresses
    assert len(compressed) <= WIDGET_BUDGET_BYTES
    assert b"innerHTML" not in response.content, "the widget must put text on the page as text"
    plain = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == response.content


def test_staff_pages_forbid_inline_and_foreign_scripts(client):
    for path in ("/console", "/editor"):
        response = client.get(path)
        assert response.status_code == 200 and "<html" in response.text
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/web/staff.js").status_code == 200
    assert client.get("/web/console.js").headers["content-type"].startswith("text/javascript")


def test_only_files_of_the_web_folder_are_served(client):
    for path in ("/web/..%2Fapi%2Fsettings.py", "/web/nothing.js", "/web/console.html", "/web/.hidden.js"):
        assert client.get(path).status_code == 404, path


def test_any_site_may_call_the_customer_api_with_a_token_header(client):
    preflight = client.options(
        "/api/v1/conversations",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://shop.example")
    created = client.post("/api/v1/conversations", json={"lang": "ja"}, headers={"Origin": "https://shop.example"})
    assert created.status_code == 201 and created.headers["access-control-allow-origin"] == "*"
