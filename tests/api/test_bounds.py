"""Every path parameter has a bound, so an over-long or odd one is refused with 4xx before anything (the database,
the file system) sees it, never a 500 (`GET /web/<300 characters>.js` once was one: a file name too long)."""

from __future__ import annotations

import annotated_types
import fastapi.routing
import pytest
from fastapi.routing import APIRoute

from api.auth import create_token
from api.main import create_app
from api.settings import Settings
from tests.api.conftest import module_app


def api_routes() -> list[tuple[str, set[str], list]]:
    """(path, methods, path parameters) of every route of the app (FastAPI ≥ 0.165 nests routers in contexts)."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", iter)
    routes = []
    for context in flatten(create_app(Settings()).routes):
        route = getattr(context, "route", context)
        if isinstance(route, APIRoute):
            routes.append((context.path, set(context.methods) - {"HEAD"}, route.dependant.path_params))
    assert len(routes) > 40, "the app's routes were not found"
    return routes


def bound_of(param) -> str | None:
    for bound in param.field_info.metadata:
        if isinstance(bound, annotated_types.MaxLen | annotated_types.Le | annotated_types.Lt):
            return repr(bound)
    return None


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_index, fresh_database):
    with module_app(tmp_path_factory, demo_index, fresh_database, "bounds") as client:
        yield client


@pytest.fixture(scope="module")
def admin(client):
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "admin", "bounds")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_every_path_parameter_has_a_bound():
    routes = api_routes()
    unbounded = [f"{path} {param.name}" for path, _, params in routes for param in params if bound_of(param) is None]
    assert unbounded == []
    assert sum(len(params) for _, _, params in routes) > 20


@pytest.mark.parametrize("value", ["a" * 300 + ".js", "9" * 5000, "x" * 5000, "%00.js", "..%2F..%2Fetc%2Fpasswd"])
def test_an_over_long_or_odd_path_parameter_is_refused_never_a_server_error(client, admin, value):
    answers = {}
    for route, methods, params in api_routes():
        path = route
        for param in params:
            path = path.replace("{" + param.name + "}", value)
        for method in methods if params else ():
            answers[f"{method} {route}"] = client.request(method, path, headers=admin, json={}).status_code
    assert {route: code for route, code in answers.items() if code >= 500} == {}
    assert answers["GET /web/{name}"] in (404, 422) and answers["GET /kb/{article_id}"] in (404, 422)


def test_a_file_name_of_web_is_a_plain_name(client):
    assert client.get("/web/" + "a" * 300 + ".js").status_code == 422  # once a 500: too long for the file system
    assert client.get("/web/" + "a" * 96 + ".js").status_code == 404
    assert client.get("/web/staff.js").status_code == 200
