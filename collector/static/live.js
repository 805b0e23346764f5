// The live events page: polls /api/events every second and prepends what is new.
// Everything from events is written with textContent: stored data is shown, never run.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var account = params.get('account') || 'demo';
  var since = 0, count = 0;
  var body = document.querySelector('#events tbody');
  var status = document.getElementById('status');
  document.getElementById('account').value = account;

  // Every event type shows: the fields of its own, for a type with no special line.
  var COMMON = ['id', 'type', 'ts', 'cid', 'sid', 'uid', 'url', 'store_id', 'seq', 'received_at', 'linked', 'ecamp'];

  function own(event) {
    var rest = {};
    Object.keys(event).forEach(function (key) { if (COMMON.indexOf(key) < 0) { rest[key] = event[key]; } });
    return JSON.stringify(rest);
  }

  function detail(event) {
    // The Ometria email campaign of the session, on every event of it.
    return ownDetail(event) + (event.ecamp ? ' · email campaign ' + event.ecamp : '');
  }

  function ownDetail(event) {
    switch (event.type) {
      case 'pageview': return (event.page_type || '(no type)') + ' ' + JSON.stringify(event.page_data);
      case 'identify': return event.email;
      case 'setbasket': return event.basket.size + ' item(s), total ' + event.basket.total + ' ' + (event.basket.currency || '') +
        ' ' + event.basket.items.map(function (i) { return i.product_id + '×' + i.quantity; }).join(', ');
      case 'addtobasket': return event.product_id + ' × ' + event.quantity;
      case 'checkout': return 'stage ' + event.stage;
      case 'transaction': return 'order ' + event.order_id;
      case 'custom': return event.custom_type + ' ' + JSON.stringify(event.data);
      default: return own(event);
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
    fetch(url, {cache: 'no-store'})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (events) {
        show(events);
        status.textContent = 'Account ' + account + ': ' + count + ' event(s) shown; refreshed ' + new Date().toLocaleTimeString();
      })
      .catch(function (error) { status.textContent = 'Cannot read events: ' + error.message; })
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();

  // Ended sessions (new ones appended as they come) and triggers (re-read from the oldest one
  // still pending or retrying, so that delivery states move on screen).
  var sessionsBody = document.querySelector('#sessions tbody');
  var triggersBody = document.querySelector('#triggers tbody');
  var sessionsSince = 0, triggersFrom = 0, triggerRows = {};

  function read(route, since) {
    return fetch('/api/' + route + '?account=' + encodeURIComponent(account) + '&since=' + since + '&limit=500',
                 {cache: 'no-store'})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); });
  }

  function showSessions(list) {
    list.forEach(function (s) {
      var row = document.createElement('tr');
      cell(row, String(s.seq));
      cell(row, new Date(s.ended_at).toLocaleTimeString());
      cell(row, s.uid || '(anonymous)');
      cell(row, String(s.pageviews));
      cell(row, s.products_viewed.join(', '), 'detail');
      cell(row, s.basket ? s.basket.items.length + ' line(s) ' + (s.basket.url || '') : '', 'detail');
      cell(row, s.transactions.join(', '));
      cell(row, String(s.late_events));
      // Why a session started no trigger (a bot's, with the reason its requests or events gave).
      cell(row, s.no_trigger ? 'none: ' + s.no_trigger + (s.bot ? ' (' + s.bot + ')' : '') : 'started',
           s.bot ? 'bot' : '');
      sessionsBody.insertBefore(row, sessionsBody.firstChild);
      sessionsSince = Math.max(sessionsSince, s.seq);
    });
  }

  function showTriggers(list) {
    var open = null;
    list.forEach(function (t) {
      var row = document.createElement('tr');
      var d = t.delivery;
      cell(row, String(t.seq));
      cell(row, new Date(t.created_at).toLocaleTimeString());
      cell(row, t.type);
      cell(row, t.session.uid || '');
      cell(row, d.state, 'state-' + d.state);
      cell(row, String(d.attempts));
      cell(row, d.last_status ? 'HTTP ' + d.last_status : (d.last_error || ''));
      cell(row, t.id, 'ids');
      var old = triggerRows[t.seq];
      if (old) { triggersBody.replaceChild(row, old); } else { triggersBody.insertBefore(row, triggersBody.firstChild); }
      triggerRows[t.seq] = row;
      if ((d.state === 'pending' || d.state === 'retrying') && open === null) { open = t.seq - 1; }
      if (open === null) { triggersFrom = t.seq; }
    });
    if (open !== null) { triggersFrom = open; }
  }

  function pollEnded() {
    read('sessions', sessionsSince).then(showSessions)
      .then(function () { return read('triggers', triggersFrom); }).then(showTriggers)
      .catch(function () { /* the events status line says what is wrong */ })
      .then(function () { setTimeout(pollEnded, 2000); });
  }
  pollEnded();
})();
