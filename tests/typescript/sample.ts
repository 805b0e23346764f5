// A store integration written against types/ometria.d.ts; `tsc --strict` must accept it.
// (tests/unit/test_typescript.py compiles it, and a file of misuses it must refuse.)

ometria.init('product', { pid: '11111' }, 'uk');
ometria.init('homepage');
ometria.init(null);
ometria.init();
ometria.identify('shopper@example.com', { name: 'A Shopper' });
ometria.identify('omid:42');

const basket = new ometria.Basket();
basket.setId('R123').setTotal('£59.97', 'GBP').addLineItem('2001', 2, 39.98).addLineItem(2002, '1', 19.99, '2002-M', { size: 'M' });
basket.setURL('https://shop.example/cart');
ometria.setBasket(basket);
const again: OmetriaBasket | null = ometria.getBasket();
const size: number = window.ometria.basket ? window.ometria.basket.size : 0;

ometria.trackAddToBasket(4521, '2');
ometria.trackCheckout(2);
ometria.trackCheckout('payment');
ometria.trackTransaction('000000145', { coupon: 'SPRING' });
ometria.track('wishlist', { pid: '1001' }, () => undefined);
ometria.viewProduct(2002);
ometria.setProfileData({ first_name: 'Ada' });
const who: string | null = ometria.getIdentity();
const fresh: boolean = ometria.isNewVisitor();
ometria.observeEmailInputs('#newsletter input[type=email]');
const snapshot = ometria._debug();
const session: string = snapshot.sessionId;
ometria.setConsent(true);
ometria.forget();

window.ometria.raw_data = { type: 'product', store: 1, data: { id: '1001' } };
window.onOmetriaLoaded = () => { ometria.init(); };

export { again, fresh, session, size, who };
