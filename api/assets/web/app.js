// Patchwork web client: plain ES2020, no framework, no build step, nothing from elsewhere.
// Every string from the API is untrusted: the DOM is built with createElement and text
// nodes only (never innerHTML). The access token lives in a variable only; the refresh
// token is an HttpOnly cookie that this script never sees.

// ---------------------------------------------------------------------------------------
// DOM helpers

const SVGNS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.setAttribute('class', value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) el.dataset[k] = String(v);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An HTML element: h('p', {class: 'x'}, 'text', otherNode). Strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return appendAll(el, children);
}

/** An SVG element, built the same way. */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  return appendAll(el, children);
}

function hidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

// ---------------------------------------------------------------------------------------
// Formatting

const dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? String(iso) : dateFmt.format(d);
}

function formatDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : dateTimeFmt.format(d);
}

function dateTimeEl(iso, fmt = formatDateTime) {
  return iso ? h('time', { datetime: iso }, fmt(iso)) : h('span', null, 'not recorded');
}

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function localDateTimeNow() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function humanise(code) {
  const s = String(code || '').toLowerCase().replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function childName(c) {
  return c ? `${c.givenName} ${c.familyName}` : '';
}

function telHref(phone) {
  return `tel:${String(phone).replace(/[^0-9+]/g, '')}`;
}

function contactLinks(p) {
  const items = [];
  if (p.phone) items.push(h('li', null, 'Phone: ', h('a', { href: telHref(p.phone) }, p.phone)));
  if (p.mobile) items.push(h('li', null, 'Mobile: ', h('a', { href: telHref(p.mobile) }, p.mobile)));
  if (p.email) items.push(h('li', null, 'Email: ', h('a', { href: `mailto:${p.email}` }, p.email)));
  return items.length ? h('ul', { class: 'plain contact' }, items) : null;
}

const AGENCY_KINDS = {
  SOCIAL_CARE: 'Social care', EDUCATION: 'Education', EARLY_YEARS: 'Early years', HEALTH: 'Health',
  POLICE: 'Police', HOUSING: 'Housing', YOUTH: 'Youth service', PROBATION: 'Probation',
  VOLUNTARY: 'Voluntary sector', SUBSTANCE_MISUSE: 'Substance misuse', MENTAL_HEALTH: 'Mental health',
  DOMESTIC_ABUSE: 'Domestic abuse', OTHER: 'Other',
};
const CONTACT_KINDS = [
  ['HOME_VISIT', 'Home visit'], ['OFFICE_VISIT', 'Office visit'], ['SCHOOL_VISIT', 'School visit'],
  ['PHONE', 'Phone call'], ['VIDEO', 'Video call'], ['MEETING', 'Meeting'], ['OTHER', 'Other'],
];
const CONTACT_OUTCOMES = [
  ['HAPPENED', 'Happened'], ['PLANNED', 'Planned'], ['CANCELLED', 'Cancelled'],
  ['WAS_NOT_BROUGHT', 'Was not brought'], ['NO_ACCESS', 'No access'],
];
const NOTIFICATION_KINDS = {
  TEAM_CHANGED: 'Someone joins or leaves a team',
  LEAD_CHANGED: 'The lead professional changes',
  TASK_ASSIGNED: 'A task is assigned to you',
  TASK_COMPLETED: 'A task is completed',
  TASK_OVERDUE: 'A task of yours is overdue',
  CONTACT_MISSED: 'A child was not brought, or there was no access',
  ATTENTION_RAISED: 'A team member raises attention',
  INVITATION: 'Invitations',
  WEBHOOK_DISABLED: 'A webhook endpoint was turned off',
};
const DELIVERIES = [['IMMEDIATE', 'At once'], ['DAILY_DIGEST', 'In a daily digest'], ['OFF', 'Off']];
const RELATIONS = { SIBLING: 'Sibling', PARENT: 'Parent', CARER: 'Carer' };

// ---------------------------------------------------------------------------------------
// Status messages (the aria-live region)

let statusTimer = null;
function announce(message, { error = false } = {}) {
  const region = document.getElementById('status');
  if (!region) return;
  clearTimeout(statusTimer);
  region.textContent = '';
  region.classList.toggle('is-error', error);
  // A fresh text node a moment later, so that the same message is announced again.
  statusTimer = setTimeout(() => { region.textContent = message; }, 50);
}

function clearStatus() {
  const region = document.getElementById('status');
  if (region) { clearTimeout(statusTimer); region.textContent = ''; region.classList.remove('is-error'); }
}

// ---------------------------------------------------------------------------------------
// Errors

class ApiError extends Error {
  constructor(message, code = 'ERROR', fields = [], extra = {}) {
    super(message);
    this.code = code;
    this.fields = fields; // [{field, message}]
    Object.assign(this, extra);
  }
}

function lastSegment(field) {
  const parts = String(field || '').split('.');
  return parts[parts.length - 1];
}

function sentence(msg) {
  const s = String(msg || '').trim();
  if (!s) return 'Something went wrong.';
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

function fromGraphQL(errors) {
  const fields = [];
  const messages = [];
  let code = 'ERROR';
  let retryAfter;
  for (const e of errors) {
    const ext = e.extensions || {};
    if (code === 'ERROR' && ext.code) code = ext.code;
    if (ext.retryAfter !== undefined) retryAfter = ext.retryAfter;
    if (Array.isArray(ext.fields) && ext.fields.length) {
      for (const f of ext.fields) fields.push({ field: lastSegment(f.field), message: f.message });
    } else if (ext.field) {
      fields.push({ field: lastSegment(ext.field), message: e.message });
    } else {
      messages.push(e.message);
    }
  }
  let message = messages.map(sentence).join(' ');
  if (!message) message = fields.length ? 'Check the answers marked below.' : 'Something went wrong.';
  if (code === 'NOT_FOUND' && !messages.length) message = 'Not found.';
  return new ApiError(message, code, fields, { retryAfter });
}

/** Reads a refusal from /web/session or /unsubscribe: an RFC 9457 problem or {error:{...}}. */
async function fromResponse(res) {
  let body = null;
  try { body = await res.json(); } catch (_) { /* no body */ }
  const err = (body && body.error) || body || {};
  const code = err.code || (res.status === 401 ? 'UNAUTHENTICATED' : res.status === 429 ? 'RATE_LIMITED' : 'ERROR');
  const fields = Array.isArray(err.fields) ? err.fields.map((f) => ({ field: lastSegment(f.field), message: f.message })) : [];
  const retryAfter = res.headers.get('Retry-After');
  return new ApiError(sentence(err.message || err.detail || `Patchwork answered ${res.status}`), code, fields, { status: res.status, retryAfter });
}

// ---------------------------------------------------------------------------------------
// Session: the access token in memory, refreshed through the HttpOnly cookie.

const session = { token: null, expiresAt: 0, timer: null, refreshing: null, me: null, offline: false };

function adopt(payload) {
  session.token = payload.accessToken;
  session.expiresAt = Date.parse(payload.expiresAt) || (Date.now() + 5 * 60 * 1000);
  clearTimeout(session.timer);
  const wait = Math.min(Math.max(5000, session.expiresAt - Date.now() - 60 * 1000), 2 ** 31 - 1);
  session.timer = setTimeout(() => { refresh(); }, wait);
}

function forget() {
  session.token = null;
  session.expiresAt = 0;
  session.me = null;
  clearTimeout(session.timer);
}

function sessionFetch(path, body) {
  return fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A new access token from the refresh cookie; true when there is one. One at a time. */
function refresh() {
  if (!session.refreshing) {
    session.refreshing = (async () => {
      try {
        const res = await sessionFetch('/web/session/refresh');
        session.offline = false;
        if (res.ok) { adopt(await res.json()); return true; }
        if (res.status === 401 || res.status === 403) forget();
        return false;
      } catch (_) {
        session.offline = true;
        return false;
      } finally {
        session.refreshing = null;
      }
    })();
  }
  return session.refreshing;
}

async function signIn(email, password) {
  let res;
  try {
    res = await sessionFetch('/web/session', { email, password });
  } catch (_) {
    throw new ApiError('Patchwork cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  if (!res.ok) {
    const err = await fromResponse(res);
    if (res.status === 401) err.message = 'The email address or password is wrong.';
    if (res.status === 429) {
      err.message = err.retryAfter
        ? `Too many attempts. Try again in ${err.retryAfter} seconds.`
        : 'Too many attempts. Try again later.';
    }
    throw err;
  }
  adopt(await res.json());
  await loadMe();
}

async function signOut() {
  try { await sessionFetch('/web/session/logout'); } catch (_) { /* signed out here anyway */ }
  forget();
  navigate('/sign-in', { replace: true });
  announce('You have signed out.');
}

async function loadMe() {
  const data = await gql('query Me { me { id displayName email } }');
  session.me = data.me;
}

/** A GraphQL request; refreshes once and retries when the token has expired. */
async function gql(query, variables = {}, { anonymous = false } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (!anonymous && session.token) headers.Authorization = `Bearer ${session.token}`;
    let res;
    try {
      res = await fetch('/graphql', {
        method: 'POST', headers, credentials: 'same-origin', body: JSON.stringify({ query, variables }),
      });
    } catch (_) {
      throw new ApiError('Patchwork cannot be reached. Check your connection and try again.', 'NETWORK');
    }
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    const errors = (body && Array.isArray(body.errors)) ? body.errors : [];
    const unauthenticated = !anonymous
      && (res.status === 401 || errors.some((e) => e.extensions && e.extensions.code === 'UNAUTHENTICATED'));
    if (unauthenticated) {
      if (attempt === 0 && await refresh()) continue;
      forget();
      throw new ApiError('Your session has ended. Sign in again.', 'UNAUTHENTICATED');
    }
    if (errors.length) throw fromGraphQL(errors);
    if (!res.ok || !body || !body.data) {
      if (res.status === 429) throw new ApiError('Too many requests. Try again shortly.', 'RATE_LIMITED');
      throw new ApiError(`Patchwork answered ${res.status}. Try again.`, 'HTTP');
    }
    return body.data;
  }
}

// ---------------------------------------------------------------------------------------
// Forms

/**
 * A form. fields: [{name, label, type, required, hint, options: [[value, text]], multiline,
 * id, value, autocomplete, attrs}]. onSubmit(values, form) may throw an ApiError; its
 * messages are shown next to the named fields (aria-invalid, aria-describedby) or above the
 * button, and announced.
 */
function makeForm({ id, legend, fields, submit, onSubmit, intro, className, submitClass }) {
  const controls = [];
  const rows = fields.map((spec) => {
    if (spec instanceof Node) return spec;
    const cid = spec.id || `${id}-${spec.name}`;
    let control;
    if (spec.options) {
      control = h('select', { id: cid, name: spec.name, required: spec.required });
      for (const [value, text] of spec.options) control.append(h('option', { value }, text));
    } else if (spec.multiline) {
      control = h('textarea', { id: cid, name: spec.name, required: spec.required, ...(spec.attrs || {}) });
    } else {
      control = h('input', {
        id: cid, name: spec.name, type: spec.type || 'text', required: spec.required,
        autocomplete: spec.autocomplete, ...(spec.attrs || {}),
      });
    }
    if (spec.value !== undefined && spec.value !== null) control.value = spec.value;
    control.dataset.field = spec.name;
    control.dataset.label = spec.label;
    let hintEl = null;
    if (spec.hint) {
      hintEl = h('p', { class: 'hint', id: `${cid}-hint` }, spec.hint);
      control.setAttribute('aria-describedby', hintEl.id);
    }
    controls.push(control);
    const label = h('label', { for: cid }, spec.label, spec.required ? '' : h('span', { class: 'optional' }, ' (optional)'));
    return h('div', { class: 'field' }, label, hintEl, control);
  });
  const errorEl = h('p', { class: 'form-error', id: `${id}-error` });
  const button = h('button', { type: 'submit', class: submitClass }, submit);
  const body = [intro, rows, errorEl, h('div', { class: 'actions' }, button)];
  const form = h('form', { id, class: className, novalidate: true },
    legend ? h('fieldset', null, h('legend', null, legend), body) : body);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const values = {};
    const missing = [];
    for (const control of controls) {
      values[control.name] = control.value.trim();
      if (control.required && !values[control.name]) {
        missing.push({ field: control.name, message: 'is required' });
      }
    }
    if (missing.length) {
      showFormError(form, new ApiError('Check the answers marked below.', 'BAD_USER_INPUT', missing));
      return;
    }
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(values, form);
    } catch (err) {
      if (err && err.code === 'UNAUTHENTICATED' && !form.matches('#sign-in, #set-password')) {
        toSignIn();
        return;
      }
      showFormError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

function clearFormErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const control of form.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    const hint = document.getElementById(`${control.id}-hint`);
    if (hint) control.setAttribute('aria-describedby', hint.id); else control.removeAttribute('aria-describedby');
  }
  const errorEl = form.querySelector('.form-error');
  if (errorEl) errorEl.textContent = '';
}

function showFormError(form, err) {
  const error = err instanceof ApiError ? err : new ApiError(sentence(err && err.message), 'ERROR');
  const spoken = [];
  let firstInvalid = null;
  const unplaced = [];
  for (const f of error.fields || []) {
    const control = [...form.querySelectorAll('[data-field]')].find((c) => c.dataset.field === f.field);
    if (!control) { unplaced.push(`${f.field}: ${f.message}`); continue; }
    const text = `${control.dataset.label} ${f.message}`.replace(/\s+/g, ' ');
    const msgId = `${control.id}-error`;
    let msg = document.getElementById(msgId);
    if (!msg) {
      msg = h('p', { class: 'field-error', id: msgId });
      control.before(msg);
    }
    msg.textContent = sentence(text);
    control.setAttribute('aria-invalid', 'true');
    const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(msgId)) described.push(msgId);
    control.setAttribute('aria-describedby', described.join(' '));
    spoken.push(sentence(text));
    if (!firstInvalid) firstInvalid = control;
  }
  const errorEl = form.querySelector('.form-error');
  const summary = unplaced.length ? `${error.message} ${unplaced.map(sentence).join(' ')}` : error.message;
  if (errorEl) errorEl.textContent = summary;
  announce([summary, ...spoken].join(' '), { error: true });
  if (firstInvalid) firstInvalid.focus();
}

function sectionHeading(id, text) {
  return h('h2', { id, tabindex: '-1' }, text);
}

// ---------------------------------------------------------------------------------------
// Router

const routes = [
  { path: /^\/$/, screen: screenMyChildren, auth: true },
  { path: /^\/sign-in$/, screen: screenSignIn },
  { path: /^\/set-password$/, screen: screenSetPassword },
  { path: /^\/children\/([^/]+)$/, screen: screenTeam, auth: true },
  { path: /^\/children\/([^/]+)\/timeline$/, screen: screenTimeline, auth: true },
  { path: /^\/children\/([^/]+)\/family$/, screen: screenFamilyTeam, auth: true },
  { path: /^\/tasks$/, screen: screenTasks, auth: true },
  { path: /^\/search$/, screen: screenSearch, auth: true },
  { path: /^\/preferences$/, screen: screenPreferences, auth: true },
  { path: /^\/unsubscribe$/, screen: screenUnsubscribe },
];

let renderSeq = 0;
let rendered = '';

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

function safeNext(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/sign-in')) return '/';
  return next;
}

function toSignIn() {
  const here = location.pathname + location.search;
  forget();
  navigate(`/sign-in?next=${encodeURIComponent(here)}`, { replace: true });
  announce('Your session has ended. Sign in again.', { error: true });
}

function normalisePath(path) {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

async function render({ focus = true, focusId = null } = {}) {
  const seq = ++renderSeq;
  const url = new URL(location.href);
  const path = normalisePath(url.pathname);
  rendered = url.pathname + url.search;
  const main = document.getElementById('main');

  let route = null;
  let params = [];
  for (const r of routes) {
    const m = r.path.exec(path);
    if (m) {
      route = r;
      try { params = m.slice(1).map(decodeURIComponent); } catch (_) { route = null; }
      break;
    }
  }

  if (route && route.auth && !session.token && session.offline) {
    renderNav(path);
    document.title = 'Offline – Patchwork';
    const heading = h('h1', { tabindex: '-1' }, 'You are offline');
    main.replaceChildren(heading, h('p', null, 'Patchwork cannot be reached. Check your connection: this page opens again when you are back online.'));
    main.removeAttribute('aria-busy');
    if (focus) heading.focus();
    return;
  }
  if (route && route.auth && !session.token) {
    history.replaceState(null, '', `/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`);
    render({ focus });
    return;
  }
  if (route && route.screen === screenSignIn && session.token) {
    history.replaceState(null, '', safeNext(url.searchParams.get('next')));
    render({ focus });
    return;
  }
  renderNav(path);

  const ctx = {
    seq, url, params, main,
    current: () => seq === renderSeq,
    /** Shows the screen: its h1 first, focused after a navigation. */
    mount(title, ...nodes) {
      return this.mountRoot(null, title, ...nodes);
    },
    /** The same, inside a root element with this id (the h1 included). */
    mountRoot(rootId, title, ...nodes) {
      if (!this.current()) return null;
      document.title = `${title} – Patchwork`;
      const heading = h('h1', { tabindex: '-1' }, title);
      const content = [heading, ...nodes.flat(Infinity).filter(Boolean)];
      if (rootId) main.replaceChildren(h('div', { id: rootId }, content)); else main.replaceChildren(...content);
      main.removeAttribute('aria-busy');
      const target = (focusId && document.getElementById(focusId)) || heading;
      if (focus || focusId) target.focus({ preventScroll: !focus });
      return heading;
    },
    /** Renders this screen again with fresh data, keeping the place. */
    reload(sectionId) {
      if (!this.current()) return Promise.resolve();
      return render({ focus: false, focusId: sectionId });
    },
  };

  if (!route) {
    ctx.mount('Page not found', h('p', null, 'There is no page at this address. '), h('p', null, h('a', { href: '/' }, 'Go to my children')));
    return;
  }

  if (focus) {
    main.setAttribute('aria-busy', 'true');
    main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  }
  try {
    await route.screen(ctx);
  } catch (err) {
    if (!ctx.current()) return;
    if (err && err.code === 'UNAUTHENTICATED') { toSignIn(); return; }
    ctx.mount('Something went wrong', h('p', { class: 'form-error' }, err && err.message ? err.message : 'Something went wrong.'),
      h('p', null, h('a', { href: location.pathname + location.search }, 'Try again')));
    announce(err && err.message ? err.message : 'Something went wrong.', { error: true });
  }
}

function renderNav(path) {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const link = (href, text) => {
    const current = href === path;
    return h('li', null, h('a', { href, 'aria-current': current ? 'page' : null }, text));
  };
  const items = [];
  if (session.token) {
    items.push(link('/', 'My children'), link('/tasks', 'My tasks'), link('/search', 'Find a child'), link('/preferences', 'Email preferences'));
    items.push(h('li', { class: 'who' }, session.me ? `Signed in as ${session.me.displayName}` : 'Signed in'));
    items.push(h('li', null, h('button', { type: 'button', id: 'sign-out', class: 'secondary', onclick: () => signOut() }, 'Sign out')));
  } else {
    items.push(link('/sign-in', 'Sign in'));
  }
  nav.replaceChildren(h('ul', null, items));
}

document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = event.target.closest && event.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (href.startsWith('#')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/web/') || url.pathname === '/graphql' || url.pathname === '/sw.js') return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => {
  // A jump to a fragment (the skip link) changes nothing on screen.
  if (location.pathname + location.search === rendered) return;
  clearStatus();
  render();
});

// ---------------------------------------------------------------------------------------
// Screens: signing in

async function screenSignIn(ctx) {
  const next = safeNext(ctx.url.searchParams.get('next'));
  const form = makeForm({
    id: 'sign-in',
    fields: [
      { name: 'email', id: 'email', label: 'Email address', type: 'email', required: true, autocomplete: 'username', attrs: { spellcheck: 'false' } },
      { name: 'password', id: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password' },
    ],
    submit: 'Sign in',
    async onSubmit(values, f) {
      await signIn(values.email, f.elements.password.value);
      f.reset();
      navigate(next, { replace: true });
      announce(`Signed in as ${session.me ? session.me.displayName : values.email}.`);
    },
  });
  ctx.mount('Sign in',
    next !== '/' ? h('p', { class: 'lede' }, 'Sign in to open the page you asked for.') : h('p', { class: 'lede' }, 'Sign in with your work email address.'),
    form);
}

async function screenSetPassword(ctx) {
  const token = ctx.url.searchParams.get('token');
  if (!token) {
    ctx.mount('Set your password', h('p', { class: 'form-error' }, 'This link is not valid.'),
      h('p', null, 'Ask your agency admin for a new invitation, or ', h('a', { href: '/sign-in' }, 'sign in'), '.'));
    return;
  }
  const form = makeForm({
    id: 'set-password',
    fields: [
      { name: 'password', id: 'new-password', label: 'New password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 12 characters. A few unrelated words make a good password.' },
      { name: 'confirm', id: 'confirm-password', label: 'Type the password again', type: 'password', required: true, autocomplete: 'new-password' },
    ],
    submit: 'Set password and sign in',
    async onSubmit(_values, f) {
      const password = f.elements.password.value;
      if (password !== f.elements.confirm.value) {
        throw new ApiError('Check the answers marked below.', 'BAD_USER_INPUT', [{ field: 'confirm', message: 'does not match the new password' }]);
      }
      let data;
      try {
        data = await gql(
          'mutation SetPassword($token: String!, $password: String!) { setPassword(token: $token, password: $password) { expiresAt practitioner { email } } }',
          { token, password }, { anonymous: true },
        );
      } catch (err) {
        // The token is no field of this form: say what it means.
        const tokenError = (err.fields || []).find((e) => e.field === 'token');
        if (tokenError || err.code === 'NOT_FOUND') {
          throw new ApiError('This link is not valid, or it has expired or been used. Ask your agency admin for a new invitation.', 'BAD_USER_INPUT',
            (err.fields || []).filter((e) => e.field !== 'token'));
        }
        throw err;
      }
      await signIn(data.setPassword.practitioner.email, password);
      f.reset();
      navigate('/', { replace: true });
      announce('Your password is set and you are signed in.');
    },
  });
  ctx.mount('Set your password', h('p', { class: 'lede' }, 'Choose a password for Patchwork. You will be signed in straight away.'), form);
}

// ---------------------------------------------------------------------------------------
// Screens: my children, my tasks

const MY_CHILDREN = `query MyChildren($after: String) {
  myChildren(first: 50, after: $after) {
    edges { node { id givenName familyName dateOfBirth } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function screenMyChildren(ctx) {
  const data = await gql(MY_CHILDREN, { after: null });
  const list = h('ul', { class: 'cards', id: 'children' });
  const more = h('div', { class: 'more' });
  const add = (conn) => {
    for (const { node } of conn.edges) {
      list.append(h('li', { dataset: { childId: node.id } },
        h('a', { class: 'name', href: `/children/${encodeURIComponent(node.id)}` }, childName(node)),
        h('p', { class: 'meta' }, 'Born ', dateTimeEl(node.dateOfBirth, formatDate))));
    }
    more.replaceChildren();
    if (conn.pageInfo.hasNextPage) {
      const button = h('button', { type: 'button', class: 'secondary' }, 'Show more children');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const next = await gql(MY_CHILDREN, { after: conn.pageInfo.endCursor });
          add(next.myChildren);
          announce(`${next.myChildren.edges.length} more children shown.`);
        } catch (err) {
          button.disabled = false;
          announce(err.message, { error: true });
        }
      });
      more.append(button);
    }
  };
  add(data.myChildren);
  const empty = !data.myChildren.edges.length
    ? h('p', { class: 'empty' }, 'You are not on any child’s team yet. ', h('a', { href: '/search' }, 'Find a child'), ' to join their team.')
    : null;
  ctx.mount('My children', h('p', { class: 'lede' }, 'Children whose team you are on.'), empty, list, more);
}

const MY_TASKS = `query MyTasks($after: String) {
  myTasks(status: OPEN, first: 50, after: $after) {
    edges { node { id title description dueOn status version child { id givenName familyName } createdBy { id displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const UPDATE_TASK = `mutation UpdateTask($input: UpdateTaskInput!) {
  updateTask(input: $input) { id status version }
}`;

function taskItem(task, { showChild, canComplete, onDone }) {
  const overdue = task.dueOn && task.dueOn < today();
  const li = h('li', { dataset: { taskId: task.id } },
    h('p', { class: 'name' }, task.title, overdue ? h('span', { class: 'badge' }, 'Overdue') : null),
    task.description ? h('p', null, task.description) : null,
    h('dl', { class: 'facts' },
      showChild && task.child ? [h('dt', null, 'Child'), h('dd', null, h('a', { href: `/children/${encodeURIComponent(task.child.id)}` }, childName(task.child)))] : null,
      h('dt', null, 'Due'), h('dd', null, task.dueOn ? dateTimeEl(task.dueOn, formatDate) : 'No date'),
      task.assignee !== undefined ? [h('dt', null, 'Assigned to'), h('dd', null, task.assignee ? task.assignee.displayName : 'Nobody yet')] : null,
      task.createdBy ? [h('dt', null, 'Set by'), h('dd', null, task.createdBy.displayName)] : null));
  if (canComplete) {
    const button = h('button', { type: 'button', class: 'secondary' }, 'Mark done', hidden(`: ${task.title}`));
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await gql(UPDATE_TASK, { input: { id: task.id, expectedVersion: task.version, status: 'DONE' } });
        announce(`Task “${task.title}” marked done.`);
        onDone(li);
      } catch (err) {
        button.disabled = false;
        if (err.code === 'UNAUTHENTICATED') { toSignIn(); return; }
        announce(err.code === 'CONFLICT' ? 'Someone else changed this task. The list has been reloaded; try again.' : err.message, { error: true });
        if (err.code === 'CONFLICT') onDone(null);
      }
    });
    li.append(h('div', { class: 'actions' }, button));
  }
  return li;
}

async function screenTasks(ctx) {
  const data = await gql(MY_TASKS, { after: null });
  const list = h('ul', { class: 'cards', id: 'tasks' });
  const more = h('div', { class: 'more' });
  const onDone = (li) => {
    if (li) li.remove(); else ctx.reload('tasks-heading');
    if (li && !list.children.length) list.replaceWith(h('p', { class: 'empty' }, 'No open tasks.'));
  };
  const add = (conn) => {
    for (const { node } of conn.edges) list.append(taskItem(node, { showChild: true, canComplete: true, onDone }));
    more.replaceChildren();
    if (conn.pageInfo.hasNextPage) {
      const button = h('button', { type: 'button', class: 'secondary' }, 'Show more tasks');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const next = await gql(MY_TASKS, { after: conn.pageInfo.endCursor });
          add(next.myTasks);
        } catch (err) { button.disabled = false; announce(err.message, { error: true }); }
      });
      more.append(button);
    }
  };
  add(data.myTasks);
  ctx.mount('My tasks',
    h('p', { class: 'lede', id: 'tasks-heading', tabindex: '-1' }, 'Open tasks assigned to you, on every child’s team you are on.'),
    data.myTasks.edges.length ? list : h('p', { class: 'empty' }, 'No open tasks.'), more);
}

// ---------------------------------------------------------------------------------------
// Screen: find a child and join the team

const SEARCH = `query Search($familyName: String!, $dateOfBirth: Date!, $givenName: String, $postcode: String) {
  searchChildren(familyName: $familyName, dateOfBirth: $dateOfBirth, givenName: $givenName, postcode: $postcode) {
    id givenName familyName dateOfBirth postcodeDistrict score
  }
}`;

const JOIN = `mutation JoinTeam($input: JoinTeamInput!) {
  joinTeam(input: $input) { id child { id } }
}`;

function joinForm(match) {
  return makeForm({
    id: `join-${match.id}`,
    legend: `Join ${childName(match)}’s team`,
    fields: [
      { name: 'role', label: 'Your role in the child’s life', required: true, hint: 'For example “School nurse” or “Allocated social worker”.', attrs: { maxlength: '100' } },
      { name: 'reason', label: 'Why you are joining', required: true, multiline: true, hint: 'Kept in the audit log.', attrs: { maxlength: '500' } },
      { name: 'sensitivity', label: 'Who may see your involvement', options: [['', 'As usual for my agency'], ['STANDARD', 'The whole team'], ['RESTRICTED', 'Restricted (my agency and agencies it shares with)']] },
      { name: 'lawfulBasis', label: 'Lawful basis for sharing', options: [['', 'Not recorded'], ['PUBLIC_TASK', 'Public task'], ['LEGAL_OBLIGATION', 'Legal obligation'], ['VITAL_INTERESTS', 'Vital interests'], ['LEGITIMATE_INTERESTS', 'Legitimate interests'], ['CONSENT', 'Consent']] },
    ],
    submit: 'Join the team',
    async onSubmit(values) {
      const input = { childId: match.id, role: values.role, reason: values.reason };
      if (values.sensitivity) input.sensitivity = values.sensitivity;
      if (values.lawfulBasis) input.lawfulBasis = values.lawfulBasis;
      const data = await gql(JOIN, { input });
      const id = (data.joinTeam.child && data.joinTeam.child.id) || match.id;
      navigate(`/children/${encodeURIComponent(id)}`);
      announce(`You have joined ${childName(match)}’s team.`);
    },
  });
}

async function screenSearch(ctx) {
  const results = h('div', { id: 'results' });
  const form = makeForm({
    id: 'search',
    fields: [
      { name: 'familyName', label: 'Family name', required: true, autocomplete: 'off' },
      { name: 'dateOfBirth', label: 'Date of birth', type: 'date', required: true, attrs: { max: today() } },
      { name: 'givenName', label: 'Given name', autocomplete: 'off' },
      { name: 'postcode', label: 'Postcode', autocomplete: 'off', attrs: { maxlength: '10' } },
    ],
    submit: 'Search',
    async onSubmit(values) {
      const data = await gql(SEARCH, {
        familyName: values.familyName,
        dateOfBirth: values.dateOfBirth,
        givenName: values.givenName || null,
        postcode: values.postcode || null,
      });
      const matches = data.searchChildren;
      const heading = sectionHeading('results-heading', matches.length === 1 ? '1 match' : `${matches.length} matches`);
      if (!matches.length) {
        results.replaceChildren(heading, h('p', null, 'No child matches. Check the spelling and the date of birth.'));
      } else {
        results.replaceChildren(heading, h('p', { class: 'hint' }, 'Matches show only what confirms who the child is. Join the team to see it.'),
          h('ul', { class: 'plain' }, matches.map((m) => h('li', { class: 'card', dataset: { childId: m.id } },
            h('h3', null, childName(m)),
            h('dl', { class: 'facts' },
              h('dt', null, 'Date of birth'), h('dd', null, dateTimeEl(m.dateOfBirth, formatDate)),
              h('dt', null, 'Postcode district'), h('dd', null, m.postcodeDistrict || 'Not recorded'),
              h('dt', null, 'Match'), h('dd', null, m.score >= 1 ? 'Exact' : `${Math.round(m.score * 100)}%`)),
            joinForm(m)))));
      }
      announce(heading.textContent);
      heading.focus();
    },
  });
  ctx.mount('Find a child',
    h('p', { class: 'lede' }, 'Give the family name and date of birth. To see a child’s team, join it.'),
    form, results);
}

// ---------------------------------------------------------------------------------------
// Screen: the team around a child

const TEAM = `query Team($id: ID!) {
  me { id displayName }
  child(id: $id) {
    id givenName familyName dateOfBirth
    leadProfessional { id role practitioner { id displayName } agency { id name } }
    team {
      id role isLead startedOn lastContactAt nextContactAt version
      practitioner { id displayName jobTitle email phone mobile }
      agency { id name kind }
    }
    tasks(status: OPEN) {
      id title description dueOn status version
      assignee { id displayName } createdBy { id displayName }
    }
    family {
      id relation description name recordedAt
      child { id givenName familyName dateOfBirth }
    }
    network {
      nodes { id kind label detail agencyId lead phone email }
      edges { from to kind label }
    }
  }
  myChildren(first: 50) { edges { node { id givenName familyName } } }
}`;

const CREATE_TASK = `mutation CreateTask($input: CreateTaskInput!) { createTask(input: $input) { id } }`;
const RAISE = `mutation Raise($childId: ID!, $message: String!) { raiseAttention(childId: $childId, message: $message) }`;
const RECORD_CONTACT = `mutation RecordContact($input: RecordContactInput!) { recordContact(input: $input) { id at } }`;
const LINK_SIBLINGS = `mutation LinkSiblings($input: LinkSiblingsInput!) { linkSiblings(input: $input) { id } }`;
const ADD_CARER = `mutation AddCarer($input: AddCarerInput!) { addCarer(input: $input) { id } }`;
const REMOVE_LINK = `mutation RemoveLink($id: ID!) { removeFamilyLink(id: $id) }`;

function notFound(ctx) {
  ctx.mount('Not found',
    h('p', null, 'There is no child at this address, or you may not see their record.'),
    h('p', null, 'To see a child’s team, ', h('a', { href: '/search' }, 'find the child'), ' and join the team.'));
}

async function screenTeam(ctx) {
  const id = ctx.params[0];
  const data = await gql(TEAM, { id });
  if (!ctx.current()) return;
  const child = data.child;
  if (!child) { notFound(ctx); return; }
  const me = data.me;
  if (!session.me) session.me = me;
  const name = childName(child);
  const mine = child.team.find((inv) => inv.practitioner.id === me.id) || null;
  const base = `/children/${encodeURIComponent(child.id)}`;

  // Summary
  const lead = child.leadProfessional;
  const summary = h('section', { class: 'panel', 'aria-label': 'Summary' },
    h('dl', { class: 'facts' },
      h('dt', null, 'Date of birth'), h('dd', null, dateTimeEl(child.dateOfBirth, formatDate)),
      h('dt', null, 'Lead professional'),
      h('dd', null, lead ? `${lead.practitioner.displayName}, ${lead.role} (${lead.agency.name})` : 'None recorded')),
    h('ul', { class: 'links' },
      h('li', null, h('a', { href: `${base}/timeline` }, 'Timeline')),
      h('li', null, h('a', { href: `${base}/family` }, 'Team around the family'))));

  // Team
  const teamList = h('ul', { class: 'cards', id: 'team-list' }, child.team.map((inv) => {
    const p = inv.practitioner;
    return h('li', { class: inv.isLead ? 'is-lead' : null, dataset: { practitionerId: p.id, involvementId: inv.id } },
      h('p', { class: 'name' }, p.displayName, p.id === me.id ? ' (you)' : '', inv.isLead ? h('span', { class: 'badge' }, 'Lead') : null),
      h('p', { class: 'meta' }, inv.role),
      h('p', { class: 'meta' }, [p.jobTitle, inv.agency.name].filter(Boolean).join(', '),
        inv.agency.kind ? ` (${AGENCY_KINDS[inv.agency.kind] || humanise(inv.agency.kind)})` : ''),
      contactLinks(p),
      h('dl', { class: 'facts' },
        h('dt', null, 'Since'), h('dd', null, dateTimeEl(inv.startedOn, formatDate)),
        h('dt', null, 'Last contact'), h('dd', null, dateTimeEl(inv.lastContactAt)),
        h('dt', null, 'Next contact'), h('dd', null, dateTimeEl(inv.nextContactAt))));
  }));
  const teamSection = h('section', { 'aria-labelledby': 'team-heading' },
    sectionHeading('team-heading', 'Team'),
    child.team.length ? teamList : h('p', { class: 'empty' }, 'Nobody you may see is on the team.'));

  // Tasks
  const taskList = h('ul', { class: 'cards', id: 'task-list' }, child.tasks.map((t) => taskItem(t, {
    showChild: false,
    canComplete: (t.assignee && t.assignee.id === me.id) || (t.createdBy && t.createdBy.id === me.id),
    onDone: () => ctx.reload('tasks-heading'),
  })));
  const createTask = makeForm({
    id: 'create-task',
    legend: 'Add a task',
    fields: [
      { name: 'title', label: 'What needs doing', required: true, attrs: { maxlength: '200' } },
      { name: 'description', label: 'Details', multiline: true, attrs: { maxlength: '2000' } },
      { name: 'assigneeId', label: 'Who will do it', options: [['', 'Nobody yet'], ...child.team.map((inv) => [inv.practitioner.id, `${inv.practitioner.displayName} (${inv.agency.name})`])] },
      { name: 'dueOn', label: 'Due by', type: 'date' },
    ],
    submit: 'Add the task',
    async onSubmit(values) {
      const input = { childId: child.id, title: values.title };
      if (values.description) input.description = values.description;
      if (values.assigneeId) input.assigneeId = values.assigneeId;
      if (values.dueOn) input.dueOn = values.dueOn;
      await gql(CREATE_TASK, { input });
      announce(`Task “${values.title}” added.`);
      await ctx.reload('tasks-heading');
    },
  });
  const tasksSection = h('section', { 'aria-labelledby': 'tasks-heading' },
    sectionHeading('tasks-heading', 'Open tasks'),
    child.tasks.length ? taskList : h('p', { class: 'empty' }, 'No open tasks.'),
    createTask);

  // Raise attention
  const raiseResult = h('p', { class: 'success', id: 'raise-result' });
  const raise = makeForm({
    id: 'raise-attention',
    fields: [{ name: 'message', label: 'Message to the team', required: true, multiline: true, hint: 'Up to 1,000 characters. It is emailed at once; the email carries the child’s initials, not the name.', attrs: { maxlength: '1000' } }],
    submit: 'Send to the team',
    async onSubmit(values, f) {
      raiseResult.textContent = '';
      const data = await gql(RAISE, { childId: child.id, message: values.message });
      const n = data.raiseAttention;
      const text = `Sent to ${n} team ${n === 1 ? 'member' : 'members'}.`;
      raiseResult.textContent = text;
      announce(text);
      f.reset();
    },
  });
  const raiseSection = h('section', { 'aria-labelledby': 'raise-heading' },
    sectionHeading('raise-heading', 'Raise attention'), raise, raiseResult);

  // Record a contact
  let contactBody;
  if (mine) {
    contactBody = makeForm({
      id: 'record-contact',
      intro: h('p', { class: 'hint' }, `On your involvement as ${mine.role}.`),
      fields: [
        { name: 'kind', label: 'Kind of contact', required: true, options: CONTACT_KINDS },
        { name: 'outcome', label: 'Outcome', required: true, options: CONTACT_OUTCOMES },
        { name: 'at', label: 'When', type: 'datetime-local', required: true, value: localDateTimeNow() },
      ],
      submit: 'Record the contact',
      async onSubmit(values) {
        const when = new Date(values.at);
        if (Number.isNaN(when.getTime())) {
          throw new ApiError('Check the answers marked below.', 'BAD_USER_INPUT', [{ field: 'at', message: 'is not a date and time' }]);
        }
        await gql(RECORD_CONTACT, { input: { involvementId: mine.id, kind: values.kind, outcome: values.outcome, at: when.toISOString() } });
        announce('Contact recorded.');
        await ctx.reload('contact-heading');
      },
    });
  } else {
    contactBody = h('p', { class: 'empty' }, 'You are not on this team, so you have no contacts to record.');
  }
  const contactSection = h('section', { 'aria-labelledby': 'contact-heading' },
    sectionHeading('contact-heading', 'Record a contact'), contactBody);

  // Family
  const familySection = familyBlock(ctx, child, data.myChildren.edges.map((e) => e.node));

  // Network
  const networkSection = h('section', { 'aria-labelledby': 'network-heading', class: 'network' },
    sectionHeading('network-heading', 'Network around the child'),
    networkPicture(child.network, name));

  // The picture and the family first after the team: who is around the child, at a glance.
  ctx.mountRoot('team', name, summary, teamSection, networkSection, familySection, tasksSection, raiseSection, contactSection);
}

function familyBlock(ctx, child, myChildren) {
  const siblings = child.family.filter((f) => f.relation === 'SIBLING');
  const carers = child.family.filter((f) => f.relation !== 'SIBLING');

  const removeButton = (link, who) => {
    const button = h('button', { type: 'button', class: 'danger' }, 'Remove', hidden(` the link to ${who}`));
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await gql(REMOVE_LINK, { id: link.id });
        announce(`The link to ${who} is removed.`);
        await ctx.reload('family-heading');
      } catch (err) {
        button.disabled = false;
        if (err.code === 'UNAUTHENTICATED') { toSignIn(); return; }
        announce(err.message, { error: true });
      }
    });
    return button;
  };

  const siblingItems = siblings.map((f) => {
    const who = f.child ? childName(f.child) : 'a sibling';
    return h('li', { dataset: { familyId: f.id, relation: f.relation } },
      f.child ? h('a', { class: 'name', href: `/children/${encodeURIComponent(f.child.id)}` }, who) : h('span', { class: 'name' }, who),
      h('p', { class: 'meta' }, f.description ? `Sibling (${f.description})` : 'Sibling',
        f.child && f.child.dateOfBirth ? `, born ${formatDate(f.child.dateOfBirth)}` : ''),
      h('div', { class: 'actions' }, removeButton(f, who)));
  });
  const carerItems = carers.map((f) => {
    const who = f.name || RELATIONS[f.relation];
    return h('li', { dataset: { familyId: f.id, relation: f.relation } },
      h('span', { class: 'name' }, who),
      h('p', { class: 'meta' }, RELATIONS[f.relation] || humanise(f.relation), f.description ? ` (${f.description})` : ''),
      h('div', { class: 'actions' }, removeButton(f, who)));
  });

  const linked = new Set(siblings.map((f) => f.child && f.child.id));
  const candidates = myChildren.filter((c) => c.id !== child.id && !linked.has(c.id));
  const linkForm = candidates.length
    ? makeForm({
      id: 'link-sibling',
      legend: 'Link a sibling',
      fields: [
        { name: 'siblingId', label: 'Sibling', required: true, options: [['', 'Choose a child'], ...candidates.map((c) => [c.id, childName(c)])], hint: 'Children whose team you are on.' },
        { name: 'description', label: 'Relationship', hint: 'For example “half-brother”.', attrs: { maxlength: '200' } },
      ],
      submit: 'Link the sibling',
      async onSubmit(values) {
        const input = { childId: child.id, siblingId: values.siblingId };
        if (values.description) input.description = values.description;
        await gql(LINK_SIBLINGS, { input });
        announce('Sibling linked.');
        await ctx.reload('family-heading');
      },
    })
    : h('p', { class: 'hint' }, 'To link a sibling, you must be on both children’s teams.');

  const carerForm = makeForm({
    id: 'add-carer',
    legend: 'Add a parent or carer',
    intro: h('p', { class: 'hint' }, 'A name and a relationship only: Patchwork keeps no contact details for family.'),
    fields: [
      { name: 'relation', label: 'Parent or carer', required: true, options: [['PARENT', 'Parent'], ['CARER', 'Carer']] },
      { name: 'name', label: 'Name', required: true, attrs: { maxlength: '200' }, autocomplete: 'off' },
      { name: 'description', label: 'Relationship', hint: 'For example “grandmother” or “foster carer”.', attrs: { maxlength: '200' } },
    ],
    submit: 'Add',
    async onSubmit(values) {
      const input = { childId: child.id, relation: values.relation, name: values.name };
      if (values.description) input.description = values.description;
      await gql(ADD_CARER, { input });
      announce(`${values.name} added.`);
      await ctx.reload('family-heading');
    },
  });

  return h('section', { id: 'family', 'aria-labelledby': 'family-heading' },
    sectionHeading('family-heading', 'Family'),
    h('h3', null, 'Siblings'),
    siblingItems.length ? h('ul', { class: 'cards' }, siblingItems) : h('p', { class: 'empty' }, 'No siblings recorded that you may see.'),
    h('h3', null, 'Parents and carers'),
    carerItems.length ? h('ul', { class: 'cards' }, carerItems) : h('p', { class: 'empty' }, 'No parents or carers recorded.'),
    linkForm, carerForm);
}

// ---------------------------------------------------------------------------------------
// The network picture: inline SVG and the same as a list

function fit(text, width, charWidth) {
  const s = String(text || '');
  const max = Math.max(3, Math.floor(width / charWidth));
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const FAMILY_KINDS = ['SIBLING', 'PARENT', 'CARER'];

function familyDetail(n) {
  const kind = RELATIONS[n.kind] || humanise(n.kind);
  if (!n.detail || n.detail.toLowerCase() === kind.toLowerCase()) return kind;
  return `${kind}: ${n.detail}`;
}

function networkPicture(network, name) {
  const nodes = network.nodes || [];
  const childNode = nodes.find((n) => n.kind === 'CHILD') || { id: 'child', kind: 'CHILD', label: name, lead: false };
  const groups = nodes.filter((n) => n.kind === 'AGENCY').map((a) => ({ node: a, members: [] }));
  const groupById = new Map(groups.map((g) => [g.node.id, g]));
  let other = null;
  for (const p of nodes.filter((n) => n.kind === 'PRACTITIONER')) {
    let g = groupById.get(p.agencyId);
    if (!g) {
      if (!other) { other = { node: { id: null, kind: 'AGENCY', label: 'Other', lead: false }, members: [] }; groups.push(other); }
      g = other;
    }
    g.members.push(p);
  }
  const family = nodes.filter((n) => FAMILY_KINDS.includes(n.kind));

  const width = document.getElementById('main') ? document.getElementById('main').clientWidth : window.innerWidth;
  const narrow = width > 0 && width < 640;
  const W = narrow ? 360 : 960;
  const pad = 10;
  const cols = narrow ? 1 : 3;
  const gap = 16;
  const rowGap = 44;
  const boxW = (W - 2 * pad - (cols - 1) * gap) / cols;
  const header = 30;
  const memberH = 50;
  const memberGap = 8;

  const pos = new Map(); // id -> {x, y, w, h}
  const layers = { edges: svg('g', { class: 'edges' }), boxes: svg('g', { class: 'boxes' }) };

  // Agencies split above and below the child.
  const half = Math.ceil(groups.length / 2);
  const top = groups.slice(0, half);
  const bottom = groups.slice(half);
  const boxHeight = (g) => header + memberGap + Math.max(1, g.members.length) * (memberH + memberGap);

  let y = pad;
  const placeRows = (list) => {
    for (let i = 0; i < list.length; i += cols) {
      const row = list.slice(i, i + cols);
      const rowH = Math.max(...row.map(boxHeight));
      const used = row.length * boxW + (row.length - 1) * gap;
      let x = (W - used) / 2;
      for (const g of row) {
        g.box = { x, y, w: boxW, h: boxHeight(g) };
        x += boxW + gap;
      }
      y += rowH + rowGap;
    }
  };
  placeRows(top);
  if (!top.length) y += 10;

  // The middle band: the child, and the family beside it (below it on a phone).
  const childBox = { w: narrow ? 220 : 240, h: 58 };
  const famW = narrow ? W - 2 * pad - 30 : 250;
  const famH = 46;
  let bandH;
  if (narrow) {
    childBox.x = (W - childBox.w) / 2;
    childBox.y = y;
    let fy = y + childBox.h + 24;
    for (const f of family) { pos.set(f.id, { x: pad + 30, y: fy, w: famW, h: famH }); fy += famH + memberGap; }
    bandH = fy - y + (family.length ? 16 : 0);
  } else {
    const famTotal = family.length * (famH + memberGap) - (family.length ? memberGap : 0);
    bandH = Math.max(childBox.h, famTotal);
    childBox.x = (W - childBox.w) / 2 + (family.length ? 90 : 0);
    childBox.y = y + (bandH - childBox.h) / 2;
    let fy = y + (bandH - famTotal) / 2;
    for (const f of family) { pos.set(f.id, { x: pad, y: fy, w: famW, h: famH }); fy += famH + memberGap; }
  }
  pos.set(childNode.id, childBox);
  y += bandH + rowGap;
  placeRows(bottom);
  const H = Math.max(y - rowGap + pad, 120);

  for (const g of groups) {
    g.members.forEach((m, i) => {
      pos.set(m.id, {
        x: g.box.x + 22, y: g.box.y + header + memberGap + i * (memberH + memberGap), w: g.box.w - 32, h: memberH,
      });
    });
    if (g.node.id) pos.set(g.node.id, g.box);
  }

  const centre = (b) => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });

  // Edges, under the boxes.
  for (const e of network.edges || []) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const data = { 'data-from': e.from, 'data-to': e.to, 'data-edge-kind': e.kind };
    if (e.kind === 'MEMBER_OF') {
      // A bracket from the agency's header down to the practitioner.
      const [p, g] = a.h === memberH ? [a, b] : [b, a];
      const x0 = g.x + 11;
      layers.edges.append(svg('path', {
        ...data, class: 'e-member', d: `M ${x0} ${g.y + header} V ${p.y + p.h / 2} H ${p.x}`,
        fill: 'none', stroke: '#4a4a4a', 'stroke-width': '1.5', 'stroke-dasharray': '2 3',
      }));
    } else if (e.kind === 'FAMILY') {
      if (narrow) {
        const x0 = pad + 15;
        layers.edges.append(svg('path', {
          ...data, class: 'e-family', d: `M ${childBox.x} ${childBox.y + childBox.h / 2} H ${x0} V ${b.y + b.h / 2} H ${b.x}`,
          fill: 'none', stroke: '#1a1a1a', 'stroke-width': '2', 'stroke-dasharray': '8 5',
        }));
      } else {
        layers.edges.append(svg('line', {
          ...data, class: 'e-family', x1: childBox.x, y1: childBox.y + childBox.h / 2, x2: b.x + b.w, y2: b.y + b.h / 2,
          stroke: '#1a1a1a', 'stroke-width': '2', 'stroke-dasharray': '8 5',
        }));
      }
    } else {
      const ca = centre(a);
      const cb = centre(b);
      layers.edges.append(svg('line', {
        ...data, class: 'e-works', x1: ca.x, y1: ca.y, x2: cb.x, y2: cb.y, stroke: '#1a1a1a', 'stroke-width': '2',
      }));
    }
  }

  // Agencies with their practitioners.
  for (const g of groups) {
    const b = g.box;
    const label = g.node.label || 'Agency';
    layers.boxes.append(svg('g', { 'data-node-id': g.node.id, 'data-kind': 'AGENCY', class: 'n-agency' },
      svg('title', null, label),
      svg('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6, fill: '#f3f5f8', stroke: '#1a1a1a', 'stroke-width': '1.5' }),
      svg('rect', { x: b.x, y: b.y, width: b.w, height: header, rx: 6, fill: '#1d4e89' }),
      svg('text', { x: b.x + 10, y: b.y + 20, class: 'n-agency-label', fill: '#ffffff', 'font-size': label.length * 8.2 > b.w - 20 ? '12' : '14', 'font-weight': '700' },
        fit(label, b.w - 20, label.length * 8.2 > b.w - 20 ? 7 : 8.2))));
    if (!g.members.length) {
      layers.boxes.append(svg('text', { x: b.x + 22, y: b.y + header + 30, class: 'n-detail', 'font-size': '12' }, 'No practitioner you may see'));
    }
    for (const m of g.members) {
      const p = pos.get(m.id);
      const badgeW = m.lead ? 44 : 0;
      const node = svg('g', { 'data-node-id': m.id, 'data-kind': 'PRACTITIONER', 'data-lead': m.lead ? 'true' : 'false', class: 'n-practitioner' },
        svg('title', null, `${m.label}${m.detail ? `, ${m.detail}` : ''}${m.lead ? ' (lead professional)' : ''}`),
        svg('rect', {
          x: p.x, y: p.y, width: p.w, height: p.h, rx: 4, fill: '#ffffff', stroke: '#1a1a1a', 'stroke-width': m.lead ? '4' : '1.5',
        }),
        svg('text', { x: p.x + 10, y: p.y + 20, class: 'n-label', 'font-size': '14', 'font-weight': '700' }, fit(m.label, p.w - 20 - badgeW, 8.2)),
        svg('text', { x: p.x + 10, y: p.y + 38, class: 'n-detail', 'font-size': '12' }, fit(m.detail || '', p.w - 20, 6.6)));
      if (m.lead) {
        node.append(
          svg('rect', { x: p.x + p.w - badgeW - 6, y: p.y + 6, width: badgeW, height: 18, rx: 3, fill: '#1a1a1a' }),
          svg('text', { x: p.x + p.w - badgeW / 2 - 6, y: p.y + 19, 'text-anchor': 'middle', class: 'n-badge-text', fill: '#ffffff', 'font-size': '11', 'font-weight': '700' }, 'LEAD'),
        );
      }
      layers.boxes.append(node);
    }
  }

  // Family.
  for (const f of family) {
    const p = pos.get(f.id);
    layers.boxes.append(svg('g', { 'data-node-id': f.id, 'data-kind': f.kind, class: 'n-family' },
      svg('title', null, `${f.label}: ${familyDetail(f)}`),
      svg('rect', { x: p.x, y: p.y, width: p.w, height: p.h, rx: 14, fill: '#ffffff', stroke: '#1a1a1a', 'stroke-width': '1.5', 'stroke-dasharray': '5 3' }),
      svg('text', { x: p.x + 12, y: p.y + 19, class: 'n-label', 'font-size': '14', 'font-weight': '700' }, fit(f.label, p.w - 24, 8.2)),
      svg('text', { x: p.x + 12, y: p.y + 36, class: 'n-detail', 'font-size': '12' }, fit(familyDetail(f), p.w - 24, 6.6))));
  }

  // The child, on top.
  layers.boxes.append(svg('g', { 'data-node-id': childNode.id, 'data-kind': 'CHILD', class: 'n-child' },
    svg('title', null, childNode.label || name),
    svg('rect', { x: childBox.x, y: childBox.y, width: childBox.w, height: childBox.h, rx: 29, fill: '#f2c14e', stroke: '#1a1a1a', 'stroke-width': '3' }),
    svg('text', { x: childBox.x + childBox.w / 2, y: childBox.y + 26, 'text-anchor': 'middle', class: 'n-label', 'font-size': '15', 'font-weight': '700' }, fit(childNode.label || name, childBox.w - 24, 8.6)),
    svg('text', { x: childBox.x + childBox.w / 2, y: childBox.y + 44, 'text-anchor': 'middle', class: 'n-detail', 'font-size': '12' }, 'Child')));

  const practitioners = nodes.filter((n) => n.kind === 'PRACTITIONER');
  const realAgencies = groups.filter((g) => g.node.id);
  const descText = `${childNode.label || name} in the centre. ${realAgencies.length} ${realAgencies.length === 1 ? 'agency' : 'agencies'} `
    + `with ${practitioners.length} ${practitioners.length === 1 ? 'practitioner' : 'practitioners'} working with the child`
    + `${practitioners.some((p) => p.lead) ? `, the lead professional ${practitioners.find((p) => p.lead).label}` : ''}; `
    + `${family.length} family ${family.length === 1 ? 'member' : 'members'}. `
    + 'Solid lines: works with the child. Dashed lines: family. Dotted lines: member of an agency. The same information follows as a list.';

  const picture = svg('svg', {
    id: 'network', role: 'img', 'aria-labelledby': 'network-title network-desc',
    viewBox: `0 0 ${W} ${Math.ceil(H)}`, width: '100%', preserveAspectRatio: 'xMidYMin meet',
    xmlns: SVGNS, 'font-family': 'system-ui, sans-serif',
  },
  svg('title', { id: 'network-title' }, `The network around ${childNode.label || name}`),
  svg('desc', { id: 'network-desc' }, descText),
  layers.edges, layers.boxes);

  // The same as a list.
  const list = h('div', { class: 'network-list' },
    h('h3', { id: 'network-list-heading' }, 'The network in words'),
    h('p', null, `${childNode.label || name} (child).`),
    groups.length ? h('ul', { 'aria-label': 'Agencies and practitioners' }, groups.map((g) => h('li', { dataset: { networkNode: g.node.id } },
      h('strong', null, g.node.label || 'Agency'),
      g.members.length
        ? h('ul', null, g.members.map((m) => h('li', { dataset: { networkNode: m.id } },
          m.label, m.detail ? `, ${m.detail}` : '', m.lead ? h('span', { class: 'badge' }, 'Lead') : null,
          contactLinks({ phone: m.phone, email: m.email }))))
        : h('p', { class: 'empty' }, 'No practitioner you may see.'))))
      : h('p', { class: 'empty' }, 'No agency you may see.'),
    h('h4', null, 'Family'),
    family.length
      ? h('ul', { 'aria-label': 'Family' }, family.map((f) => h('li', null, f.label, ' – ', familyDetail(f))))
      : h('p', { class: 'empty' }, 'No family recorded that you may see.'));

  return h('div', { class: 'network-wrap' },
    h('figure', { class: 'network-figure' }, picture,
      h('figcaption', { class: 'legend' }, 'Solid line: works with the child. Dashed line: family. Dotted line: member of an agency. A thick border and “LEAD” mark the lead professional.')),
    list);
}

// ---------------------------------------------------------------------------------------
// Screens: timeline, the team around the family

const TIMELINE = `query Timeline($id: ID!, $after: String) {
  child(id: $id) {
    id givenName familyName
    timeline(first: 50, after: $after) {
      edges { cursor node { at kind summary } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

async function screenTimeline(ctx) {
  const id = ctx.params[0];
  const data = await gql(TIMELINE, { id, after: null });
  if (!ctx.current()) return;
  if (!data.child) { notFound(ctx); return; }
  const child = data.child;
  const list = h('ol', { class: 'plain timeline', id: 'timeline' });
  const more = h('div', { class: 'more' });
  const add = (conn) => {
    for (const { node } of conn.edges) {
      list.append(h('li', { class: 'card', dataset: { kind: node.kind } },
        h('p', { class: 'meta' }, dateTimeEl(node.at), ' · ', humanise(node.kind)),
        h('p', null, node.summary)));
    }
    more.replaceChildren();
    if (conn.pageInfo.hasNextPage) {
      const button = h('button', { type: 'button', class: 'secondary' }, 'Show older events');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const next = await gql(TIMELINE, { id, after: conn.pageInfo.endCursor });
          if (next.child) add(next.child.timeline);
        } catch (err) { button.disabled = false; announce(err.message, { error: true }); }
      });
      more.append(button);
    }
  };
  add(child.timeline);
  ctx.mount(`Timeline: ${childName(child)}`,
    h('p', null, h('a', { href: `/children/${encodeURIComponent(child.id)}` }, `Back to ${childName(child)}’s team`)),
    child.timeline.edges.length ? list : h('p', { class: 'empty' }, 'Nothing has happened yet that you may see.'), more);
}

const FAMILY_TEAM = `query FamilyTeam($id: ID!) {
  child(id: $id) {
    id givenName familyName
    familyTeam {
      id role isLead
      child { id givenName familyName }
      practitioner { id displayName jobTitle email phone mobile }
      agency { id name }
    }
  }
}`;

async function screenFamilyTeam(ctx) {
  const id = ctx.params[0];
  const data = await gql(FAMILY_TEAM, { id });
  if (!ctx.current()) return;
  if (!data.child) { notFound(ctx); return; }
  const child = data.child;
  const byPractitioner = new Map();
  for (const inv of child.familyTeam) {
    const key = inv.practitioner.id;
    if (!byPractitioner.has(key)) byPractitioner.set(key, { practitioner: inv.practitioner, agency: inv.agency, involvements: [] });
    byPractitioner.get(key).involvements.push(inv);
  }
  const list = h('ul', { class: 'cards', id: 'family-team' }, [...byPractitioner.values()].map(({ practitioner: p, agency, involvements }) => h('li', {
    class: involvements.some((i) => i.isLead) ? 'is-lead' : null, dataset: { practitionerId: p.id },
  },
  h('p', { class: 'name' }, p.displayName),
  h('p', { class: 'meta' }, [p.jobTitle, agency && agency.name].filter(Boolean).join(', ')),
  contactLinks(p),
  h('p', { class: 'works-with' }, 'Works with:'),
  h('ul', null, involvements.map((inv) => h('li', null,
    h('a', { href: `/children/${encodeURIComponent(inv.child.id)}` }, childName(inv.child)),
    `, ${inv.role}`, inv.isLead ? h('span', { class: 'badge' }, 'Lead') : null))))));
  ctx.mount(`Team around the family: ${childName(child)}`,
    h('p', { class: 'lede' }, 'Everyone working with this child and with their siblings, as you may see them.'),
    h('p', null, h('a', { href: `/children/${encodeURIComponent(child.id)}` }, `Back to ${childName(child)}’s team`)),
    byPractitioner.size ? list : h('p', { class: 'empty' }, 'Nobody you may see.'));
}

// ---------------------------------------------------------------------------------------
// Screens: email preferences, unsubscribe

const PREFERENCES = 'query Preferences { notificationPreferences { kind delivery adjustable } }';
const UPDATE_PREFERENCES = `mutation UpdatePreferences($input: [NotificationPreferenceInput!]!) {
  updateNotificationPreferences(input: $input) { kind delivery adjustable }
}`;

async function screenPreferences(ctx) {
  const data = await gql(PREFERENCES);
  const prefs = data.notificationPreferences;
  const adjustable = prefs.filter((p) => p.adjustable);
  const fixed = prefs.filter((p) => !p.adjustable);
  const form = makeForm({
    id: 'preferences',
    fields: adjustable.map((p) => ({
      name: p.kind, label: NOTIFICATION_KINDS[p.kind] || humanise(p.kind), options: DELIVERIES, value: p.delivery, required: true,
    })),
    submit: 'Save preferences',
    async onSubmit(values) {
      const input = adjustable.map((p) => ({ kind: p.kind, delivery: values[p.kind] }));
      await gql(UPDATE_PREFERENCES, { input });
      announce('Your email preferences are saved.');
    },
  });
  ctx.mount('Email preferences',
    h('p', { class: 'lede' }, 'Choose how Patchwork tells you about changes on the children you work with. Emails carry a child’s initials, never the name.'),
    adjustable.length ? form : h('p', null, 'There is nothing to choose.'),
    fixed.length ? [h('h2', null, 'Always sent at once'),
      h('ul', null, fixed.map((p) => h('li', null, NOTIFICATION_KINDS[p.kind] || humanise(p.kind))))] : null);
}

async function screenUnsubscribe(ctx) {
  const token = ctx.url.searchParams.get('token');
  if (!token) {
    ctx.mount('Stop optional emails', h('p', { class: 'form-error' }, 'This link is not valid.'));
    return;
  }
  const result = h('div', { id: 'unsubscribe-result' });
  const button = h('button', { type: 'button', id: 'unsubscribe' }, 'Stop these emails');
  button.addEventListener('click', async () => {
    button.disabled = true;
    let res;
    try {
      res = await fetch(`/unsubscribe?token=${encodeURIComponent(token)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
    } catch (_) {
      button.disabled = false;
      result.replaceChildren(h('p', { class: 'form-error' }, 'Patchwork cannot be reached. Try again.'));
      announce('Patchwork cannot be reached. Try again.', { error: true });
      return;
    }
    if (res.ok) {
      button.remove();
      result.replaceChildren(h('p', { class: 'success' }, 'You will no longer get these emails.'),
        h('p', null, 'You can turn them on again in ', h('a', { href: '/preferences' }, 'your email preferences'), '.'));
      announce('You will no longer get these emails.');
    } else if ([400, 404, 410, 422].includes(res.status)) {
      button.remove();
      result.replaceChildren(h('p', { class: 'form-error' }, 'This link is not valid.'),
        h('p', null, 'You can change your emails in ', h('a', { href: '/preferences' }, 'your email preferences'), '.'));
      announce('This link is not valid.', { error: true });
    } else {
      button.disabled = false;
      const text = res.status === 429 ? 'Too many attempts. Try again later.' : 'Something went wrong. Try again.';
      result.replaceChildren(h('p', { class: 'form-error' }, text));
      announce(text, { error: true });
    }
  });
  ctx.mount('Stop optional emails',
    h('p', null, 'Stop Patchwork’s optional emails (team changes, tasks, missed contacts)? Urgent messages still arrive.'),
    h('div', { class: 'actions' }, button),
    result);
}

// ---------------------------------------------------------------------------------------
// Start

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* works without */ });
  }
  // Resume a session from the refresh cookie, if there is one.
  await resume();
  render();
  window.addEventListener('online', async () => {
    if (session.token || !session.offline) return;
    await resume();
    render();
  });
}

async function resume() {
  if (await refresh()) {
    try { await loadMe(); } catch (_) { /* the screen will say */ }
  }
}

start();
