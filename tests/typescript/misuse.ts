// Mistakes the declarations must refuse (each line is one error).
ometria.trackAddToBasket();
ometria.setBasket('not a basket');
ometria.identify(42);
new ometria.Basket().setTotal(10, 'GBP').nope();
export {};
