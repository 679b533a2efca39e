// The tracker: pageviews (load and single-page-app navigation), custom
// events, outbound links and file downloads, sent as Plausible-compatible
// beacons to /api/event. It sets no cookie and uses no storage, and stays
// silent under DNT/GPC (unless the tag says the site ignores them), with the
// opt-out cookie, and on localhost or file: pages (unless data-local is set).
// Written small by hand and served as is: docs/tracker.md has the attributes.
(function (w, d) {
  'use strict';
  var nav = w.navigator, loc = w.location, script = d.currentScript;
  // Attributes of our own <script> tag.
  function attr(name) {
    return script && script.getAttribute('data-' + name);
  }
  function on(name) {
    var value = attr(name);
    return value != null && value != 'false';
  }
  // The collector replaces this name with its configured optout_cookie.
  var optout = "analytics_optout";
  // Beside the script: /js/script.js -> /api/event, under any path prefix.
  var api = attr('api') || new URL('../api/event', script.src).href;
  var domain = attr('domain') || loc.hostname;
  var hash = on('hash');
  // DNT and GPC count unless the tag says the site ignores them.
  var dnt = attr('respect-dnt') != 'false', gpc = attr('respect-gpc') != 'false';
  var downloads = attr('downloads');
  downloads = downloads ? downloads.split(',') :
    'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg'.split(',');

  // Whether this visit must not be counted at all.
  function silent() {
    return dnt && (nav.doNotTrack == '1' || w.doNotTrack == '1') ||
      gpc && nav.globalPrivacyControl === true ||
      ('; ' + d.cookie).indexOf('; ' + optout + '=') >= 0 ||
      !on('local') && (/^localhost$|^127(\.\d+){0,2}\.\d+$|^\[::1?\]$/.test(loc.hostname) ||
        loc.protocol == 'file:');
  }

  // window.analytics(name, {props, revenue, interactive, callback, u}).
  function track(name, options) {
    options = options || {};
    var callback = options.callback;
    if (silent()) return callback && callback();
    var body = { n: name, u: options.u || loc.href, d: domain, r: d.referrer || null, w: w.innerWidth };
    if (options.props) body.p = options.props;
    if (options.revenue) body.$ = options.revenue;
    if (options.interactive === false) body.i = false;
    if (hash) body.h = 1;
    // A new page view: first the engagement of the one it ends.
    if (name == 'pageview') {
      leave();
      start(body.u);
    }
    send(body, callback);
  }

  function send(body, callback) {
    body = JSON.stringify(body);
    // sendBeacon outlives the page (a click that navigates away); a callback
    // wants the status, which only fetch gives.
    if (!callback && nav.sendBeacon && nav.sendBeacon(api, body)) return;
    w.fetch && fetch(api, { method: 'POST', body: body, keepalive: true }).then(
      function (response) { callback && callback({ status: response.status }); },
      function (error) { callback && callback({ error: error }); });
  }

  // Engagement, as Plausible's tracker reports it: for the page view sent
  // last (url), the time it was visible and focused (ms, plus since
  // `since` while it is) and the deepest point shown (px). Sent when the
  // page is hidden, blurred or left, or a new page view follows, if there
  // is something new: a deeper point, or engaged time. (Plausible's waits
  // for 3 s more, and so loses the last seconds on a page.)
  var url, ms, since, deepest, reported;
  function now() {
    return Date.now();
  }
  function active() {
    return d.visibilityState == 'visible' && d.hasFocus();
  }
  function height() {
    var e = d.documentElement, b = d.body || e;
    return Math.max(e.scrollHeight, e.offsetHeight, e.clientHeight, b.scrollHeight, b.offsetHeight);
  }
  function scrolled() {
    deepest = Math.max(deepest, Math.min(height(), w.scrollY + w.innerHeight));
  }
  function start(u) {
    url = u;
    ms = 0;
    deepest = 0;
    reported = -1;
    since = active() && now();
    scrolled();
  }
  // Banks the running time; `since` is then 0 until the page is active again.
  function pause() {
    if (since) ms += now() - since;
    since = 0;
  }
  function leave() {
    if (!url || silent()) return;
    var running = since;
    pause();
    var depth = Math.min(100, Math.round(deepest * 100 / height()));
    if (depth > reported || ms) {
      reported = depth;
      send({ n: 'engagement', u: url, d: domain, sd: depth, e: ms, h: hash ? 1 : undefined });
      ms = 0;
    }
    if (running) since = now();
  }
  function change() {
    if (active()) since = since || now();
    else leave(), since = 0;
  }

  // One pageview per path (per URL in hash mode), counted once it is seen.
  var last;
  function page() {
    if (!hash && last == loc.pathname) return;
    last = loc.pathname;
    track('pageview');
  }

  // Links: outbound (another host) and downloads (by extension). A beacon
  // survives the navigation, so the click is never delayed.
  function click(event) {
    if (event.type == 'auxclick' && event.button != 1) return;
    var link = event.target.closest && event.target.closest('a[href]');
    if (!link || !/^https?:$/.test(link.protocol)) return;
    var url = link.href.split(/[?#]/)[0];
    if (on('downloads') && downloads.indexOf(url.split('.').pop().toLowerCase()) >= 0) {
      track('File Download', { props: { url: url } });
    } else if (on('outbound') && link.host != loc.host) {
      track('Outbound Link: Click', { props: { url: link.href } });
    }
  }

  // Calls queued by the snippet before this script ran, then the real thing.
  var queued = [].concat((w.analytics && w.analytics.q) || [], (w.plausible && w.plausible.q) || []);
  w.analytics = w.plausible = track;
  for (var i = 0; i < queued.length; i++) track.apply(w, queued[i]);

  var history = w.history, push = history.pushState;
  if (push) {
    history.pushState = function () {
      push.apply(this, arguments);
      page();
    };
    w.addEventListener('popstate', page);
  }
  if (hash) w.addEventListener('hashchange', page);
  d.addEventListener('click', click);
  d.addEventListener('auxclick', click);
  d.addEventListener('scroll', function () { url && scrolled(); });
  d.addEventListener('visibilitychange', change);
  w.addEventListener('blur', change);
  w.addEventListener('focus', change);
  w.addEventListener('pagehide', function () { leave(); since = 0; });

  // A prerendered page counts when it is shown, not when it is fetched.
  if (d.visibilityState == 'prerender') {
    d.addEventListener('visibilitychange', function () {
      if (!last && d.visibilityState == 'visible') page();
    });
  } else {
    page();
  }
})(window, document);
