"""The demo store's catalogue: twelve products in three categories, each with variants, and the
cart and order arithmetic. Data only; no web framework here."""

from __future__ import annotations

from dataclasses import dataclass

STORE_ID = 'uk'
CURRENCY = 'GBP'


@dataclass(frozen=True)
class Variant:
    variant_id: str
    label: str


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price_pence: int
    colour: str
    shape: str
    variants: tuple[Variant, ...]
    blurb: str

    @property
    def price(self) -> float:
        return self.price_pence / 100

    def variant(self, variant_id: str | None) -> Variant | None:
        return next((v for v in self.variants if v.variant_id == variant_id), None)


def sizes(product_id: str, labels: str) -> tuple[Variant, ...]:
    return tuple(Variant(f'{product_id}-{label}', label) for label in labels.split())


CATEGORIES = {
    'boots': 'Boots',
    'jackets': 'Jackets',
    'bags': 'Bags',
}

PRODUCTS = [
    Product('1001', 'Fell walking boot', 'boots', 12900, '#8d5524', 'boot', sizes('1001', '40 41 42 43 44'),
            'Waxed leather, a grippy sole and a padded collar for long days on the hill.'),
    Product('1002', 'City chelsea boot', 'boots', 9900, '#3e2723', 'boot', sizes('1002', '38 39 40 41'),
            'Elastic sides, a stacked heel and a finish that shrugs off the rain.'),
    Product('1003', 'Trail runner', 'boots', 8500, '#1e88e5', 'boot', sizes('1003', '39 40 41 42 43'),
            'Light, quick-drying and springy underfoot.'),
    Product('1004', 'Snow boot', 'boots', 11500, '#546e7a', 'boot', sizes('1004', '37 38 39 40'),
            'Fleece-lined and warm to minus twenty.'),
    Product('2001', 'Storm shell jacket', 'jackets', 18900, '#c62828', 'jacket', sizes('2001', 'S M L XL'),
            'Three-layer waterproof shell with taped seams and a helmet-sized hood.'),
    Product('2002', 'Down puffer', 'jackets', 15900, '#283593', 'jacket', sizes('2002', 'S M L'),
            '700-fill responsibly sourced down that packs into its own pocket.'),
    Product('2003', 'Field jacket', 'jackets', 12500, '#558b2f', 'jacket', sizes('2003', 'M L XL'),
            'Waxed cotton, four pockets and a corduroy collar.'),
    Product('2004', 'Fleece mid-layer', 'jackets', 6500, '#f9a825', 'jacket', sizes('2004', 'XS S M L'),
            'Recycled polyester fleece that breathes on the climb.'),
    Product('3001', 'Canvas rucksack', 'bags', 7900, '#6d4c41', 'bag', (Variant('3001-olive', 'Olive'),
                                                                        Variant('3001-navy', 'Navy')),
            '25 litres, a padded laptop sleeve and leather straps.'),
    Product('3002', 'Weekender holdall', 'bags', 11900, '#4e342e', 'bag', (Variant('3002-tan', 'Tan'),
                                                                           Variant('3002-black', 'Black')),
            'Fits the overhead locker and a long weekend.'),
    Product('3003', 'Sling bag', 'bags', 3900, '#00897b', 'bag', (Variant('3003-teal', 'Teal'),
                                                                  Variant('3003-grey', 'Grey')),
            'Keys, phone, wallet, snacks: sorted.'),
    Product('3004', 'Dry bag set', 'bags', 2900, '#ef6c00', 'bag', (Variant('3004-3', 'Set of 3'),
                                                                    Variant('3004-5', 'Set of 5')),
            'Roll-top, seam-welded, in three bright sizes.'),
]
BY_ID = {p.product_id: p for p in PRODUCTS}


def product(product_id: str) -> Product | None:
    return BY_ID.get(product_id)


def in_category(category: str) -> list[Product]:
    return [p for p in PRODUCTS if p.category == category]


def search(query: str) -> list[Product]:
    words = [w for w in query.lower().split() if w]
    if not words:
        return []
    return [p for p in PRODUCTS if all(w in f'{p.name} {p.category} {p.blurb}'.lower() for w in words)]


def money(pence: int) -> str:
    return f'£{pence / 100:,.2f}'


def cart_lines(cart: list[dict]) -> list[dict]:
    """Cart entries ({'sku', 'pid', 'qty'}) joined with the catalogue; unknown ones dropped."""
    lines = []
    for entry in cart:
        item = product(str(entry.get('pid', '')))
        qty = entry.get('qty')
        if item is None or not isinstance(qty, int) or qty < 1:
            continue
        variant = item.variant(entry.get('sku'))
        lines.append({
            'sku': variant.variant_id if variant else item.product_id,
            'pid': item.product_id,
            'name': item.name + (f' ({variant.label})' if variant else ''),
            'qty': qty,
            'unit_pence': item.price_pence,
            'line_pence': item.price_pence * qty,
        })
    return lines


def cart_summary(cart: list[dict], cart_id: str) -> dict:
    """The cart as the store's pages and API show it (and as its Basket is built from)."""
    lines = cart_lines(cart)
    return {
        'id': cart_id,
        'currency': CURRENCY,
        'total': sum(line['line_pence'] for line in lines) / 100,
        'count': sum(line['qty'] for line in lines),
        'lines': [{**line, 'unit': line['unit_pence'] / 100, 'line': line['line_pence'] / 100} for line in lines],
    }
