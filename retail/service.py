"""Reading the retailer's catalogue. `supplier_id` narrows every query to one supplier's
products (a supplier's view); None means the whole catalogue (the retailer's view)."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from retail.models import Product, Store, Supplier


def select_products(*, supplier_id: str | None) -> Select[tuple[Product]]:
    statement = select(Product)
    if supplier_id is not None:
        statement = statement.where(Product.supplier_id == supplier_id)
    return statement


def get_product(*, db: Session, sku: str, supplier_id: str | None) -> Product:
    """Another supplier's product is "not found", exactly like a missing one."""
    product = db.get(Product, sku)
    if product is None or (supplier_id is not None and product.supplier_id != supplier_id):
        raise NotFound(f"No product {sku!r}", code="product_not_found")
    return product


def select_categories(*, supplier_id: str | None) -> Select[tuple[str, int]]:
    """Distinct categories as rows (name, product_count)."""
    statement = (select(Product.category.label("name"),
                        func.count().label("product_count"))
                 .group_by(Product.category))
    if supplier_id is not None:
        statement = statement.where(Product.supplier_id == supplier_id)
    return statement


def select_stores() -> Select[tuple[Store]]:
    return select(Store)


def select_regions() -> Select[tuple[str, int]]:
    """Distinct store regions as rows (name, store_count); stores without a region are left
    out, since a campaign cannot target them by region."""
    return (select(Store.region.label("name"), func.count().label("store_count"))
            .where(Store.region.is_not(None)).group_by(Store.region))


def select_suppliers() -> Select[tuple[Supplier]]:
    return select(Supplier)
