// The live events page: polls /api/events every second and prepends what is new.
// Everything from events is written with textContent: stored data is shown, never run.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var account = params.get('account') || 'demo';
  var token = params.get('token');
  var since = 0, count = 0;
  var body = document.querySelector('#events tbody');
  var status = document.getElementById('status');
  document.getElementById('account').value = account;

  function detail(event) {
    switch (event.type) {
      case 'pageview': return (event.page_type || '(no type)') + ' ' + JSON.stringify(event.page_data);
      case 'identify': return event.email;
      case 'setbasket': return event.basket.size + ' item(s), total ' + event.basket.total + ' ' + (event.basket.currency || '') +
        ' ' + event.basket.items.map(function (i) { return i.product_id + '×' + i.quantity; }).join(', ');
      case 'addtobasket': return event.product_id + ' × ' + event.quantity;
      case 'checkout': return 'stage ' + event.stage;
      case 'transaction': return 'order ' + event.order_id;
      default: return '';
    }
  }

  function cell(row, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
  }

  function show(events) {
    events.forEach(function (event) {
      var row = document.createElement('tr');
      row.className = 'fresh';
      cell(row, String(event.seq));
      cell(row, new Date(event.received_at).toLocaleTimeString());
      cell(row, event.type);
      cell(row, detail(event), 'detail');
      cell(row, event.cid.slice(0, 8) + ' / ' + event.sid.slice(0, 8), 'ids');
      cell(row, event.uid || '');
      cell(row, event.url, 'url');
      body.insertBefore(row, body.firstChild);
      setTimeout(function () { row.className = ''; }, 1500);
      since = Math.max(since, event.seq);
      count += 1;
    });
  }

  function poll() {
    var url = '/api/events?account=' + encodeURIComponent(account) + '&since=' + since + '&limit=500';
    fetch(url, {cache: 'no-store', headers: token ? {'Authorization': 'Bearer ' + token} : {}})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (events) {
        show(events);
        status.textContent = 'Account ' + account + ': ' + count + ' event(s) shown; refreshed ' + new Date().toLocaleTimeString();
      })
      .catch(function (error) { status.textContent = 'Cannot read events: ' + error.message; })
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
