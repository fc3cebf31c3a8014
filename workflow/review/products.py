"""Recognising the request's immunoglobulin product against the product vocabulary.

The vocabulary (``vocab/products.yaml``, package data) holds each product's route,
concentration, stabiliser and vial sizes with its source. The request's ``product``
stays free text (the contract's field); an unrecognised product is a finding, not an
error, so a new product can be requested before the vocabulary knows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.review.packaged import vocabulary


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Product(_Frozen):
    name: str
    family: str
    aliases: tuple[str, ...] = ()
    route: Literal["iv", "sc", "iv_or_sc"]
    concentration_percent: Annotated[float, Field(gt=0, le=30)]
    stabiliser: Annotated[str, Field(pattern=r"^[a-z_]+$")]
    vials_g: tuple[Annotated[float, Field(gt=0)], ...]
    source: str

    @property
    def intravenous(self) -> bool:
        return self.route != "sc"


class ProductVocabulary(_Frozen):
    version: str
    sources: dict[str, str]
    products: tuple[Product, ...]

    @model_validator(mode="after")
    def _sources_exist(self) -> ProductVocabulary:
        for product in self.products:
            if product.source not in self.sources:
                raise ValueError(f"{product.name}: unknown source {product.source!r}")
        return self

    def source_text(self, product: Product) -> str:
        return " ".join(self.sources[product.source].split())


@dataclass(frozen=True)
class ProductMatch:
    product: Product
    exact: bool  # False: only the family was named ("Octagam")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@lru_cache(maxsize=1)
def load_products() -> ProductVocabulary:
    return ProductVocabulary.model_validate(vocabulary("products.yaml"))


def match_product(name: str) -> ProductMatch | None:
    """The product a request names, or its family when all the family shares a stabiliser."""
    vocabulary = load_products()
    key = _key(name)
    for product in vocabulary.products:
        if key in {_key(n) for n in (product.name, *product.aliases)}:
            return ProductMatch(product, True)
    family = [p for p in vocabulary.products if key and key.startswith(_key(p.family))]
    if family and len({p.stabiliser for p in family}) == 1:
        return ProductMatch(family[0], False)
    return None
