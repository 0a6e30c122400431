"""Identity as its users meet it: logging in, tokens, roles, user and organisation
management, API keys for the app and checkout, list conventions, and the command line."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from core.db import session_scope
from marketplace_api.identity import errors
from marketplace_api.identity import service as identity
from marketplace_api.identity.models import ApiKey, ApiKeyKind, OrganisationKind, Role, User
from tests import factories
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD

API = "/api/v1"


@pytest.fixture
def market(client) -> factories.Marketplace:
    return factories.marketplace()


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    if code:
        assert body["code"] == code
    return body


# --- logging in ----------------------------------------------------------------------------

def test_login_returns_a_token_with_role_and_organisation_for_the_cabinet(client, market):
    response = client.post(f"{API}/auth/token",
                           data={"username": "Manager@SUP-A.test", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "supplier_manager"
    assert body["organisation"]["id"] == market.org_a_id
    assert body["organisation"]["supplier_id"] == "SUP-A"
    assert body["expires_in"] == 8 * 3600

    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "manager@sup-a.test"
    assert me.json()["organisation"]["name"] == "Molochny Dom"
    assert "password_hash" not in me.json()


def test_token_carries_user_organisation_role_and_expiry(client, market):
    token = client.post(f"{API}/auth/token", data={"username": "admin@retailer.test",
                                                    "password": PASSWORD}).json()["access_token"]
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(market.admin_id)
    assert claims["org"] == market.retailer_id
    assert claims["role"] == "admin"
    assert claims["exp"] > datetime.now(UTC).timestamp() + 7 * 3600


@pytest.mark.parametrize("username", ["admin@retailer.test", "nobody@retailer.test"])
def test_wrong_password_or_unknown_email_is_401_without_telling_which(client, market,
                                                                      username):
    response = client.post(f"{API}/auth/token",
                           data={"username": username, "password": "not-the-password"})
    body = _error(response, 401, "invalid_credentials")
    assert body["message"] == "Incorrect email or password"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_inactive_user_cannot_log_in_and_their_token_stops_working(client, market):
    headers = factories.login(client, market.manager_a_email)
    assert client.get(f"{API}/me", headers=headers).status_code == 200

    deactivate = client.patch(f"{API}/users/{market.manager_a_id}", json={"is_active": False},
                              headers=market.admin)
    assert deactivate.status_code == 200, deactivate.text
    assert deactivate.json()["is_active"] is False

    _error(client.get(f"{API}/me", headers=headers), 401, "inactive_user")
    _error(client.post(f"{API}/auth/token",
                       data={"username": market.manager_a_email, "password": PASSWORD}),
           401, "inactive_user")


def test_expired_token_is_401(client, market):
    with session_scope() as db:
        admin = db.get(User, market.admin_id)
        token = identity.issue_token(user=admin, lifetime=timedelta(seconds=-1))
    response = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    _error(response, 401, "token_expired")


@pytest.mark.parametrize("forgery", ["other_secret", "alg_none", "edited_role", "garbage"])
def test_forged_tokens_are_401(client, market, forgery):
    claims = {"sub": str(market.manager_a_id), "org": market.org_a_id,
              "role": "supplier_manager", "iat": datetime.now(UTC),
              "exp": datetime.now(UTC) + timedelta(hours=1)}
    if forgery == "other_secret":
        token = jwt.encode(claims, "x" * 48, algorithm="HS256")
    elif forgery == "alg_none":
        token = jwt.encode({**claims, "role": "admin"}, None, algorithm="none")
    elif forgery == "edited_role":
        header, _payload, signature = jwt.encode(claims, TEST_SECRET, algorithm="HS256").split(".")
        payload = jwt.encode({**claims, "role": "admin"}, TEST_SECRET,
                             algorithm="HS256").split(".")[1]
        token = ".".join([header, payload, signature])
    else:
        token = "not.a.token"
    response = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    _error(response, 401, "invalid_token")


def test_a_token_for_a_deleted_user_is_401(client, market):
    with session_scope() as db:
        ghost = User(organisation_id=market.org_a_id, email="ghost@sup-a.test",
                     role=Role.supplier_manager, password_hash="x", is_active=True)
        db.add(ghost)
        db.flush()
        headers = factories.bearer(ghost)
        db.delete(ghost)
    _error(client.get(f"{API}/me", headers=headers), 401, "invalid_token")


def test_passwords_are_stored_as_argon2_hashes(client, market):
    response = client.post(f"{API}/organisations/{market.org_a_id}/users", headers=market.admin,
                           json={"email": "new@sup-a.test", "password": "a-long-password",
                                 "role": "supplier_manager", "full_name": "New One"})
    assert response.status_code == 201, response.text
    with session_scope() as db:
        stored = db.scalar(select(User.password_hash).where(User.email == "new@sup-a.test"))
    assert stored.startswith("$argon2id$")
    assert "a-long-password" not in stored
    assert factories.login(client, "new@sup-a.test", "a-long-password")


# --- roles ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "method", "path", "body"), [
    ("finance", "POST", "/organisations", {"name": "X", "kind": "retailer"}),
    ("manager_a", "POST", "/organisations", {"name": "X", "kind": "retailer"}),
    ("finance", "GET", "/api-keys", None),
    ("marketer", "POST", "/api-keys", {"kind": "app", "name": "iOS"}),
    ("manager_a", "GET", "/suppliers", None),
    ("marketer", "PATCH", "/users/{manager_a_id}", {"full_name": "Renamed"}),
    ("finance", "POST", "/organisations/{org_a_id}/users",
     {"email": "x@sup-a.test", "password": "0123456789", "role": "supplier_manager"}),
    # a supplier's own organisation is visible to them, but managing it is not their role
    ("manager_a", "POST", "/organisations/{org_a_id}/users",
     {"email": "x@sup-a.test", "password": "0123456789", "role": "supplier_manager"}),
    ("manager_a", "PATCH", "/users/{manager_a_id}", {"role": "supplier_manager"}),
])
def test_roles_are_required(client, market, who, method, path, body):
    path = path.format(manager_a_id=market.manager_a_id, org_a_id=market.org_a_id)
    response = client.request(method, API + path, json=body, headers=getattr(market, who))
    _error(response, 403, "role_not_allowed")


def test_a_marketer_manages_organisations_and_users_but_cannot_make_admins(client, market):
    created = client.post(f"{API}/organisations", headers=market.marketer,
                          json={"name": "Hleb Co", "kind": "supplier",
                                "supplier_id": _new_supplier("SUP-C")})
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    user = client.post(f"{API}/organisations/{org_id}/users", headers=market.marketer,
                       json={"email": "boss@hleb.test", "password": "0123456789",
                             "role": "supplier_manager"})
    assert user.status_code == 201, user.text
    assert user.json()["organisation_id"] == org_id

    admin = client.post(f"{API}/organisations/{market.retailer_id}/users",
                        headers=market.marketer,
                        json={"email": "root@retailer.test", "password": "0123456789",
                              "role": "admin"})
    _error(admin, 403, "role_not_allowed")
    by_admin = client.post(f"{API}/organisations/{market.retailer_id}/users",
                           headers=market.admin,
                           json={"email": "root@retailer.test", "password": "0123456789",
                                 "role": "admin"})
    assert by_admin.status_code == 201, by_admin.text


def _new_supplier(supplier_id: str) -> str:
    with session_scope() as db:
        return factories.supplier(db, supplier_id=supplier_id).supplier_id


@pytest.mark.parametrize(("org", "body", "status", "field"), [
    ("org_a_id", {"email": "not-an-email", "password": "0123456789",
                  "role": "supplier_manager"}, 422, "email"),
    ("org_a_id", {"email": "short@sup-a.test", "password": "123456789",
                  "role": "supplier_manager"}, 422, "password"),
    ("org_a_id", {"email": "boss@sup-a.test", "password": "0123456789",
                  "role": "admin"}, 422, "role"),
    ("org_a_id", {"email": "boss@sup-a.test", "password": "0123456789",
                  "role": "retail_marketer"}, 422, "role"),
    ("retailer_id", {"email": "boss@retailer.test", "password": "0123456789",
                     "role": "supplier_manager"}, 422, "role"),
    ("org_b_id", {"email": "MANAGER@sup-a.test", "password": "0123456789",
                  "role": "supplier_manager"}, 409, "email"),
    ("org_a_id", {"email": "x@sup-a.test", "password": "0123456789",
                  "role": "overlord"}, 422, "role"),
])
def test_user_rules_answer_next_to_the_field(client, market, org, body, status, field):
    response = client.post(f"{API}/organisations/{getattr(market, org)}/users",
                           headers=market.admin, json=body)
    assert field in _error(response, status)["errors"]


def test_an_admin_renames_and_changes_roles_but_not_across_organisation_kinds(client, market):
    renamed = client.patch(f"{API}/users/{market.marketer_id}", headers=market.admin,
                           json={"full_name": "Anna", "role": "finance_officer"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "Anna"
    assert renamed.json()["role"] == "finance_officer"
    assert client.get(f"{API}/organisations", headers=market.marketer).status_code == 200
    _error(client.post(f"{API}/organisations", headers=market.marketer,
                       json={"name": "Z", "kind": "retailer"}), 403)

    wrong_kind = client.patch(f"{API}/users/{market.manager_a_id}", headers=market.admin,
                              json={"role": "admin"})
    assert "role" in _error(wrong_kind, 422)["errors"]


def test_the_last_admin_cannot_lock_everyone_out(client, market):
    _error(client.patch(f"{API}/users/{market.admin_id}", headers=market.admin,
                        json={"is_active": False}), 409, "last_admin")
    _error(client.patch(f"{API}/users/{market.admin_id}", headers=market.admin,
                        json={"role": "retail_marketer"}), 409, "last_admin")
    promoted = client.patch(f"{API}/users/{market.marketer_id}", headers=market.admin,
                            json={"role": "admin"})
    assert promoted.status_code == 200
    demoted = client.patch(f"{API}/users/{market.admin_id}", headers=market.admin,
                           json={"role": "retail_marketer"})
    assert demoted.status_code == 200
    # the role is read from the database, so the old token lost its admin rights at once
    _error(client.get(f"{API}/api-keys", headers=market.admin), 403)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"name": "No Supplier", "kind": "supplier"}, 422, "supplier_id"),
    ({"name": "Ghost", "kind": "supplier", "supplier_id": "NOPE"}, 422, "supplier_id"),
    ({"name": "Twice", "kind": "supplier", "supplier_id": "SUP-A"}, 409, "supplier_id"),
    ({"name": "molochny dom", "kind": "supplier", "supplier_id": "SUP-Z"}, 409, "name"),
    ({"name": "Second Retailer", "kind": "retailer"}, 409, "kind"),
    ({"name": "Retailer Two", "kind": "retailer", "supplier_id": "SUP-A"}, 422, "supplier_id"),
    ({"name": "  ", "kind": "supplier", "supplier_id": "SUP-Z"}, 422, "name"),
])
def test_organisation_rules(client, market, body, status, field):
    _new_supplier("SUP-Z")
    response = client.post(f"{API}/organisations", headers=market.admin, json=body)
    assert field in _error(response, status)["errors"]


# --- API keys ------------------------------------------------------------------------------

def test_an_api_key_secret_is_shown_once_and_stored_only_as_a_hash(client, market):
    created = client.post(f"{API}/api-keys", headers=market.admin,
                          json={"kind": "app", "name": "iOS app"})
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key["secret"]
    assert secret.startswith(f"vk_{key['prefix']}_") and len(secret) > 40
    assert key["organisation_id"] == market.retailer_id

    listed = client.get(f"{API}/api-keys", headers=market.admin)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()] == [key["id"]]
    assert "secret" not in listed.json()[0]
    assert secret not in listed.text

    with session_scope() as db:
        rows = db.execute(text("SELECT * FROM identity_api_key")).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert secret not in stored and secret.split("_", 2)[2] not in stored
    assert rows[0]["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()

    whoami = client.get(f"{API}/app/whoami", headers={"X-Api-Key": secret})
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["name"] == "iOS app"
    assert "secret" not in whoami.json()


def test_api_keys_of_the_wrong_kind_are_403_and_bad_ones_401(client, market):
    with session_scope() as db:
        retailer = identity.retailer_organisation(db=db)
        app_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.app)
        pos_key = factories.api_key(db, organisation=retailer, kind=ApiKeyKind.pos)

    assert client.get(f"{API}/pos/whoami", headers={"X-Api-Key": pos_key}).status_code == 200
    _error(client.get(f"{API}/pos/whoami", headers={"X-Api-Key": app_key}), 403,
           "wrong_api_key_kind")
    _error(client.get(f"{API}/app/whoami", headers={"X-Api-Key": pos_key}), 403,
           "wrong_api_key_kind")

    prefix = app_key.split("_")[1]
    for bad in ["", "nonsense", f"vk_{prefix}_wrong-secret", "vk_000000000000_x",
                app_key[:-1] + ("A" if app_key[-1] != "A" else "B")]:
        _error(client.get(f"{API}/app/whoami", headers={"X-Api-Key": bad}), 401)
    # a user's bearer token is not an API key
    _error(client.get(f"{API}/app/whoami", headers=market.admin), 401)


def test_a_revoked_key_is_401_at_once(client, market):
    created = client.post(f"{API}/api-keys", headers=market.admin,
                          json={"kind": "pos", "name": "Tills"}).json()
    headers = {"X-Api-Key": created["secret"]}
    assert client.get(f"{API}/pos/whoami", headers=headers).status_code == 200

    revoked = client.delete(f"{API}/api-keys/{created['id']}", headers=market.admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    _error(client.get(f"{API}/pos/whoami", headers=headers), 401, "api_key_revoked")

    again = client.delete(f"{API}/api-keys/{created['id']}", headers=market.admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    active = client.get(f"{API}/api-keys", headers=market.admin,
                        params={"filter": '{"active": true}'})
    assert active.json() == []


def test_api_keys_belong_to_the_retailer(client, market):
    with session_scope() as db:
        org_a = identity.find_organisation(db=db, ref=str(market.org_a_id))
        with pytest.raises(errors.InvalidApiKeyRequest):
            identity.create_api_key(db=db, organisation=org_a, kind=ApiKeyKind.app, name="x")


# --- react-admin lists ---------------------------------------------------------------------

def test_lists_follow_react_admin_conventions(client, market):
    with session_scope() as db:
        retailer = identity.retailer_organisation(db=db)
        for i in range(30):
            factories.user(db, organisation=retailer, role=Role.finance_officer,
                           email=f"clerk{i:02d}@retailer.test")
    url = f"{API}/organisations/{market.retailer_id}/users"

    page = client.get(url, headers=market.admin, params={
        "sort": '["email","DESC"]', "range": "[5,14]", "filter": '{"q":"clerk"}'})
    assert page.status_code == 200, page.text
    assert page.headers["Content-Range"] == "users 5-14/30"
    emails = [u["email"] for u in page.json()]
    assert emails == [f"clerk{i:02d}@retailer.test" for i in range(24, 14, -1)]

    by_ids = client.get(f"{API}/users", headers=market.admin,
                        params={"filter": f'{{"id":[{market.admin_id},{market.manager_a_id}]}}'})
    assert sorted(u["id"] for u in by_ids.json()) == sorted([market.admin_id,
                                                             market.manager_a_id])
    assert by_ids.headers["Content-Range"] == "users 0-1/2"

    default = client.get(url, headers=market.admin)
    assert default.headers["Content-Range"] == "users 0-24/33"
    assert len(default.json()) == 25

    beyond = client.get(url, headers=market.admin, params={"range": "[100,109]"})
    assert beyond.json() == [] and beyond.headers["Content-Range"] == "users */33"

    inactive = client.get(url, headers=market.admin,
                          params={"filter": '{"is_active": false, "role": "finance_officer"}'})
    assert inactive.json() == []


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": '["password_hash","ASC"]'}, "sort"),
    ({"sort": '["email","SIDEWAYS"]'}, "sort"),
    ({"sort": "email"}, "sort"),
    ({"range": "[10,5]"}, "range"),
    ({"range": "[0,5000]"}, "range"),
    ({"range": '["a","b"]'}, "range"),
    ({"filter": '{"password_hash":"x"}'}, "filter"),
    ({"filter": "[1,2]"}, "filter"),
    ({"filter": '{"id":"one"}'}, "filter.id"),
    ({"filter": '{"role":"overlord"}'}, "filter.role"),
    ({"filter": '{"q": 5}'}, "filter.q"),
])
def test_bad_list_parameters_are_422_naming_the_parameter(client, market, params, field):
    response = client.get(f"{API}/users", headers=market.admin, params=params)
    assert field in _error(response, 422, "invalid_list_params")["errors"]


# --- the command line ----------------------------------------------------------------------

def _vitrina(*args: str, input: str | None = None):
    from marketplace_api.cli import app

    return CliRunner().invoke(app, list(args), input=input)


def test_the_command_line_sets_up_organisations_users_and_keys(sqlite_db):
    _new_supplier("SUP-A")
    assert _vitrina("orgs", "create", "--name", "Retailer", "--kind", "retailer").exit_code == 0
    made = _vitrina("orgs", "create", "--name", "Molochny Dom", "--kind", "supplier",
                    "--supplier-id", "SUP-A")
    assert made.exit_code == 0, made.output
    assert "Molochny Dom" in made.stdout

    admin = _vitrina("users", "create", "--email", "admin@retailer.test", "--password",
                     "0123456789", "--role", "admin", "--org", "Retailer", "--name", "Root")
    assert admin.exit_code == 0, admin.output
    prompted = _vitrina("users", "create", "--email", "boss@sup-a.test", "--role",
                        "supplier_manager", "--org", "2", input="0123456789\n0123456789\n")
    assert prompted.exit_code == 0, prompted.output

    key = _vitrina("apikeys", "create", "--kind", "pos", "--name", "Tills")
    assert key.exit_code == 0, key.output
    secret = key.stdout.strip()
    assert secret.startswith("vk_")
    assert "will not be shown again" in key.stderr

    with session_scope() as db:
        assert identity.verify_api_key(db=db, secret=secret).kind == ApiKeyKind.pos
        assert identity.authenticate(db=db, email="boss@sup-a.test",
                                     password="0123456789").organisation.kind \
            == OrganisationKind.supplier
        assert db.scalar(select(ApiKey.key_hash)) != secret


@pytest.mark.parametrize("args", [
    ("users", "create", "--email", "x@y.test", "--password", "0123456789",
     "--role", "admin", "--org", "No Such Org"),
    ("orgs", "create", "--name", "S", "--kind", "supplier"),
    ("apikeys", "create", "--kind", "app", "--name", "iOS"),
])
def test_command_line_errors_go_to_stderr_with_status_1(sqlite_db, args):
    result = _vitrina(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


# --- on PostgreSQL -------------------------------------------------------------------------

@pytest.fixture
def pg_client(pg_db):
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def test_login_roles_keys_and_lists_on_postgresql(pg_client):
    client = pg_client
    market = factories.marketplace()
    headers = factories.login(client, market.manager_a_email)
    assert client.get(f"{API}/me", headers=headers).json()["role"] == "supplier_manager"
    _error(client.post(f"{API}/auth/token", data={"username": market.manager_a_email,
                                                   "password": "wrong-password"}), 401)

    created = client.post(f"{API}/api-keys", headers=market.admin,
                          json={"kind": "app", "name": "Android"}).json()
    assert client.get(f"{API}/app/whoami",
                      headers={"X-Api-Key": created["secret"]}).status_code == 200
    client.delete(f"{API}/api-keys/{created['id']}", headers=market.admin)
    _error(client.get(f"{API}/app/whoami", headers={"X-Api-Key": created["secret"]}), 401)

    users = client.get(f"{API}/users", headers=market.admin, params={
        "filter": '{"q": "RETAILER", "role": "admin", "is_active": true}',
        "sort": '["created_at","DESC"]'})
    assert [u["email"] for u in users.json()] == ["admin@retailer.test"]
    _error(client.get(f"{API}/users", headers=market.admin,
                      params={"filter": '{"id": "x"}'}), 422)
    assert client.get(f"{API}/users", headers=market.admin,
                      params={"filter": '{"id": []}'}).json() == []
    assert user_count(client, market) == 5


def user_count(client, market) -> int:
    response = client.get(f"{API}/users", headers=market.admin, params={"range": "[0,0]"})
    return int(response.headers["Content-Range"].split("/")[1])
