/* The demo's stand-in for Shopify's web pixel host, on the Shopify flavour's checkout and thank-you
   pages (where Shopify runs no theme script). As Shopify does, it runs the account's custom pixel
   (/tags/<account>.shopify-pixel.js) in an <iframe sandbox="allow-scripts"> (an opaque origin),
   gives it the pixel API's globals (analytics, browser, init, customerPrivacy), answers its
   asynchronous cookie and localStorage calls on this page's own, and publishes the checkout's
   customer events to it. A form marked data-pixel-event publishes its event before it is
   submitted (Shopify's checkout is one page; this demo's steps are several). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("shopify-pixel").textContent);
  var frame = document.createElement("iframe");
  var waiting = {};
  var sequence = 0;

  // What runs in the sandbox before the pixel: the pixel API, over postMessage to this page.
  function standIn(init) {
    var calls = {}, subscribers = [], privacy = [], next = 0;
    function call(op, args) {
      return new Promise(function (resolve) {
        next += 1;
        calls[next] = resolve;
        parent.postMessage({om: "call", id: next, op: op, args: args}, "*");
      });
    }
    window.analytics = {subscribe: function (name, callback) { subscribers.push([name, callback]); }};
    window.browser = {
      cookie: {get: function (name) { return call("cookie.get", [name]); },
               set: function (text) { return call("cookie.set", [text]); }},
      localStorage: {getItem: function (key) { return call("ls.get", [key]); },
                     setItem: function (key, value) { return call("ls.set", [key, value]); },
                     removeItem: function (key) { return call("ls.remove", [key]); }}
    };
    window.init = init;
    // Opaque origins refuse cookies and storage; where Shopify's sandbox refuses locks, reading
    // them throws: so here.
    try {
      Object.defineProperty(navigator, "locks", {get: function () { throw new DOMException("sandboxed", "SecurityError"); }});
    } catch (e) { /* an engine that will not: its locks refuse on use */ }
    window.customerPrivacy = {subscribe: function (name, callback) { privacy.push(callback); }};
    window.addEventListener("message", function (message) {
      var data = message.data || {};
      if (data.om === "answer" && calls[data.id]) {
        calls[data.id](data.value);
        delete calls[data.id];
      } else if (data.om === "event") {
        subscribers.forEach(function (s) {
          if (s[0] === data.event.name || s[0] === "all_events" || s[0] === "all_standard_events") { s[1](data.event); }
        });
        // The pixel records at once and sends on its next task: answer after that.
        setTimeout(function () { parent.postMessage({om: "ack", ack: data.ack}, "*"); }, 100);
      }
    });
  }

  function readCookie(name) {
    var found = document.cookie.split("; ").filter(function (part) { return part.indexOf(name + "=") === 0; })[0];
    return found ? found.slice(name.length + 1) : "";
  }

  var operations = {
    "cookie.get": function (args) { return readCookie(args[0]); },
    "cookie.set": function (args) { document.cookie = args[0]; return null; },
    "ls.get": function (args) { return localStorage.getItem(args[0]); },
    "ls.set": function (args) { localStorage.setItem(args[0], args[1]); return null; },
    "ls.remove": function (args) { localStorage.removeItem(args[0]); return null; }
  };

  window.addEventListener("message", function (message) {
    var data = message.data || {};
    if (message.source !== frame.contentWindow) { return; }
    if (data.om === "call" && operations[data.op]) {
      frame.contentWindow.postMessage({om: "answer", id: data.id, value: operations[data.op](data.args)}, "*");
    } else if (data.om === "ack" && waiting[data.ack]) {
      waiting[data.ack]();
      delete waiting[data.ack];
    }
  });

  var ready = new Promise(function (resolve) { frame.addEventListener("load", resolve); });

  function publish(name, data) {
    sequence += 1;
    var ack = sequence;
    var event = {id: "demo-" + Date.now() + "-" + ack, clientId: "demo-client", name: name, seq: ack,
                 timestamp: new Date().toISOString(), data: data || {},
                 context: {document: {location: {href: location.href}, referrer: document.referrer, title: document.title}}};
    return ready.then(function () {
      return new Promise(function (resolve) {
        waiting[ack] = resolve;
        setTimeout(resolve, 2000);
        frame.contentWindow.postMessage({om: "event", event: event, ack: ack}, "*");
      });
    });
  }

  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("title", "Shopify web pixel (demo)");
  frame.id = "web-pixel";
  frame.hidden = true;
  frame.srcdoc = "<script>(" + standIn.toString() + ")(" + JSON.stringify(config.init).replace(/</g, "\\u003c") +
    ");<\/script><script src=\"" + new URL(config.pixel, location.href).href + "\"><\/script>";
  document.body.appendChild(frame);

  (config.onLoad || []).forEach(function (event) { publish(event.name, event.data); });
  Array.prototype.forEach.call(document.querySelectorAll("form[data-pixel-event]"), function (form) {
    form.addEventListener("submit", function (submit) {
      if (form.dataset.published) { return; }
      submit.preventDefault();
      var checkout = JSON.parse(JSON.stringify(config.checkout));
      var email = form.querySelector("input[type=email]");
      if (email) { checkout.email = email.value; }
      Promise.all(form.dataset.pixelEvent.split(" ").map(function (name) {
        return publish(name, {checkout: checkout});
      })).then(function () {
        form.dataset.published = "1";
        form.submit();
      });
    });
  });
}());
