"""The retailer's catalogue as the API shows it: products, stores, suppliers, categories.

Every record carries an `id` (react-admin needs one): the retailer's own id of the thing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

from retail.models import Product


class RetailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProductRead(RetailRead):
    """A product of the retailer's catalogue, with its shelf price.

    `cost_price_minor` is what the product costs the retailer. Only retailer staff see
    it; for a supplier's users it is always null, their own products included. The
    figure is the retailer's (it may include logistics, bonuses and back margin that the
    supplier's invoice does not show) and, next to the shelf price, it gives away the
    retailer's margin and the floor below which discounts are clipped. Build it with
    `ProductRead.of(product, show_cost=...)` so the choice is made in one place.
    """

    sku: str
    name: str
    supplier_id: str
    category: str
    subcategory: str | None
    brand: str | None
    regular_price_minor: int
    cost_price_minor: int | None
    currency: str
    pack_size: str | None

    @computed_field
    @property
    def id(self) -> str:
        return self.sku

    @classmethod
    def of(cls, product: Product, *, show_cost: bool) -> ProductRead:
        read = cls.model_validate(product)
        return read if show_cost else read.model_copy(update={"cost_price_minor": None})


class StoreRead(RetailRead):
    store_id: str
    name: str
    region: str | None
    city: str | None
    format: str | None

    @computed_field
    @property
    def id(self) -> str:
        return self.store_id


class SupplierRead(RetailRead):
    supplier_id: str
    name: str
    inn: str | None

    @computed_field
    @property
    def id(self) -> str:
        return self.supplier_id


class RegionRead(RetailRead):
    """A region the retailer has stores in, and how many (what a campaign's regions pick)."""

    name: str
    store_count: int

    @computed_field
    @property
    def id(self) -> str:
        return self.name


class CategoryRead(RetailRead):
    """A product category and how many of the caller's visible products are in it."""

    name: str
    product_count: int

    @computed_field
    @property
    def id(self) -> str:
        return self.name
