// The demo store's own script: cart actions over AJAX, and the tag calls that go with them,
// written the way store themes write them. Loaded before the tag in the Magento flavour, so
// every call checks that the tag is there.
(function () {
  'use strict';
  var root = document.documentElement;
  var flavour = root.getAttribute('data-flavour');
  var prefix = root.getAttribute('data-prefix') || '';

  function tag() { return window.ometria && typeof window.ometria.setBasket === 'function' ? window.ometria : null; }

  var DemoStore = window.DemoStore = {
    // Rebuild the whole basket from the cart and hand it to the tag (it sends only changes).
    sendBasket: function (cart) {
      var ometria = tag();
      // The Magento flavour's basket reaches the tag through the ommage cookie, the Shopify
      // flavour's through its data layer, not from here.
      if (!ometria || !cart || flavour !== 'plain') { return; }
      var basket = new ometria.Basket();
      basket.setId(cart.id);
      basket.setTotal(cart.total, cart.currency);
      cart.lines.forEach(function (line) { basket.addLineItem(line.pid, line.qty, line.unit, line.sku); });
      basket.setUrl(location.origin + prefix + '/basket');
      ometria.setBasket(basket);
    },
    cart: function (change) {
      change.flavour = flavour;
      return fetch('/api/cart', {method: 'POST', body: JSON.stringify(change), credentials: 'same-origin',
                                 headers: {'Content-Type': 'application/json'}})
        .then(function (response) { return response.json(); })
        .then(function (cart) {
          var count = document.getElementById('basket-count');
          if (count) { count.textContent = String(cart.count); }
          DemoStore.sendBasket(cart);
          return cart;
        });
    }
  };

  function money(value) { return '\u00a3' + value.toFixed(2); }

  function onAdd(event) {
    event.preventDefault();
    var form = event.target;
    var pid = form.getAttribute('data-pid');
    var qty = form.querySelector('#qty').value;      // a string, as stores pass it
    var sku = form.querySelector('#variant').value;
    var ometria = tag();
    if (ometria) { ometria.trackAddToBasket(pid, qty); }
    DemoStore.cart({action: 'add', pid: pid, sku: sku, qty: qty}).then(function () {
      var added = document.getElementById('added');
      added.hidden = false;
      added.setAttribute('data-done', String(Date.now()));
    });
  }

  function onVariant(event) {
    // Magento's configurable products: the child becomes the page's product, and init() is called again.
    var ometria = window.ometria;
    if (flavour !== 'magento' || !ometria || !ometria.raw_data || !ometria.raw_data.product_map) { return; }
    var child = ometria.raw_data.product_map[event.target.value];
    if (child && typeof ometria.init === 'function') {
      ometria.raw_data.data = child;
      ometria.init();
    }
  }

  function redrawCart(cart) {
    var total = document.getElementById('cart-total');
    if (total) { total.textContent = money(cart.total); }
    Array.prototype.forEach.call(document.querySelectorAll('#cart tbody tr'), function (row) {
      var line = cart.lines.filter(function (l) { return l.sku === row.getAttribute('data-sku'); })[0];
      if (!line) { row.parentNode.removeChild(row); return; }
      row.querySelector('.qty').value = String(line.qty);
      row.cells[2].textContent = money(line.line);
    });
    document.getElementById('cart').setAttribute('data-updated', String(Date.now()));
  }

  function onCartInput(event) {
    var row = event.target.closest('tr');
    if (!row) { return; }
    var change = {pid: row.getAttribute('data-pid'), sku: row.getAttribute('data-sku')};
    if (event.target.classList.contains('remove')) {
      change.action = 'remove';
    } else if (event.target.classList.contains('qty')) {
      change.action = 'set';
      change.qty = event.target.value;
    } else {
      return;
    }
    DemoStore.cart(change).then(redrawCart);
  }

  function onNewsletter(event) {
    event.preventDefault();
    var email = event.target.querySelector('input[name=EMAIL]').value;
    fetch('/api/newsletter', {method: 'POST', body: JSON.stringify({email: email, flavour: flavour}),
                              headers: {'Content-Type': 'application/json'}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        // No identify here: the box is a Mailchimp-style signup form, which the tag identifies
        // from by itself (the Magento flavour's server says so through its ommage cookie).
        document.getElementById('newsletter-done').hidden = false;
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var add = document.getElementById('add-to-basket');
    if (add) { add.addEventListener('submit', onAdd); add.querySelector('#variant').addEventListener('change', onVariant); }
    var cart = document.getElementById('cart');
    if (cart) { cart.addEventListener('change', onCartInput); cart.addEventListener('click', onCartInput); }
    var newsletter = document.getElementById('newsletter');
    if (newsletter) { newsletter.addEventListener('submit', onNewsletter); }
  });
})();
