"""HTTP routes of the retailer's catalogue: products, categories, stores, regions, suppliers.

A supplier's users see only their own supplier's products (and categories), never the
cost price; retailer staff see the whole catalogue.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy import func

from marketplace_api.deps import (
    CurrentScope,
    DbSession,
    ScopedProduct,
    get_current_user,
    require_retailer_staff,
)
from marketplace_api.listing import ListQuery, ListSpec, contains, equals, fetch_page
from retail import service as retail
from retail.models import Product, Store, Supplier
from retail.schemas import CategoryRead, ProductRead, RegionRead, StoreRead, SupplierRead

PRODUCTS = ListSpec(
    resource="products", key=(Product.sku,),
    sortable={"id": Product.sku, "sku": Product.sku, "name": Product.name,
              "category": Product.category, "brand": Product.brand,
              "supplier_id": Product.supplier_id,
              "regular_price_minor": Product.regular_price_minor},
    filters={"q": contains(Product.name, Product.sku), "id": equals(Product.sku),
             "category": equals(Product.category), "subcategory": equals(Product.subcategory),
             "brand": equals(Product.brand), "supplier_id": equals(Product.supplier_id)},
)
CATEGORIES = ListSpec(
    resource="categories", key=(Product.category,),
    sortable={"id": Product.category, "name": Product.category,
              "product_count": func.count()},
    filters={"q": contains(Product.category), "id": equals(Product.category),
             "supplier_id": equals(Product.supplier_id)},
)
STORES = ListSpec(
    resource="stores", key=(Store.store_id,),
    sortable={"id": Store.store_id, "store_id": Store.store_id, "name": Store.name,
              "region": Store.region, "city": Store.city, "format": Store.format},
    filters={"q": contains(Store.name, Store.city, Store.store_id), "id": equals(Store.store_id),
             "region": equals(Store.region), "city": equals(Store.city),
             "format": equals(Store.format)},
)
REGIONS = ListSpec(
    resource="regions", key=(Store.region,),
    sortable={"id": Store.region, "name": Store.region, "store_count": func.count()},
    filters={"q": contains(Store.region), "id": equals(Store.region)},
)
SUPPLIERS = ListSpec(
    resource="suppliers", key=(Supplier.supplier_id,),
    sortable={"id": Supplier.supplier_id, "supplier_id": Supplier.supplier_id,
              "name": Supplier.name},
    filters={"q": contains(Supplier.name, Supplier.supplier_id),
             "id": equals(Supplier.supplier_id), "inn": equals(Supplier.inn)},
)

router = APIRouter(tags=["retail"], dependencies=[Depends(get_current_user)])


@router.get("/products", response_model=list[ProductRead])
def list_products(db: DbSession, scope: CurrentScope, params: ListQuery,
                  response: Response) -> list[ProductRead]:
    products = fetch_page(db=db, statement=retail.select_products(supplier_id=scope.supplier_id),
                          params=params, spec=PRODUCTS, response=response)
    return [ProductRead.of(p, show_cost=scope.sees_everything) for p in products]


@router.get("/products/{sku}", response_model=ProductRead)
def get_product(scope: CurrentScope, product: ScopedProduct) -> ProductRead:
    return ProductRead.of(product, show_cost=scope.sees_everything)


@router.get("/categories", response_model=list[CategoryRead])
def list_categories(db: DbSession, scope: CurrentScope, params: ListQuery,
                    response: Response) -> list:
    """Distinct categories of the products the caller sees, with product counts."""
    statement = retail.select_categories(supplier_id=scope.supplier_id)
    return fetch_page(db=db, statement=statement, params=params, spec=CATEGORIES,
                      response=response)


@router.get("/stores", response_model=list[StoreRead])
def list_stores(db: DbSession, params: ListQuery, response: Response) -> list[Store]:
    return fetch_page(db=db, statement=retail.select_stores(), params=params, spec=STORES,
                      response=response)


@router.get("/regions", response_model=list[RegionRead])
def list_regions(db: DbSession, params: ListQuery, response: Response) -> list:
    """Distinct store regions with store counts, for the campaign wizard's region picker."""
    return fetch_page(db=db, statement=retail.select_regions(), params=params, spec=REGIONS,
                      response=response)


@router.get("/suppliers", response_model=list[SupplierRead],
            dependencies=[Depends(require_retailer_staff)])
def list_suppliers(db: DbSession, params: ListQuery, response: Response) -> list[Supplier]:
    return fetch_page(db=db, statement=retail.select_suppliers(), params=params,
                      spec=SUPPLIERS, response=response)
