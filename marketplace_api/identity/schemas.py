"""Identity's request and response shapes. Business rules (which role fits which
organisation, password length) live in the service, so the CLI obeys them too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marketplace_api.identity.models import ApiKeyKind, OrganisationKind, Role

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
KeyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class IdentityBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganisationCreate(IdentityBase):
    name: Name
    kind: OrganisationKind
    supplier_id: str | None = Field(
        default=None, max_length=64,
        description="The retailer's supplier this organisation is; required for suppliers.")


class OrganisationRead(IdentityBase):
    id: int
    name: str
    kind: OrganisationKind
    supplier_id: str | None
    created_at: datetime


class UserCreate(IdentityBase):
    email: str = Field(max_length=254)
    password: str = Field(max_length=256, description="At least 10 characters.")
    role: Role
    full_name: str = Field(default="", max_length=200)


class UserUpdate(IdentityBase):
    """Fields left out (or null) stay as they are."""

    full_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None


class UserRead(IdentityBase):
    id: int
    organisation_id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime


class MeRead(UserRead):
    organisation: OrganisationRead


class ApiKeyCreate(IdentityBase):
    kind: ApiKeyKind
    name: KeyName


class ApiKeyRead(IdentityBase):
    id: int
    organisation_id: int
    kind: ApiKeyKind
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """The new key with its secret: the only time the secret is shown; store it now."""

    secret: str


class Token(BaseModel):
    """The answer to a login: a bearer token, and who logged in for the web cabinet."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
    role: Role
    organisation: OrganisationRead
