"""Demo data: realistic customers, the same ones for the same seed.

Plain Python. Persons and organizations across regions, industries and sizes, with
e-mails, phones, addresses, tags, owners and lifetime values. About one row in
fifty is a *planted duplicate* of an earlier person (the same person written
differently: other case, other phone formatting, accents dropped), for duplicate
detection to find. Each row carries the external id ``seed-<seed>-<n>``, so seeding
twice with the same seed creates nothing new. Groups form as in life: about one
organization in five is a subsidiary of an earlier one, and about a third of the
persons work for an earlier organization, with a role; rows link by external id,
the way an import file does.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from typing import Any

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
