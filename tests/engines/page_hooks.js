// Test-only page hooks, the same in every engine (served to test pages as /engine-hooks.js, first
// in the head): the page's uncaught errors and console messages are kept for the test to read,
// and a virtual clock stands in for Date.now and timers while a vector runs.
(function () {
  'use strict';
  var w = window;
  w.__errors = [];
  w.addEventListener('error', function (e) { w.__errors.push(String(e.message)); });
  w.addEventListener('unhandledrejection', function (e) { w.__errors.push('unhandled: ' + String(e.reason)); });

  // Every driver here sets navigator.webdriver, and the tag would mark each event automated: the
  // pages stand for a shopper's browser (a vector's page with "automated": true sets it back).
  try {
    Object.defineProperty(navigator, 'webdriver', {configurable: true, get: function () { return false; }});
  } catch (e) {}

  w.__console = [];
  ['log', 'info', 'warn', 'error', 'debug'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      var args = Array.prototype.slice.call(arguments);
      var copy;
      try { copy = JSON.parse(JSON.stringify(args)); } catch (e) { copy = args.map(String); }
      w.__console.push({level: level, text: args.map(function (a) { return typeof a === 'string' ? a : ''; }).join(' '),
                        args: copy});
      return original.apply(console, arguments);
    };
  });

  // The virtual clock: installed with `__clock.install(ms)` (paused at `ms`), moved by
  // `advance(ms)` (due timers fire in time order, as the CPython fakes' clock does), and let go
  // with `resume()` (time runs on from the virtual time; pending timers are handed to the real ones).
  var RealDate = Date, realSetTimeout = w.setTimeout, realClearTimeout = w.clearTimeout;
  var WEBDRIVER_SCRIPT_TIMEOUT_MS = 31337;  // tests/engines/drivers.py sets this one
  var virtualNow = null, offset = 0, timers = [], nextId = 1e9, realIds = {};
  function now() { return virtualNow !== null ? virtualNow : RealDate.now() + offset; }
  function FakeDate(a, b, c, d, e, f, g) {
    if (!(this instanceof FakeDate)) { return new RealDate(now()).toString(); }
    switch (arguments.length) {
      case 0: return new RealDate(now());
      case 1: return new RealDate(a);
      default: return new RealDate(a, b, c === undefined ? 1 : c, d || 0, e || 0, f || 0, g || 0);
    }
  }
  FakeDate.prototype = RealDate.prototype;
  FakeDate.now = now;
  FakeDate.UTC = RealDate.UTC;
  FakeDate.parse = RealDate.parse;
  function fakeSetTimeout(callback, delay) {
    var args = Array.prototype.slice.call(arguments, 2);
    var id = nextId++;
    var run = function () { callback.apply(w, args); };
    // WebKit's WebDriver arms its script timeout with the page's setTimeout: that one stays real.
    if (virtualNow === null || delay === WEBDRIVER_SCRIPT_TIMEOUT_MS) {
      realIds[id] = realSetTimeout(function () { delete realIds[id]; run(); }, delay);
    } else {
      timers.push({id: id, at: virtualNow + Math.max(0, Number(delay) || 0), delay: delay, run: run});
    }
    return id;
  }
  function fakeClearTimeout(id) {
    timers = timers.filter(function (t) { return t.id !== id; });
    if (id in realIds) { realClearTimeout(realIds[id]); delete realIds[id]; }
  }
  w.__clock = {
    install: function (startMs) {
      virtualNow = startMs;
      w.Date = FakeDate;
      w.setTimeout = fakeSetTimeout;
      w.clearTimeout = fakeClearTimeout;
    },
    now: now,
    advance: function (ms) {
      var end = virtualNow + ms, fired = 0, delays = {};
      for (;;) {
        var due = timers.filter(function (t) { return t.at <= end; });
        if (!due.length) { break; }
        due.sort(function (x, y) { return x.at - y.at || x.id - y.id; });
        var timer = due[0];
        if (++fired > 20000) {  // a timer that keeps rescheduling itself: say which delay
          throw new Error('runaway timers: ' + JSON.stringify(delays));
        }
        delays[timer.delay] = (delays[timer.delay] || 0) + 1;
        timers = timers.filter(function (t) { return t !== timer; });
        virtualNow = Math.max(virtualNow, timer.at);
        try { timer.run(); } catch (error) { w.__errors.push(String(error)); }
      }
      virtualNow = end;
    },
    resume: function () {
      offset = virtualNow - RealDate.now();
      virtualNow = null;
      var pending = timers;
      timers = [];
      pending.forEach(function (t) {
        realIds[t.id] = realSetTimeout(function () { delete realIds[t.id]; t.run(); }, Math.max(0, t.at - now()));
      });
    }
  };
}());
