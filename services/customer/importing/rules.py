"""Bulk import and export formats: CSV and NDJSON rows to customer bodies and back, read incrementally.

Plain Python. An NDJSON line is the body of ``POST /v1/customers`` (plus
``external_id``, which every imported row needs so that a re-run never creates a
customer twice). A CSV row is the same customer flattened into columns: lists are
``;``-separated (the first entry is primary), money is ``<field>_amount`` and
``<field>_currency``, one postal address is ``address_*``, custom fields are
``custom.<name>``.

A row may link to its organization (``parent_external_id`` for a subsidiary,
``organization_external_id`` for a person) by the other customer's external id, so
one file can carry a whole group: the linked customer must exist already or come
earlier in the file. An export writes links that way whenever the linked customer has
an external id, so it imports into another tenant with its hierarchy intact.

Demo data (``crm seed``) is made of the same rows: realistic customers, the same ones
for the same seed (``Seeder``).
"""

from __future__ import annotations

import csv
import io
import json
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Fields a document carries that an import row may repeat (e.g. from `crm export`) but never sets.
READ_ONLY = frozenset({"id", "display_name", "version", "created_at", "updated_at", "customer_group", "value_tier",
                       "pii_masked"})
PLAIN_COLUMNS = ("external_id", "kind", "given_name", "family_name", "organization_name", "country", "region",
                 "industry", "employees", "preferred_language", "preferred_currency", "owner", "parent_id",
                 "organization_id", "organization_role", "parent_external_id", "organization_external_id")
# Links by external id, and the id field each one fills once resolved.
LINKS_BY_EXTERNAL_ID = {"parent_external_id": "parent_id", "organization_external_id": "organization_id"}
MONEY_COLUMNS = ("annual_revenue", "credit_limit", "lifetime_value")
ADDRESS_COLUMNS = ("line1", "line2", "city", "postal_code", "region", "country")
CSV_COLUMNS: tuple[str, ...] = (
    *PLAIN_COLUMNS, "emails", "phones", "tags",
    *(f"address_{p}" for p in ADDRESS_COLUMNS),
    *(f"{m}_{part}" for m in MONEY_COLUMNS for part in ("amount", "currency")),
)


class RowError(ValueError):
    """A row that cannot even be read (bad JSON, wrong shape): reported with its line number."""


@dataclass(frozen=True)
class Row:
    line: int
    body: dict[str, Any] | None
    error: str | None = None


def import_body(raw: Any) -> dict[str, Any]:
    """An NDJSON object as a create body: read-only document fields dropped."""
    if not isinstance(raw, dict):
        raise RowError("each line must be a JSON object")
    return {k: v for k, v in raw.items() if k not in READ_ONLY}


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def body_from_csv(record: dict[str, str | None]) -> dict[str, Any]:
    """A CSV record (column -> text) as a create body; empty cells are simply absent."""
    cells = {k.strip(): v.strip() for k, v in record.items() if k and v is not None and v.strip()}
    body: dict[str, Any] = {name: cells[name] for name in PLAIN_COLUMNS if name in cells}
    for name, field, key in (("emails", "emails", "address"), ("phones", "phones", "number")):
        values = _split(cells.get(name, ""))
        if values:
            body[field] = [{key: v, "primary": i == 0} for i, v in enumerate(values)]
    if "tags" in cells:
        body["tags"] = _split(cells["tags"])
    address = {part: cells[f"address_{part}"] for part in ADDRESS_COLUMNS if f"address_{part}" in cells}
    if address:
        body["addresses"] = [address | {"primary": True}]
    for name in MONEY_COLUMNS:
        amount, currency = cells.get(f"{name}_amount"), cells.get(f"{name}_currency")
        if amount is not None or currency is not None:
            body[name] = {"amount": amount, "currency": currency}
    custom = {k[7:]: v for k, v in cells.items() if k.startswith("custom.")}
    if custom:
        body["custom_fields"] = custom
    unknown = set(cells) - set(CSV_COLUMNS) - {k for k in cells if k.startswith("custom.")}
    if unknown:
        raise RowError(f"unknown column(s): {', '.join(sorted(unknown))}")
    return body


def split_links(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A row's body without its links by external id, and those links (id field -> external id)."""
    links = {field: str(body[name]) for name, field in LINKS_BY_EXTERNAL_ID.items() if body.get(name)}
    return {k: v for k, v in body.items() if k not in LINKS_BY_EXTERNAL_ID}, links


def linked_by_external_id(document: dict[str, Any], external_ids: dict[str, str]) -> dict[str, Any]:
    """The document with each link to a customer that has an external id written by that id instead."""
    linked = dict(document)
    for name, field in LINKS_BY_EXTERNAL_ID.items():
        target = document.get(field)
        if target is not None and str(target) in external_ids:
            linked[name], linked[field] = external_ids[str(target)], None
    return linked


def csv_from_document(document: dict[str, Any], custom_names: list[str]) -> dict[str, str]:
    """A customer document as one CSV record (the inverse of ``body_from_csv``)."""
    row = {name: "" if document.get(name) is None else str(document[name]) for name in PLAIN_COLUMNS}
    if not row["external_id"]:
        row["external_id"] = str(document["id"])
    emails = sorted(document.get("emails") or [], key=lambda e: not e["primary"])
    phones = sorted(document.get("phones") or [], key=lambda p: not p["primary"])
    row["emails"] = ";".join(e["address"] for e in emails)
    row["phones"] = ";".join(p["number"] for p in phones)
    row["tags"] = ";".join(document.get("tags") or [])
    primary = next((a for a in document.get("addresses") or [] if a["primary"]), None) or {}
    for part in ADDRESS_COLUMNS:
        row[f"address_{part}"] = primary.get(part) or ""
    for name in MONEY_COLUMNS:
        money = document.get(name) or {}
        row[f"{name}_amount"], row[f"{name}_currency"] = money.get("amount", ""), money.get("currency", "")
    for name in custom_names:
        value = (document.get("custom_fields") or {}).get(name)
        row[f"custom.{name}"] = "" if value is None else str(value)
    return row


def ndjson_from_document(document: dict[str, Any]) -> str:
    """A customer document as one NDJSON line an import takes back (external id defaults to the id)."""
    body = {k: v for k, v in document.items() if (k not in READ_ONLY or k == "id") and
            (v is not None or k not in LINKS_BY_EXTERNAL_ID.values())}
    body["external_id"] = body.get("external_id") or str(document["id"])
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --- reading a stream ---------------------------------------------------------------------------


class RecordSplitter:
    """Cuts a byte stream into whole records (with the line each starts on), chunk by chunk.

    For CSV a record may span lines (a quoted cell with a line break): it is complete
    once its double quotes balance.
    """

    def __init__(self, csv_mode: bool) -> None:
        self.csv_mode = csv_mode
        self._pending = b""
        self._record: list[str] = []
        self._record_line = 0
        self._line = 0
        self._first = True

    def feed(self, chunk: bytes) -> Iterator[tuple[int, str]]:
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        for raw in lines:
            yield from self._line_in(raw)

    def close(self) -> Iterator[tuple[int, str]]:
        if self._pending:
            yield from self._line_in(self._pending)
            self._pending = b""
        if self._record:
            yield self._record_line, "\n".join(self._record)
            self._record = []

    def _line_in(self, raw: bytes) -> Iterator[tuple[int, str]]:
        self._line += 1
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self._first:
            text = text.removeprefix("\ufeff")
            self._first = False
        if not self._record:
            self._record_line = self._line
        self._record.append(text)
        if not self.csv_mode or "\n".join(self._record).count('"') % 2 == 0:
            yield self._record_line, "\n".join(self._record)
            self._record = []


class RowReader:
    """Turns whole records into rows: an NDJSON object per line, or CSV records after a header line."""

    def __init__(self, csv_mode: bool) -> None:
        self.csv_mode = csv_mode
        self.header: list[str] | None = None

    def row(self, line: int, text: str) -> Row | None:
        if not text.strip():
            return None
        try:
            if not self.csv_mode:
                return Row(line, import_body(json.loads(text)))
            cells = next(csv.reader(io.StringIO(text)))
            if self.header is None:
                self.header = [c.strip() for c in cells]
                return None
            if len(cells) != len(self.header):
                raise RowError(f"{len(cells)} cells, but the header has {len(self.header)} columns")
            return Row(line, body_from_csv(dict(zip(self.header, cells, strict=True))))
        except json.JSONDecodeError as exc:
            return Row(line, None, f"not valid JSON ({exc.msg})")
        except (RowError, csv.Error) as exc:
            return Row(line, None, str(exc))


# --- demo data ----------------------------------------------------------------------------------
# Persons and organizations across regions, industries and sizes, with
# e-mails, phones, addresses, tags, owners and lifetime values. About one row in
# fifty is a *planted duplicate* of an earlier person (the same person written
# differently: other case, other phone formatting, accents dropped), for duplicate
# detection to find. Each row carries the external id ``seed-<seed>-<n>``, so seeding
# twice with the same seed creates nothing new. Groups form as in life: about one
# organization in five is a subsidiary of an earlier one, and about a third of the
# persons work for an earlier organization, with a role; rows link by external id,
# the way an import file does.

# country -> (region, calling code, currency, language, given names, family names, cities)
REGIONS: dict[str, tuple[str, str, str, str, list[str], list[str], list[str]]] = {
    "DE": ("EMEA", "49", "EUR", "de-DE", ["Lena", "Jürgen", "Sophie", "Lukas", "Anja", "Matthias", "Jörg", "Hanna"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
           ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"]),
    "FR": ("EMEA", "33", "EUR", "fr-FR", ["Élodie", "Théo", "Camille", "Hélène", "Léa", "François", "Chloé", "Jérôme"],
           ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau"],
           ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes"]),
    "GB": ("EMEA", "44", "GBP", "en-GB", ["Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Emily"],
           ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas"],
           ["London", "Manchester", "Edinburgh", "Bristol", "Leeds"]),
    "ES": ("EMEA", "34", "EUR", "es-ES", ["Lucía", "Martín", "Sofía", "Álvaro", "Paula", "José", "María", "Ángel"],
           ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"],
           ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"]),
    "SE": ("EMEA", "46", "SEK", "sv-SE", ["Åsa", "Björn", "Linnéa", "Örjan", "Maja", "Erik", "Sofia", "Lars"],
           ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson"],
           ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås"]),
    "US": ("AMER", "1", "USD", "en-US", ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda"],
           ["Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia", "Wilson"],
           ["New York", "Chicago", "Austin", "Seattle", "Boston"]),
    "BR": ("AMER", "55", "BRL", "pt-BR", ["João", "Ana", "Gabriel", "Júlia", "Lucas", "Beatriz", "Mateus", "Letícia"],
           ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Araújo"],
           ["São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Recife"]),
    "CN": ("APAC", "86", "CNY", "zh-Hans-CN", ["Wei", "Fang", "Jing", "Lei", "Na", "Yang", "Min", "Jun"],
           ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao"],
           ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Chengdu"]),
    "JP": ("APAC", "81", "JPY", "ja-JP", ["Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura"],
           ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"],
           ["Tokyo", "Osaka", "Yokohama", "Nagoya", "Sapporo"]),
    "IN": ("APAC", "91", "INR", "en-IN", ["Aarav", "Diya", "Vihaan", "Ananya", "Arjun", "Isha", "Rohan", "Priya"],
           ["Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair"],
           ["Mumbai", "Bengaluru", "Delhi", "Chennai", "Pune"]),
}
INDUSTRIES = ("software", "manufacturing", "retail", "financial services", "healthcare", "government", "education",
              "logistics", "energy", "telecommunications", "hospitality", "construction")
ORG_WORDS = ("Nordic", "Global", "Blue", "Summit", "Pioneer", "Apex", "Crystal", "Evergreen", "Golden", "Harbor",
             "Iron", "Lumen", "Meridian", "Northstar", "Orion", "Quantum", "Redwood", "Silver", "Terra", "Vertex")
ORG_NOUNS = ("Systems", "Logistics", "Foods", "Energy", "Analytics", "Motors", "Textiles", "Health", "Labs",
             "Trading", "Networks", "Partners", "Works", "Solutions", "Holdings")
LEGAL_FORMS = {"DE": "GmbH", "FR": "SA", "GB": "Ltd", "ES": "S.L.", "SE": "AB", "US": "Inc.", "BR": "Ltda.",
               "CN": "Co., Ltd.", "JP": "K.K.", "IN": "Pvt. Ltd."}
# (share of organizations, employees range): how organization sizes spread.
SIZES = ((0.55, (1, 49)), (0.30, (50, 999)), (0.12, (1000, 9999)), (0.03, (10000, 200000)))
TAGS = ("newsletter", "vip", "partner", "prospect", "churn-risk", "event-2026", "reseller", "key-account")
OWNERS = tuple(f"rep-{i:02d}" for i in range(1, 21))
STREETS = ("Main Street", "Station Road", "Park Avenue", "Harbour Way", "Market Square", "Church Lane", "Mill Road")
DUPLICATE_EVERY = 50
ORGANIZATION_SHARE = 0.3
SUBSIDIARY_SHARE = 0.2  # of organizations
EMPLOYED_SHARE = 0.35  # of persons
ROLES = ("decision maker", "buyer", "finance", "technical contact", "assistant")
REMEMBERED = 1000  # earlier rows a later one may link to (memory stays bounded)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _slug(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalnum())


class Seeder:
    """Generates the rows of ``crm seed``: ``rows(n)`` yields import bodies, deterministic per seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        # Links draw from a stream of their own, so the customers themselves stay what they were.
        self.links = random.Random(f"{seed}-links")
        self._persons: list[dict[str, Any]] = []
        self._organizations: list[str] = []
        self._groups: list[str] = []  # organizations without a parent: subsidiaries hang below them

    def rows(self, count: int) -> Iterator[dict[str, Any]]:
        for n in range(count):
            external_id = f"seed-{self.seed}-{n}"
            if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 and self._persons:
                yield self._duplicate(external_id)
            elif self.random.random() < ORGANIZATION_SHARE:
                yield self._in_group(self._organization(external_id, n))
            else:
                person = self._employed(self._person(external_id, n))
                if len(self._persons) < 1000:
                    self._persons.append(person)
                yield person

    def _in_group(self, organization: dict[str, Any]) -> dict[str, Any]:
        if self._groups and self.links.random() < SUBSIDIARY_SHARE:
            organization["parent_external_id"] = self.links.choice(self._groups)
        elif len(self._groups) < REMEMBERED:
            self._groups.append(organization["external_id"])
        if len(self._organizations) < REMEMBERED:
            self._organizations.append(organization["external_id"])
        return organization

    def _employed(self, person: dict[str, Any]) -> dict[str, Any]:
        if self._organizations and self.links.random() < EMPLOYED_SHARE:
            person["organization_external_id"] = self.links.choice(self._organizations)
            person["organization_role"] = self.links.choice(ROLES)
        return person

    def _place(self) -> tuple[str, tuple[str, str, str, str, list[str], list[str], list[str]]]:
        country = self.random.choice(tuple(REGIONS))
        return country, REGIONS[country]

    def _phone(self, code: str) -> str:
        return f"+{code}{self.random.randint(10**8, 10**9 - 1)}"

    def _address(self, country: str, cities: list[str]) -> dict[str, Any]:
        return {"line1": f"{self.random.randint(1, 250)} {self.random.choice(STREETS)}",
                "city": self.random.choice(cities), "postal_code": f"{self.random.randint(10000, 99999)}",
                "country": country, "primary": True}

    def _money(self, low: int, high: int, currency: str) -> dict[str, str]:
        amount = self.random.randint(low, high)
        return {"amount": str(amount) if currency == "JPY" else f"{amount}.00", "currency": currency}

    def _tags(self) -> list[str]:
        return self.random.sample(TAGS, self.random.choice((0, 0, 1, 1, 2)))

    def _person(self, external_id: str, n: int) -> dict[str, Any]:
        country, (region, code, currency, language, given, family, cities) = self._place()
        given_name, family_name = self.random.choice(given), self.random.choice(family)
        email = f"{_slug(given_name)}.{_slug(family_name)}{n}@{self.random.choice(('example.com', 'mail.example', 'post.example'))}"
        return {"external_id": external_id, "kind": "person", "given_name": given_name, "family_name": family_name,
                "emails": [{"address": email, "primary": True}], "phones": [{"number": self._phone(code), "primary": True}],
                "addresses": [self._address(country, cities)], "country": country, "region": region,
                "preferred_language": language, "preferred_currency": currency, "owner": self.random.choice(OWNERS),
                "tags": self._tags(), "lifetime_value": self._money(0, 5000, currency) if self.random.random() < 0.7
                else None}

    def _organization(self, external_id: str, n: int) -> dict[str, Any]:
        country, (region, code, currency, language, _, _, cities) = self._place()
        name = f"{self.random.choice(ORG_WORDS)} {self.random.choice(ORG_NOUNS)} {n} {LEGAL_FORMS[country]}"
        pick, employees = self.random.random(), 1
        for share, (low, high) in SIZES:
            if pick < share:
                employees = self.random.randint(low, high)
                break
            pick -= share
        else:
            employees = self.random.randint(1, 49)
        domain = f"{_slug(name)[:20]}.example"
        return {"external_id": external_id, "kind": "organization", "organization_name": name,
                "industry": self.random.choice(INDUSTRIES), "employees": employees,
                "annual_revenue": self._money(employees * 50_000, employees * 400_000, currency),
                "emails": [{"address": f"info@{domain}", "primary": True}],
                "phones": [{"number": self._phone(code), "primary": True}],
                "addresses": [self._address(country, cities)], "country": country, "region": region,
                "preferred_language": language, "preferred_currency": currency, "owner": self.random.choice(OWNERS),
                "tags": self._tags(), "credit_limit": self._money(10_000, 1_000_000, currency),
                "lifetime_value": self._money(0, 2_000_000, currency) if self.random.random() < 0.8 else None}

    def _duplicate(self, external_id: str) -> dict[str, Any]:
        """An earlier person again, as another system would have typed them."""
        original = self.random.choice(self._persons)
        twin = dict(original, external_id=external_id, given_name=_ascii(original["given_name"]),
                    family_name=_ascii(original["family_name"]).upper())
        variant = self.random.randrange(3)
        if variant == 0:
            twin["emails"] = [{"address": original["emails"][0]["address"].upper(), "primary": True}]
            twin["phones"] = []
        elif variant == 1:
            number = original["phones"][0]["number"]
            twin["phones"] = [{"number": f"00{number[1:3]} {number[3:6]} {number[6:]}", "primary": True}]
            twin["emails"] = []
        twin["tags"] = ["imported"]
        return twin
