"""The pages and files a browser loads: the demo page, the widget (small, gzipped, embeddable), the staff pages."""

import gzip
import re

from api.security import csp_hash

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


PAGES = ("/", "/console", "/editor", "/kb/reset-password-en", "/docs", "/redoc", "/docs/oauth2-redirect")


def directives(response) -> dict[str, set[str]]:
    policy = response.headers["content-security-policy"]
    return {name: set(values) for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_every_response_says_nosniff_no_referrer_and_has_a_policy(client):
    answers = [client.get(path) for path in (*PAGES, "/widget.js", "/web/staff.css", "/api/v1/languages", "/nope")]
    answers += [client.post("/api/v1/conversations", content=b"x" * (2 << 20)), client.get("/api/v1/tickets")]
    assert [a.status_code for a in answers[-4:]] == [200, 404, 413, 401]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.url
        assert answer.headers["referrer-policy"] == "no-referrer", answer.url
        assert directives(answer)["default-src"] == {"'none'"}, answer.url
    api = directives(client.get("/api/v1/languages"))
    assert api["frame-ancestors"] == {"'none'"} and "script-src" not in api


def test_the_widget_is_for_every_site_and_the_pages_only_for_this_one(client):
    widget = client.get("/widget.js")
    assert widget.headers["cross-origin-resource-policy"] == "cross-origin"
    assert widget.headers["access-control-allow-origin"] == "*"
    for path in ("/", "/kb/reset-password-en", "/docs", "/redoc"):
        assert directives(client.get(path))["frame-ancestors"] == {"'self'"}, path
    for path in ("/console", "/editor", "/api/v1/languages"):
        assert directives(client.get(path))["frame-ancestors"] == {"'none'"}, path
    assert client.get("/api/v1/languages").headers["cross-origin-resource-policy"] == "same-origin"


def test_each_page_may_run_only_its_own_files_and_the_inline_code_it_has(client):
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        policy = directives(page)
        scripts = policy.get("script-src", set())
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, path
        assert scripts <= {"'self'"} | {csp_hash(s) for s in re.findall(r"<script>(.*?)</script>", page.text, re.S)}
        assert "style=" not in page.text, path
        if "<style>" in page.text:  # ReDoc's page, whose styles ReDoc itself writes as it renders
            assert path == "/redoc" and "'unsafe-inline'" in policy["style-src"]
        for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert url.startswith(("/", "data:", "#")), f"{path} loads {url}"  # nothing from another site
    demo = client.get("/").text
    assert "<script>" not in demo and "<style>" not in demo


def test_the_demo_page_allows_the_widgets_own_style_and_no_other(client):
    style = re.search(r"const STYLE = `([^`]*)`;", client.get("/widget.js").text).group(1)
    assert directives(client.get("/"))["style-src"] == {"'self'", csp_hash(style)}


def test_the_api_docs_are_served_from_packaged_files_never_a_cdn(client):
    docs = client.get("/docs")
    assert "cdn." not in docs.text and "https://" not in docs.text
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', docs.text + client.get("/redoc").text):
        answer = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript") and b"SwaggerUIBundle" in bundle.content
    assert client.get("/docs/assets/core.py").status_code == 404
