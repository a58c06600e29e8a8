"""The marketplace feed: item shape, the three snapshot formats, cursors, ETags, and the streaming response.

Item shape: Google Merchant Center attribute names (`id, title, description, link, image_link,
price, availability, availability_date, condition, brand, gtin, mpn, identifier_exists`) plus the
eWTP fields a cross-border channel needs (`hs_code`, `national_tariff_code`, `origin_country`,
net weight, packed dimensions, available quantity, version). JSON prices are
`{amount, currency, amount_minor}`; CSV and XML prices are GMC text, `15.00 USD`.

Snapshot guarantee: `SnapshotResponse` opens one consistent read (`Database.snapshot`)
inside the response itself, reads the change-log high-water mark and the published count from it,
answers 304 when `If-None-Match` matches, and otherwise streams the published listings of that same
snapshot in id order, `chunk_size` rows per round trip, so memory stays flat whatever the catalogue
size. `X-Feed-Cursor` is the high-water mark: every change not in the snapshot has a larger seq, so
a delta read from it loses nothing (and may repeat an upsert, which the version makes harmless).

ETag: strong, derived from (format, high-water seq, count, link template): every change a
marketplace can see writes a change-log row, so an unchanged high-water mark means an unchanged body.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import orjson
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from services.catalogue.categories import category_label
from services.catalogue.domain import Availability
from services.catalogue.feed.repository import FEED_COLUMNS, FeedRepository
from services.catalogue.schemas import FeedFormat
from shared.db import Database
from shared.money import minor_units
from shared.pagination import MalformedCursor, cursor_int, decode_cursor, encode_cursor

#: Bumped whenever the item shape changes, so cached snapshots are not taken for the new shape.
ITEM_SCHEMA = "1"

MEDIA_TYPES = {
    FeedFormat.JSONL: "application/x-ndjson",
    FeedFormat.CSV: "text/csv; charset=utf-8",
    FeedFormat.XML: "application/xml; charset=utf-8",
}


class FlatRow(NamedTuple):
    """One item as CSV and XML render it (text values, GMC units): its field names are the CSV header."""

    id: str
    title: str
    description: str
    link: str
    image_link: str
    additional_image_link: str
    price: str
    availability: str
    availability_date: str
    condition: str
    brand: str
    gtin: str
    mpn: str
    identifier_exists: str
    product_type: str
    hs_code: str
    national_tariff_code: str
    origin_country: str
    product_weight: str
    shipping_length: str
    shipping_width: str
    shipping_height: str
    quantity_available: int
    seller_id: str
    sku: str
    version: int
    updated_at: str


CSV_COLUMNS = FlatRow._fields

_DATED = frozenset({Availability.PREORDER.value, Availability.BACKORDER.value})


def encode_feed_cursor(seq: int) -> str:
    return encode_cursor({"seq": seq})


def decode_feed_cursor(cursor: str) -> int:
    try:
        return cursor_int(decode_cursor(cursor, ("seq",))["seq"], minimum=0)
    except MalformedCursor:
        raise MalformedCursor("Malformed cursor; pass back the X-Feed-Cursor or next_cursor you were given.") from None


@cache
def _places(currency: str) -> int:
    return minor_units(currency)


def format_amount(amount_minor: int, currency: str) -> str:
    """Integer minor units as the currency's decimal string, without going through Decimal."""
    places = _places(currency)
    if places == 0:
        return str(amount_minor)
    whole, frac = divmod(amount_minor, 10**places)
    return f"{whole}.{frac:0{places}d}"


class FeedRow(NamedTuple):
    """One row of `repository.FEED_COLUMNS`, in that order: plain values, no ORM object per listing."""

    id: str
    seller_id: str
    sku: str
    title: str
    description: str
    category: str
    hs_code: str
    national_tariff_code: str | None
    price_minor: int
    currency: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    condition: str
    brand: str | None
    gtin: str | None
    mpn: str | None
    identifier_exists: bool
    images_json: str
    attributes_json: str
    certifications_json: str
    origin_country: str
    on_hand: int
    reserved: int
    policy: str
    availability_date: date | None
    version: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def shown_availability(self) -> str:
        # The out-of-stock policies are spelled like the availability values they lead to.
        return "in_stock" if self.available > 0 else self.policy


assert len(FeedRow._fields) == len(FEED_COLUMNS), "FeedRow must mirror repository.FEED_COLUMNS"


class FeedRenderer:
    """Turns feed rows (`repository.FEED_COLUMNS`, unpacked by position) into items, lines, CSV rows, XML.

    This is the snapshot's hot path (tens of thousands of rows a second): rows are unpacked as tuples,
    the JSON columns arrive as raw text and go into JSON lines untouched (`orjson.Fragment`).
    """

    def __init__(self, link_template: str) -> None:
        self.link_template = link_template
        prefix, _, suffix = link_template.partition("{id}")
        self._link_prefix, self._link_suffix = prefix, suffix
        self.fingerprint = hashlib.sha256(link_template.encode()).hexdigest()[:8]

    def link(self, listing_id: str) -> str:
        return f"{self._link_prefix}{listing_id}{self._link_suffix}"

    def item(self, row: Sequence[Any]) -> dict[str, Any]:
        r = FeedRow._make(row)
        images: list[str] = orjson.loads(r.images_json)
        available, shown = r.available, r.shown_availability
        return {
            "id": r.id,
            "title": r.title,
            "description": r.description,
            "link": f"{self._link_prefix}{r.id}{self._link_suffix}",
            "image_link": images[0] if images else None,
            "additional_image_link": images[1:],
            "price": {
                "amount": format_amount(r.price_minor, r.currency),
                "currency": r.currency,
                "amount_minor": r.price_minor,
            },
            "availability": shown,
            "availability_date": r.availability_date if shown in _DATED else None,
            "condition": r.condition,
            "brand": r.brand,
            "gtin": r.gtin,
            "mpn": r.mpn,
            "identifier_exists": bool(r.identifier_exists),
            "product_type": category_label(r.category),
            "category": r.category,
            "hs_code": r.hs_code,
            "national_tariff_code": r.national_tariff_code,
            "origin_country": r.origin_country,
            "unit_net_weight_g": r.weight_g,
            "packed_dimensions_cm": {"length": r.length_mm / 10, "width": r.width_mm / 10, "height": r.height_mm / 10},
            "quantity_available": available if available > 0 else 0,
            "attributes": orjson.Fragment(r.attributes_json),
            "certifications": orjson.Fragment(r.certifications_json),
            "seller_id": r.seller_id,
            "sku": r.sku,
            "version": r.version,
            "updated_at": r.updated_at,
        }

    def jsonl(self, rows: Iterable[Sequence[Any]]) -> bytes:
        dumps, item, option = orjson.dumps, self.item, orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
        return b"".join([dumps(item(r), option=option) for r in rows])

    def _flat(self, row: Sequence[Any]) -> tuple[FlatRow, list[str], dict[str, Any], list[str]]:
        """The CSV/XML text of an item, plus its images, attributes and certifications."""
        r = FeedRow._make(row)
        images: list[str] = orjson.loads(r.images_json)
        available, shown = r.available, r.shown_availability
        flat = FlatRow(
            id=r.id,
            title=r.title,
            description=r.description,
            link=self.link(r.id),
            image_link=images[0] if images else "",
            additional_image_link=",".join(images[1:]),
            price=f"{format_amount(r.price_minor, r.currency)} {r.currency}",
            availability=shown,
            availability_date=r.availability_date.isoformat() if shown in _DATED and r.availability_date else "",
            condition=r.condition,
            brand=r.brand or "",
            gtin=r.gtin or "",
            mpn=r.mpn or "",
            identifier_exists="yes" if r.identifier_exists else "no",
            product_type=category_label(r.category),
            hs_code=r.hs_code,
            national_tariff_code=r.national_tariff_code or "",
            origin_country=r.origin_country,
            product_weight=f"{r.weight_g} g",
            shipping_length=f"{r.length_mm / 10} cm",
            shipping_width=f"{r.width_mm / 10} cm",
            shipping_height=f"{r.height_mm / 10} cm",
            quantity_available=max(available, 0),
            seller_id=r.seller_id,
            sku=r.sku,
            version=r.version,
            updated_at=r.updated_at.isoformat().replace("+00:00", "Z"),
        )
        return flat, images, orjson.loads(r.attributes_json), orjson.loads(r.certifications_json)

    @staticmethod
    def csv_header() -> bytes:
        return _csv_lines([CSV_COLUMNS])

    def csv(self, rows: Iterable[Sequence[Any]]) -> bytes:
        return _csv_lines(self._flat(r)[0] for r in rows)

    @staticmethod
    def xml_header() -> bytes:
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0" xmlns:ewtp="https://ewtp.rw/ns/feed/1">\n'
            b"<channel>\n<title>eWTP Rwanda listings</title>\n<link>https://ewtp.rw/</link>\n"
            b"<description>Published listings of Rwandan exporters</description>\n"
        )

    @staticmethod
    def xml_footer() -> bytes:
        return b"</channel>\n</rss>\n"

    def xml(self, rows: Iterable[Sequence[Any]]) -> bytes:
        return "".join([self._xml_item(r) for r in rows]).encode()

    def _xml_item(self, row: Sequence[Any]) -> str:
        f, images, attributes, certifications = self._flat(row)
        parts = [
            "<item>",
            f"<g:id>{f.id}</g:id>",
            f"<title>{escape(f.title)}</title>",
            f"<description>{escape(f.description)}</description>",
            f"<link>{escape(f.link)}</link>",
        ]
        if images:
            parts.append(f"<g:image_link>{escape(images[0])}</g:image_link>")
            parts += [f"<g:additional_image_link>{escape(u)}</g:additional_image_link>" for u in images[1:]]
        parts += [f"<g:price>{f.price}</g:price>", f"<g:availability>{f.availability}</g:availability>"]
        if f.availability_date:
            parts.append(f"<g:availability_date>{f.availability_date}</g:availability_date>")
        parts.append(f"<g:condition>{f.condition}</g:condition>")
        for tag, value in (("brand", f.brand), ("gtin", f.gtin), ("mpn", f.mpn)):
            if value:
                parts.append(f"<g:{tag}>{escape(value)}</g:{tag}>")
        section = escape(f.product_type)
        parts += [
            f"<g:identifier_exists>{f.identifier_exists}</g:identifier_exists>",
            f"<g:product_type>{section}</g:product_type>",
            f"<g:product_weight>{f.product_weight}</g:product_weight>",
            f"<g:shipping_length>{f.shipping_length}</g:shipping_length>",
            f"<g:shipping_width>{f.shipping_width}</g:shipping_width>",
            f"<g:shipping_height>{f.shipping_height}</g:shipping_height>",
        ]
        for name, value in attributes.items():
            shown = value if not isinstance(value, bool) else ("yes" if value else "no")
            parts.append(
                f"<g:product_detail><g:section_name>{section}</g:section_name>"
                f"<g:attribute_name>{escape(name)}</g:attribute_name>"
                f"<g:attribute_value>{escape(str(shown))}</g:attribute_value></g:product_detail>"
            )
        parts += [
            f"<ewtp:hs_code>{f.hs_code}</ewtp:hs_code>",
            f"<ewtp:national_tariff_code>{f.national_tariff_code}</ewtp:national_tariff_code>"
            if f.national_tariff_code
            else "",
            f"<ewtp:origin_country>{f.origin_country}</ewtp:origin_country>",
            f"<ewtp:unit_net_weight_g>{f.product_weight.removesuffix(' g')}</ewtp:unit_net_weight_g>",
            f"<ewtp:quantity_available>{f.quantity_available}</ewtp:quantity_available>",
            *(f"<ewtp:certification>{escape(c)}</ewtp:certification>" for c in certifications),
            f"<ewtp:seller_id>{escape(f.seller_id)}</ewtp:seller_id>",
            f"<ewtp:sku>{escape(f.sku)}</ewtp:sku>",
            f"<ewtp:version>{f.version}</ewtp:version>",
            "</item>\n",
        ]
        return "".join(parts)


def _csv_lines(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def snapshot_etag(fmt: FeedFormat, high_water: int, count: int, renderer: FeedRenderer) -> str:
    return f'"s{ITEM_SCHEMA}-{fmt.value}-{high_water}-{count}-{renderer.fingerprint}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison over a list of tags, or `*`."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


class SnapshotResponse(StreamingResponse):
    """Streams the full snapshot of published listings from one consistent read (module docstring).

    The next chunk's query starts as soon as the current chunk is fetched, so the database works while
    this chunk is rendered and sent. A query is never cancelled half-way (a client that goes away
    cancels the stream, not the query): the read is closed only once its last query has finished, so
    no connection is left broken.
    """

    def __init__(
        self,
        db: Database,
        renderer: FeedRenderer,
        fmt: FeedFormat,
        if_none_match: str | None,
        chunk_size: int,
    ) -> None:
        super().__init__(content=_nothing(), media_type=MEDIA_TYPES[fmt])
        self.db = db
        self.renderer = renderer
        self.fmt = fmt
        self.if_none_match = if_none_match
        self.chunk_size = chunk_size
        self._query: asyncio.Task[Sequence[Sequence[Any]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.db.snapshot() as session:
            repo = FeedRepository(session)
            high_water = await repo.high_water()
            count = await repo.published_count()
            etag = snapshot_etag(self.fmt, high_water, count, self.renderer)
            headers = {
                "etag": etag,
                "cache-control": "private, no-cache",
                "x-feed-cursor": encode_feed_cursor(high_water),
                "x-feed-count": str(count),
            }
            if etag_matches(self.if_none_match, etag):
                await Response(status_code=304, headers=headers)(scope, receive, send)
                return
            if self.fmt is FeedFormat.CSV:
                headers["content-disposition"] = 'attachment; filename="listings.csv"'
            self.init_headers(headers)
            self.body_iterator = self._body(repo)
            try:
                await super().__call__(scope, receive, send)
            finally:
                if self._query is not None and not self._query.done():
                    with contextlib.suppress(Exception):
                        await self._query

    def _fetch(self, repo: FeedRepository, after: str | None) -> asyncio.Task[Sequence[Sequence[Any]]]:
        self._query = asyncio.create_task(repo.snapshot_chunk(after, self.chunk_size))
        return self._query

    async def _body(self, repo: FeedRepository) -> AsyncIterator[bytes]:
        render: Callable[[Iterable[Any]], bytes]
        if self.fmt is FeedFormat.JSONL:
            render = self.renderer.jsonl
        elif self.fmt is FeedFormat.CSV:
            render = self.renderer.csv
            yield self.renderer.csv_header()
        else:
            render = self.renderer.xml
            yield self.renderer.xml_header()
        query = self._fetch(repo, None)
        while True:
            rows = await asyncio.shield(query)
            full = len(rows) == self.chunk_size
            if full:
                # One query at a time on the session: the next starts only now that this one is done.
                query = self._fetch(repo, rows[-1][0])
            if rows:
                yield render(rows)
            if not full:
                break
        if self.fmt is FeedFormat.XML:
            yield self.renderer.xml_footer()


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
