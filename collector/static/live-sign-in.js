// The live page's sign-in: the token is read from the address's fragment (never sent in a URL),
// POSTed once as JSON for the page's cookie, and the page reloads without it.
(function () {
  'use strict';
  var found = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!found) { return; }
  var token = decodeURIComponent(found[1]);
  var status = document.getElementById('status');
  history.replaceState(null, '', location.pathname + location.search);
  fetch('/live/session', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token: token}),
                          credentials: 'same-origin', cache: 'no-store'})
    .then(function (r) {
      if (r.status === 204) { location.replace(location.pathname + location.search); return; }
      status.textContent = r.status === 401 ? 'Wrong token.' : 'Sign-in failed: HTTP ' + r.status;
    })
    .catch(function (error) { status.textContent = 'Sign-in failed: ' + error.message; });
})();
