// Runs in every document before its own scripts (main world). It keeps
// track of what the page still has to do (timers, animation frames, idle
// callbacks, fetch/XHR and body reads, scheduler tasks, script elements
// not yet run) and when it last
// did something (a callback ran, the DOM changed). The crawler asks
// `idle(remaining)`: true only when nothing can happen in the `remaining`
// milliseconds of the settle window, so reading the page now gives what
// reading it at the end of the window would. Whatever it cannot follow (a
// worker, a socket, a frame, a timed refresh) makes the answer false: the
// page then waits the whole window.
(() => {
  const key = Symbol.for('crawler.idle');
  if (window[key]) return;
  const QUIET_MS = 50;
  const MARGIN_MS = 20;
  const now = () => performance.now();
  const timers = new Map();
  const intervals = new Set();
  const frames = new Set();
  const idles = new Set();
  let pending = 0;
  let last = now();
  let blocked = '';
  const touch = () => { last = now(); };

  const wrapCallback = (callback, done) => {
    if (typeof callback !== 'function') return callback;
    return function () {
      done();
      touch();
      try { return callback.apply(this, arguments); } finally { touch(); }
    };
  };
  const track = (promise) => {
    pending++;
    touch();
    const settled = () => { pending--; touch(); };
    Promise.resolve(promise).then(settled, settled);
    return promise;
  };

  const setTimeout0 = window.setTimeout;
  const clearTimeout0 = window.clearTimeout;
  const setInterval0 = window.setInterval;
  const clearInterval0 = window.clearInterval;
  const forget = (id) => { timers.delete(id); intervals.delete(id); };
  window.setTimeout = function setTimeout(callback, delay, ...rest) {
    let id;
    const due = now() + Math.max(0, Number(delay) || 0);
    if (typeof callback === 'function') {
      id = setTimeout0.call(window, wrapCallback(callback, () => timers.delete(id)), delay, ...rest);
    } else {
      id = setTimeout0.call(window, callback, delay, ...rest);
      const after = () => { timers.delete(id); touch(); };
      setTimeout0.call(window, after, delay);
    }
    timers.set(id, due);
    return id;
  };
  window.setInterval = function setInterval(callback, delay, ...rest) {
    const id = setInterval0.call(window, wrapCallback(callback, () => {}), delay, ...rest);
    intervals.add(id);
    return id;
  };
  window.clearTimeout = function clearTimeout(id) { forget(id); return clearTimeout0.call(window, id); };
  window.clearInterval = function clearInterval(id) { forget(id); return clearInterval0.call(window, id); };

  const pair = (request, cancel, set) => {
    const request0 = window[request];
    const cancel0 = window[cancel];
    if (typeof request0 !== 'function') return;
    window[request] = function (callback, ...rest) {
      let id;
      id = request0.call(window, wrapCallback(callback, () => set.delete(id)), ...rest);
      set.add(id);
      return id;
    };
    window[cancel] = function (id) { set.delete(id); return cancel0.call(window, id); };
  };
  pair('requestAnimationFrame', 'cancelAnimationFrame', frames);
  pair('requestIdleCallback', 'cancelIdleCallback', idles);

  const fetch0 = window.fetch;
  if (typeof fetch0 === 'function') {
    window.fetch = function fetch() { return track(fetch0.apply(this, arguments)); };
  }
  if (window.Response) {
    for (const name of ['json', 'text', 'arrayBuffer', 'blob', 'formData', 'bytes']) {
      const read0 = Response.prototype[name];
      if (typeof read0 !== 'function') continue;
      Response.prototype[name] = function () { return track(read0.apply(this, arguments)); };
    }
  }
  if (window.XMLHttpRequest) {
    const send0 = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function send() {
      let isPending = true;
      const done = () => { if (isPending) { isPending = false; pending--; touch(); } };
      pending++;
      touch();
      this.addEventListener('loadend', done, { once: true });
      try { return send0.apply(this, arguments); } catch (error) { done(); throw error; }
    };
  }
  if (window.scheduler && typeof scheduler.postTask === 'function') {
    const postTask0 = scheduler.postTask;
    scheduler.postTask = function postTask() { return track(postTask0.apply(this, arguments)); };
  }
  for (const name of ['Worker', 'SharedWorker', 'WebSocket', 'EventSource', 'BroadcastChannel', 'WebTransport', 'RTCPeerConnection']) {
    const Type = window[name];
    if (typeof Type !== 'function') continue;
    window[name] = new Proxy(Type, {
      construct(target, args, newTarget) { blocked = name; return Reflect.construct(target, args, newTarget); },
    });
  }
  const postMessage0 = window.postMessage;
  window.postMessage = function postMessage() { touch(); return postMessage0.apply(this, arguments); };
  if (window.MessagePort) {
    const portPost0 = MessagePort.prototype.postMessage;
    MessagePort.prototype.postMessage = function postMessage() { touch(); return portPost0.apply(this, arguments); };
  }
  window.addEventListener('message', touch, true);
  // A script element runs after its request; it is done at its load or
  // error event (captured on the document: they do not bubble, and an
  // element's load event never reaches the window).
  const scriptsDone = new WeakSet();
  const scriptDone = (event) => {
    if (event.target instanceof HTMLScriptElement) { scriptsDone.add(event.target); touch(); }
  };
  document.addEventListener('load', scriptDone, true);
  document.addEventListener('error', scriptDone, true);
  const runs = (script) => {
    const type = (script.getAttribute('type') || '').trim().toLowerCase();
    return script.src && !script.noModule
      && ['', 'module', 'text/javascript', 'application/javascript', 'text/ecmascript', 'application/ecmascript'].includes(type);
  };
  const scriptPending = () => {
    for (const script of document.scripts) {
      if (runs(script) && !scriptsDone.has(script)) return true;
    }
    return false;
  };
  new MutationObserver(touch).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });

  const untracked = 'iframe, frame, object, embed, meta[http-equiv="refresh" i]';
  const idle = (remaining) => {
    const at = now();
    if (blocked || document.readyState !== 'complete') return false;
    if (pending > 0 || intervals.size || frames.size || idles.size) return false;
    if (at - last < QUIET_MS) return false;
    for (const due of timers.values()) {
      if (due <= at + remaining + MARGIN_MS) return false;
    }
    if (document.querySelector(untracked) || scriptPending()) return false;
    if (document.getAnimations && document.getAnimations().some((a) => a.playState === 'running')) return false;
    return true;
  };
  Object.defineProperty(window, key, { value: { idle } });
})();
