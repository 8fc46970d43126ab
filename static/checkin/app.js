/* Rassembleur — check-in tablet app (plain JS, no build step).
   Camera scanning (BarcodeDetector or jsQR in a worker), search, walk-ins, live counts,
   last scans with undo, and an offline mode (IndexedDB roster + queue, local Ed25519
   verification, sync when the network returns). */
(() => {
  "use strict";

  // ---- UI strings (French) — one place, so they can move into the catalog later. ----
  const T = {
    appTitle: "Accueil",
    online: "En ligne",
    offline: "Hors ligne",
    queueOne: "scan en attente",
    queueMany: "scans en attente",
    needLink: "Ouvrez le lien d'appareil fourni par l'équipe ou connectez-vous",
    badLink: "Ce lien d'appareil n'est plus valide (expiré ou révoqué). Demandez un nouveau lien à l'équipe ou connectez-vous.",
    forbidden: "Cet appareil ou ce compte n'a pas accès à l'accueil de cet événement.",
    notFound: "Événement introuvable.",
    noRoster: "La liste des personnes inscrites n'est pas encore disponible hors ligne.",
    login: "Se connecter",
    cameraStart: "Démarrer la caméra",
    cameraDenied: "La caméra n'est pas disponible. Autorisez-la dans le navigateur ou utilisez la recherche et le code du billet.",
    cameraNone: "Aucune caméra détectée. Utilisez la recherche ou le code du billet.",
    ok: "Bienvenue!",
    already: "Déjà accueilli·e",
    invalid: "Billet invalide",
    wrongEvent: "Billet d'un autre événement",
    cancelled: "Inscription annulée",
    waitlisted: "Sur la liste d'attente",
    unapproved: "Inscription pas encore approuvée",
    outsideWindow: "Hors de la période d'accueil",
    unknownLocal: "Billet authentique, absent de la liste locale — vérifiez",
    notATicket: "Ce code QR n'est pas un billet",
    codeNotFound: "Aucun billet avec ce code",
    previously: "Accueilli·e à %t",
    previousDevice: " (%d)",
    thisTablet: "cette tablette, hors ligne",
    rightEvent: "Billet pour : %e, %w",
    party: (n) => (n > 1 ? `Groupe de ${n} personnes` : "1 personne"),
    offlineAnswer: "Réponse hors ligne — sera synchronisée",
    unverified: "Signature non vérifiable sur cet appareil",
    searchHint: "Tapez au moins 2 lettres du nom ou le code du billet.",
    searchNone: "Personne trouvée.",
    searchOffline: "Recherche dans la liste en cache (hors ligne).",
    checkInButton: "Accueillir",
    checkedIn: "Déjà accueilli·e",
    status: {
      confirmed: "Confirmée",
      waitlisted: "Liste d'attente",
      pending_approval: "À approuver",
      pending_email: "Courriel à confirmer",
      cancelled: "Annulée",
      declined: "Refusée",
    },
    results: {
      ok: "Accueilli·e",
      already_checked_in: "Déjà accueilli·e",
      invalid: "Invalide",
      wrong_event: "Autre événement",
      cancelled: "Annulée",
      waitlisted: "Liste d'attente",
      unapproved: "Non approuvée",
      outside_window: "Hors période",
    },
    pending: "en attente de synchronisation",
    undo: "Annuler",
    undoConfirm: "Confirmer l'annulation",
    undone: "Accueil annulé",
    undoFailed: "L'annulation n'a pas pu être faite.",
    noRecent: "Aucun scan pour l'instant.",
    walkinOffline: "L'inscription sur place demande une connexion.",
    walkinChooseClientele: "Choisissez une clientèle.",
    walkinFailed: "L'inscription n'a pas pu être faite.",
    walkinDone: "Inscrit·e sur place",
    serverSaid: "Le serveur : %m",
    duplicateOf: "déjà accueilli·e à %t%d",
    networkError: "Le serveur ne répond pas.",
  };

  // ---- Basics ----
  const $ = (id) => document.getElementById(id);
  const meta = (name) => {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") || "" : "";
  };
  const EVENT_ID = Number(meta("checkin-event"));
  const CSRF = meta("csrf-token");
  const ZONE = meta("checkin-timezone");
  const TOKEN_KEY = `rsb-checkin-token-${EVENT_ID}`;
  // The volunteer's first name stays on the tablet, whatever the event.
  const VOLUNTEER_KEY = "rsb-checkin-volunteer";
  const PREFIX = "RSB1:";
  const TIMEOUT_MS = 2500;
  const SAME_PAYLOAD_MS = 3000;
  const LIVE_EVERY_MS = 3000;
  const ROSTER_EVERY_MS = 60000;
  const SYNC_BATCH = 100;

  function newNonce() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fold(text) {
    return String(text || "")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase();
  }

  function normCode(text) {
    return String(text || "").toUpperCase().replace(/[^A-Z0-9]/g, "");
  }

  let clock = null;
  function fmtTime(iso) {
    if (!iso) return "";
    try {
      if (!clock) {
        clock = new Intl.DateTimeFormat("fr-CA", { hour: "2-digit", minute: "2-digit", timeZone: eventZone() });
      }
      return clock.format(new Date(iso));
    } catch (e) {
      return "";
    }
  }

  // The event's time zone (the server's configured zone until the roster is known).
  function eventZone() {
    return (state.roster && state.roster.event.timezone) || ZONE || undefined;
  }

  // Today in the event's time zone (one check-in per registration per event day).
  function eventDay() {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: eventZone() }).format(new Date());
    } catch (error) {
      return new Date().toISOString().slice(0, 10);
    }
  }

  // ---- State ----
  const state = {
    token: "",
    roster: null,
    byId: new Map(),
    byCode: new Map(),
    local: new Map(), // public id -> {at} : check-ins decided offline on this tablet
    publicKey: null,
    keyText: "",
    keyReady: Promise.resolve(),
    keyUnsupported: false,
    online: navigator.onLine,
    queueCount: 0,
    queueItems: [],
    recent: [],
    undoArmed: new Map(),
    undone: new Set(),
    dups: [],
    syncing: false,
    answerOpen: false,
    lastText: "",
    lastTextAt: 0,
    authFailed: false,
    clienteles: [],
    territories: [],
    volunteer: "",
  };

  // ---- IndexedDB (roster cache, scan queue, local decisions) ----
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("rsb-checkin", 1);
        req.onupgradeneeded = () => {
          const d = req.result;
          d.createObjectStore("kv");
          const q = d.createObjectStore("queue", { keyPath: "nonce" });
          q.createIndex("event", "event_id");
          d.createObjectStore("local", { keyPath: "key" });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  async function tx(store, mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(store, mode);
      const s = t.objectStore(store);
      let result;
      const r = fn(s);
      if (r) r.onsuccess = () => (result = r.result);
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const kvGet = (key) => tx("kv", "readonly", (s) => s.get(key));
  const kvPut = (key, value) => tx("kv", "readwrite", (s) => s.put(value, key));
  const queueAll = () =>
    tx("queue", "readonly", (s) => s.index("event").getAll(EVENT_ID)).then((items) =>
      (items || []).sort((a, b) => (a.scanned_at < b.scanned_at ? -1 : 1))
    );
  const queuePut = (item) => tx("queue", "readwrite", (s) => s.put(item));
  const queueDelete = (nonces) =>
    tx("queue", "readwrite", (s) => {
      nonces.forEach((n) => s.delete(n));
    });
  const localAll = () =>
    tx("local", "readonly", (s) => s.getAll()).then((rows) => (rows || []).filter((r) => r.event_id === EVENT_ID));
  const localPut = (row) => tx("local", "readwrite", (s) => s.put(row));
  const localClear = (keys) =>
    tx("local", "readwrite", (s) => {
      keys.forEach((k) => s.delete(k));
    });

  // ---- Network ----
  class NetError extends Error {}
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body, timeout = TIMEOUT_MS) {
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    else if (CSRF) headers["X-CSRF-Token"] = CSRF;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
      });
    } catch (error) {
      setOnline(false);
      throw new NetError(T.networkError);
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 500 || response.status === 0) {
      setOnline(false);
      throw new NetError(T.networkError);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    setOnline(true);
    if (!response.ok) {
      const err = new ApiError(response.status, data);
      if (response.status === 401 || response.status === 403) authProblem(err);
      throw err;
    }
    return data;
  }

  function authProblem(err) {
    if (err.status === 403 && err.body && err.body.error && err.body.error.code === "csrf_failed") {
      showGate(T.needLink);
      return;
    }
    state.authFailed = true;
    showGate(err.status === 401 ? (state.token ? T.badLink : T.needLink) : T.forbidden);
  }

  function setOnline(value) {
    const was = state.online;
    state.online = value && navigator.onLine;
    renderStatus();
    if (!was && state.online) onReconnect();
  }

  function onReconnect() {
    syncQueue().then(() => loadRoster());
  }

  // ---- Status bar ----
  function renderStatus() {
    const net = $("net");
    net.textContent = state.online ? T.online : T.offline;
    net.classList.toggle("pill-online", state.online);
    net.classList.toggle("pill-offline", !state.online);
    document.body.classList.toggle("is-offline", !state.online);
    $("queue").hidden = state.queueCount === 0;
    $("queue-count").textContent = String(state.queueCount);
    $("queue-label").textContent = state.queueCount > 1 ? T.queueMany : T.queueOne;
    $("walkin-offline").hidden = state.online;
  }

  function renderCounts(counts) {
    if (!counts && state.roster) counts = state.roster.counts;
    if (!counts) return;
    let present = counts.present;
    if (!state.online || state.queueCount) {
      // Add what this tablet decided offline and the server does not know yet.
      const today = eventDay();
      for (const [id, row] of state.local) {
        const reg = state.byId.get(id);
        if (reg && row.day === today && !reg.checked_in_at) present += reg.party_size || 1;
      }
    }
    $("count-present").textContent = String(present);
    $("count-registered").textContent = String(counts.registered);
  }

  function showGate(message) {
    $("gate-message").textContent = message;
    const login = $("gate-login");
    login.textContent = T.login;
    login.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    $("gate").hidden = false;
    $("app").hidden = true;
    stopCamera();
  }

  // ---- Roster ----
  function useRoster(roster) {
    state.roster = roster;
    state.byId = new Map();
    state.byCode = new Map();
    for (const reg of roster.registrations || []) {
      state.byId.set(reg.id, reg);
      if (reg.ticket_code) state.byCode.set(reg.ticket_code, reg);
    }
    clock = null;
    document.title = `${T.appTitle} · ${roster.event.title}`;
    $("event-title").textContent = roster.event.title;
    if (roster.public_key !== state.keyText) {
      state.keyText = roster.public_key;
      state.keyReady = importKey(roster.public_key);
    }
    renderCounts(roster.counts);
    renderClienteles();
  }

  // The device this tablet is (from its roster): recorded in each scan it queues, so that
  // a scan keeps its device even if the tablet is revoked and paired again before syncing.
  function deviceId() {
    return state.roster && state.roster.device ? state.roster.device.id : null;
  }

  // The roster API answers compact rows (`fields` names their columns): objects here.
  function expandRows(body) {
    const fields = body.fields || [];
    const names = body.clienteles || {};
    return (body.rows || []).map((row) => {
      const reg = {};
      fields.forEach((name, i) => (reg[name] = row[i]));
      reg.clientele_name = names[reg.clientele] || reg.clientele || "";
      return reg;
    });
  }

  // A full answer replaces the copy; a delta (changes since our cursor) is merged into it
  // by public id: changed rows replace theirs, removed ones leave. A row received twice
  // (the server's safety overlap) changes nothing.
  function mergeRoster(body) {
    const { rows, fields, removed, ...header } = body;
    const incoming = expandRows(body);
    let registrations = incoming;
    if (!body.full && state.roster && state.roster.registrations) {
      const byId = new Map(state.roster.registrations.map((reg) => [reg.id, reg]));
      for (const id of removed || []) byId.delete(id);
      for (const reg of incoming) byId.set(reg.id, reg);
      registrations = [...byId.values()];
    }
    return { ...header, registrations };
  }

  // The first pull of a page load is a full one; later ones ask for the changes since the
  // cursor of the copy we hold.
  let rosterPulled = false;
  async function loadRoster() {
    try {
      let path = `/api/v1/events/${EVENT_ID}/checkin/roster`;
      const cursor = rosterPulled && state.roster && state.roster.cursor;
      if (cursor) path += `?since=${encodeURIComponent(cursor)}`;
      const body = await api("GET", path, undefined, 8000);
      rosterPulled = true;
      // Local decisions the server now knows are no longer needed.
      if (!state.queueCount && state.local.size) {
        const keys = [];
        for (const [id, row] of state.local) {
          keys.push(row.key);
          state.local.delete(id);
        }
        await localClear(keys);
      }
      const roster = mergeRoster(body);
      useRoster(roster);
      await kvPut(`roster:${EVENT_ID}`, roster);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) showGate(T.notFound);
    }
  }

  async function loadReference() {
    for (const [name, path] of [
      ["clienteles", "/api/v1/clienteles"],
      ["territories", "/api/v1/territories"],
    ]) {
      try {
        const body = await api("GET", path, undefined, 8000);
        state[name] = body.items || [];
        await kvPut(name, state[name]);
      } catch (error) {
        state[name] = (await kvGet(name)) || state[name];
      }
    }
    renderWalkinChoices();
  }

  function rememberServerAnswer(body) {
    // Keep the cache right for a later offline decision.
    if (!state.roster || !body.registration) return;
    const reg = state.byId.get(body.registration.id);
    if (!reg) return;
    if (body.result === "ok" && body.checked_in_at) reg.checked_in_at = body.checked_in_at;
    if (body.result === "already_checked_in" && body.previous_checkin_at) {
      reg.checked_in_at = body.previous_checkin_at;
    }
    kvPut(`roster:${EVENT_ID}`, state.roster).catch(() => {});
  }

  // ---- Tickets: parse and verify locally ----
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  function b32decode(text) {
    const out = [];
    let bits = 0;
    let value = 0;
    for (const ch of text) {
      const idx = B32.indexOf(ch);
      if (idx < 0) return null;
      value = ((value << 5) | idx) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    return Uint8Array.from(out);
  }
  function b32encode(bytes) {
    let out = "";
    let bits = 0;
    let value = 0;
    for (const byte of bytes) {
      value = ((value << 8) | byte) & 0xffff;
      bits += 8;
      while (bits >= 5) {
        out += B32[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) out += B32[(value << (5 - bits)) & 31];
    return out;
  }
  function b64urlDecode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function parsePayload(text) {
    const clean = String(text || "").trim().toUpperCase();
    if (!clean.startsWith(PREFIX)) return null;
    const data = b32decode(clean.slice(PREFIX.length));
    if (!data || data.length !== 4 + 10 + 64) return null;
    const eventId = new DataView(data.buffer).getUint32(0, false);
    const message = new Uint8Array(4 + 14);
    message.set([0x52, 0x53, 0x42, 0x31], 0); // "RSB1"
    message.set(data.subarray(0, 14), 4);
    return { eventId, publicId: b32encode(data.subarray(4, 14)), message, signature: data.slice(14) };
  }

  async function importKey(b64) {
    if (!b64 || !crypto.subtle) return;
    try {
      state.publicKey = await crypto.subtle.importKey("raw", b64urlDecode(b64), { name: "Ed25519" }, false, [
        "verify",
      ]);
      state.keyUnsupported = false;
    } catch (error) {
      state.publicKey = null;
      state.keyUnsupported = true;
    }
  }

  async function verify(claim) {
    await state.keyReady;
    if (!state.publicKey) return null; // cannot tell on this device
    try {
      return await crypto.subtle.verify({ name: "Ed25519" }, state.publicKey, claim.signature, claim.message);
    } catch (error) {
      return null;
    }
  }

  // ---- The door decision (online first, local when offline) ----
  const TONE = {
    ok: "ok",
    already_checked_in: "attention",
    waitlisted: "attention",
    unapproved: "attention",
    outside_window: "attention",
    unknown_local: "attention",
    invalid: "refused",
    wrong_event: "refused",
    cancelled: "refused",
  };
  const TITLE = {
    ok: T.ok,
    already_checked_in: T.already,
    invalid: T.invalid,
    wrong_event: T.wrongEvent,
    cancelled: T.cancelled,
    waitlisted: T.waitlisted,
    unapproved: T.unapproved,
    outside_window: T.outsideWindow,
    unknown_local: T.unknownLocal,
  };

  let scanChain = Promise.resolve();
  function decide(request) {
    // One decision at a time, in order.
    scanChain = scanChain.then(() => decideNow(request)).catch(() => {});
    return scanChain;
  }

  async function decideNow({ payload, registrationId, frameAt }) {
    const scan = {
      nonce: newNonce(),
      event_id: EVENT_ID,
      scanned_at: new Date().toISOString(),
      device_id: deviceId(),
      volunteer: state.volunteer,
    };
    if (payload) scan.payload = payload;
    else scan.registration_id = registrationId;
    let answer = null;
    if (state.online && navigator.onLine) {
      try {
        const body = await api("POST", "/api/v1/checkin", {
          event_id: EVENT_ID,
          payload: scan.payload,
          registration_id: scan.registration_id,
          nonce: scan.nonce,
          volunteer: scan.volunteer,
        });
        rememberServerAnswer(body);
        answer = { ...body, offline: false };
        pollLive();
      } catch (error) {
        if (!(error instanceof NetError)) {
          if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
          answer = { result: "invalid", message: error.message, offline: false };
        }
      }
    }
    if (!answer) answer = await decideOffline(scan);
    showAnswer(answer, frameAt);
  }

  async function decideOffline(scan) {
    let reg = null;
    let unverified = false;
    const answer = { offline: true, nonce: scan.nonce };
    if (scan.payload) {
      const claim = parsePayload(scan.payload);
      if (!claim) {
        answer.result = "invalid"; // not one of our tickets: nothing for the server to learn
        return answer;
      }
      const genuine = await verify(claim);
      if (genuine === false) {
        answer.result = "invalid";
        await enqueue(scan, answer);
        return answer;
      }
      unverified = genuine === null;
      if (claim.eventId !== EVENT_ID) {
        answer.result = "wrong_event";
        await enqueue(scan, answer);
        return answer;
      }
      reg = state.byId.get(claim.publicId) || null;
      if (!reg) {
        answer.result = "unknown_local";
        answer.extra = state.roster ? "" : T.noRoster;
        await enqueue(scan, answer);
        return answer;
      }
    } else {
      reg = state.byId.get(scan.registration_id) || null;
      if (!reg) {
        answer.result = "invalid";
        return answer;
      }
    }
    answer.registration = reg;
    answer.unverified = unverified;
    const now = Date.now();
    const event = state.roster.event;
    const local = state.local.get(reg.id);
    const today = eventDay();
    // The server's door rule (checkin.door_verdict), offline: keep both on the cases of
    // registrations/door_cases.json (tests/e2e/test_door_cases.py runs them here).
    if (reg.status === "cancelled" || reg.status === "declined") answer.result = "cancelled";
    else if (reg.status === "waitlisted") answer.result = "waitlisted";
    else if (reg.status === "pending_approval" || reg.status === "pending_email") {
      answer.result = "unapproved";
    }
    else if (now < Date.parse(event.checkin_opens_at) || now > Date.parse(event.ends_at)) {
      answer.result = "outside_window";
    } else if (reg.checked_in_at && state.roster.day === today) {
      answer.result = "already_checked_in";
      answer.previous_checkin_at = reg.checked_in_at;
    } else if (local && local.day === today) {
      answer.result = "already_checked_in";
      answer.previous_checkin_at = local.at;
      answer.previous_device = T.thisTablet;
    } else {
      answer.result = "ok";
      const row = { key: `${EVENT_ID}:${reg.id}`, event_id: EVENT_ID, id: reg.id, at: scan.scanned_at, day: today };
      state.local.set(reg.id, row);
      await localPut(row);
    }
    await enqueue(scan, answer);
    return answer;
  }

  async function enqueue(scan, answer) {
    const reg = answer.registration;
    await queuePut({ ...scan, local_result: answer.result, name: reg ? reg.name : "" });
    await refreshQueue();
  }

  async function refreshQueue() {
    state.queueItems = await queueAll();
    state.queueCount = state.queueItems.length;
    renderStatus();
    renderCounts();
    renderRecent();
  }

  // ---- Sync the offline queue ----
  // Batches in scan order; the server applies them idempotently (by nonce), first
  // check-in wins. What the server decides differently from this tablet is listed.
  async function sendBatch(batch) {
    let body;
    try {
      body = await api(
        "POST",
        "/api/v1/checkin/sync",
        {
          event_id: EVENT_ID,
          scans: batch.map((s) => {
            const out = { nonce: s.nonce, scanned_at: s.scanned_at };
            if (s.payload) out.payload = s.payload;
            else out.registration_id = s.registration_id;
            if (s.device_id) out.device_id = s.device_id;
            if (s.volunteer) out.volunteer = s.volunteer;
            return out;
          }),
        },
        15000
      );
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 422) throw error;
      // One malformed scan must not block the others: one by one, drop the refused one.
      if (batch.length > 1) {
        for (const item of batch) await sendBatch([item]);
        return;
      }
      state.dups.unshift({ name: batch[0].name, result: "invalid", message: error.message, scanned_at: batch[0].scanned_at });
      await queueDelete([batch[0].nonce]);
      return;
    }
    const byNonce = new Map(batch.map((s) => [s.nonce, s]));
    for (const result of body.results || []) {
      const sent = byNonce.get(result.nonce);
      if (!sent) continue;
      if (sent.local_result === "ok" && result.result !== "ok") {
        state.dups.unshift({
          name: (result.registration && result.registration.name) || sent.name,
          result: result.result,
          message: result.message,
          scanned_at: sent.scanned_at,
          previous_checkin_at: result.previous_checkin_at,
          previous_device: result.previous_device,
        });
      }
    }
    await queueDelete(batch.map((s) => s.nonce));
  }

  async function syncQueue() {
    if (state.syncing || !navigator.onLine || state.authFailed) return;
    state.syncing = true;
    try {
      let items = await queueAll();
      while (items.length) {
        await sendBatch(items.slice(0, SYNC_BATCH));
        items = await queueAll();
      }
    } catch (error) {
      // Stays queued; the next live poll or reconnect tries again.
    } finally {
      state.syncing = false;
      await refreshQueue();
      renderDups();
    }
  }

  // ---- The answer screen ----
  let answerTimer = null;
  function showAnswer(answer, frameAt) {
    const tone = TONE[answer.result] || "refused";
    const box = $("answer");
    box.className = `answer answer-${tone}`;
    box.dataset.result = answer.result;
    $("answer-title").textContent = TITLE[answer.result] || answer.message || T.invalid;
    const reg = answer.registration;
    $("answer-name").textContent = reg ? reg.name : "";
    const details = [];
    if (reg) {
      if (reg.clientele_name) details.push(reg.clientele_name);
      details.push(T.party(reg.party_size || 1));
      if (reg.organization) details.push(reg.organization);
    }
    $("answer-details").textContent = details.join(" · ");
    const extra = [];
    if (answer.result === "already_checked_in" && answer.previous_checkin_at) {
      let line = T.previously.replace("%t", fmtTime(answer.previous_checkin_at));
      if (answer.previous_device) line += T.previousDevice.replace("%d", answer.previous_device);
      extra.push(line);
    }
    if (answer.result === "wrong_event" && answer.right_event) {
      let when = "";
      try {
        when = new Intl.DateTimeFormat("fr-CA", {
          dateStyle: "long",
          timeStyle: "short",
          timeZone: eventZone(),
        }).format(new Date(answer.right_event.starts_at));
      } catch (error) {
        when = "";
      }
      extra.push(T.rightEvent.replace("%e", answer.right_event.title).replace("%w", when));
    }
    if (answer.extra) extra.push(answer.extra);
    if (answer.unverified) extra.push(T.unverified);
    $("answer-extra").textContent = extra.join(" — ");
    $("answer-offline").hidden = !answer.offline;
    box.hidden = false;
    state.answerOpen = true;
    box.focus({ preventScroll: true });
    signal(tone);
    const shown = performance.now();
    box.dataset.shownAt = String(shown);
    if (frameAt) {
      box.dataset.frameAt = String(frameAt);
      box.dataset.decodeMs = String(Math.round(cam.lastMs));
    }
    requestAnimationFrame(() => {
      box.dataset.paintedAt = String(performance.now());
    });
    clearTimeout(answerTimer);
    answerTimer = setTimeout(closeAnswer, tone === "ok" ? 2500 : 5000);
    if (!$("pane-recent").hidden) renderRecent();
  }

  function closeAnswer() {
    clearTimeout(answerTimer);
    $("answer").hidden = true;
    state.answerOpen = false;
  }

  // Sound (WebAudio) and vibration.
  let audio = null;
  function unlockAudio() {
    try {
      if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (error) {
      audio = null;
    }
  }
  function signal(tone) {
    const patterns = {
      ok: { tones: [[880, 0, 0.15]], vibrate: [80] },
      attention: { tones: [[520, 0, 0.14], [520, 0.22, 0.14]], vibrate: [120, 80, 120] },
      refused: { tones: [[196, 0, 0.5]], vibrate: [450] },
    }[tone];
    try {
      if (navigator.vibrate) navigator.vibrate(patterns.vibrate);
    } catch (error) {
      /* no vibration */
    }
    if (!audio || audio.state !== "running") return;
    const t0 = audio.currentTime;
    for (const [freq, at, len] of patterns.tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = tone === "refused" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + at);
      gain.gain.exponentialRampToValueAtTime(0.4, t0 + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + len);
      osc.connect(gain).connect(audio.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + len + 0.05);
    }
  }

  // ---- Camera scanning ----
  const cam = {
    stream: null,
    worker: null,
    detector: null,
    canvas: null,
    ctx: null,
    busy: false,
    running: false,
    framesSeen: 0,
    framesTaken: -1,
    attempt: 0,
    grabbedAt: 0,
    spare: null,
    lastMs: 0,
  };

  async function startCamera() {
    $("camera-start").hidden = true;
    $("camera-message").hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraProblem(T.cameraNone);
      return;
    }
    try {
      cam.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      cameraProblem(error && error.name === "NotFoundError" ? T.cameraNone : T.cameraDenied);
      return;
    }
    const video = $("video");
    video.srcObject = cam.stream;
    try {
      await video.play();
    } catch (error) {
      /* autoplay of a muted stream is allowed; play() may still reject harmlessly */
    }
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) cam.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (error) {
        cam.detector = null;
      }
    }
    if (!cam.detector && !cam.worker) {
      cam.worker = new Worker("/static/checkin/decoder.js");
      cam.worker.onmessage = onDecoded;
      cam.canvas = document.createElement("canvas");
      cam.ctx = cam.canvas.getContext("2d", { willReadFrequently: true });
    }
    cam.running = true;
    document.body.dataset.scanning = "1";
    watchFrames();
  }

  function cameraProblem(message) {
    const msg = $("camera-message");
    msg.textContent = message;
    msg.hidden = false;
    $("camera-start").hidden = false;
  }

  function stopCamera() {
    cam.running = false;
    delete document.body.dataset.scanning;
    if (cam.stream) cam.stream.getTracks().forEach((t) => t.stop());
    cam.stream = null;
  }

  function watchFrames() {
    const video = $("video");
    if (video.requestVideoFrameCallback) {
      const onFrame = () => {
        if (!cam.running) return;
        cam.framesSeen += 1;
        pump();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    } else {
      const tick = () => {
        if (!cam.running) return;
        cam.framesSeen += 1;
        pump();
        setTimeout(tick, 50);
      };
      tick();
    }
  }

  // Take the newest frame when the decoder is idle (never queue frames).
  function pump() {
    if (!cam.running || cam.busy || state.answerOpen) return;
    if (cam.framesTaken >= cam.framesSeen) return;
    const video = $("video");
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh) return;
    cam.framesTaken = cam.framesSeen;
    cam.busy = true;
    cam.grabbedAt = performance.now();
    if (cam.detector) {
      cam.detector
        .detect(video)
        .then((codes) => onDecoded({ data: { text: codes.length ? codes[0].rawValue : null } }))
        .catch(() => onDecoded({ data: { text: null } }));
      return;
    }
    // The centre square (where the guide is) most of the time, the whole frame every
    // third attempt; both downscaled to about 320 px for speed.
    cam.attempt += 1;
    let sx;
    let sy;
    let sw;
    let sh;
    let w;
    let h;
    if (cam.attempt % 3 === 0) {
      sx = 0;
      sy = 0;
      sw = vw;
      sh = vh;
      w = Math.min(vw, 400);
      h = Math.round((vh * w) / vw);
    } else {
      const side = Math.min(vw, vh);
      sx = Math.round((vw - side) / 2);
      sy = Math.round((vh - side) / 2);
      sw = side;
      sh = side;
      w = Math.min(side, 320);
      h = w;
    }
    if (cam.canvas.width !== w || cam.canvas.height !== h) {
      cam.canvas.width = w;
      cam.canvas.height = h;
    }
    cam.ctx.drawImage(video, sx, sy, sw, sh, 0, 0, w, h);
    const image = cam.ctx.getImageData(0, 0, w, h);
    cam.worker.postMessage({ id: cam.framesTaken, buffer: image.data.buffer, width: w, height: h }, [
      image.data.buffer,
    ]);
  }

  function onDecoded(message) {
    cam.busy = false;
    const { text, ms } = message.data;
    if (ms) cam.lastMs = ms;
    if (text) {
      const now = performance.now();
      const same = text === state.lastText && now - state.lastTextAt < SAME_PAYLOAD_MS;
      state.lastTextAt = now;
      if (!same && !state.answerOpen) {
        state.lastText = text;
        if (!text.trim().toUpperCase().startsWith(PREFIX)) {
          showAnswer({ result: "invalid", extra: T.notATicket, offline: !state.online }, cam.grabbedAt);
        } else {
          decide({ payload: text, frameAt: cam.grabbedAt });
        }
        return;
      }
    }
    pump(); // a newer frame may already be there
  }

  // ---- Manual code entry ----
  async function manualEntry(event) {
    event.preventDefault();
    const input = $("manual-code");
    const raw = input.value.trim();
    if (!raw) return;
    input.value = "";
    input.blur();
    if (raw.toUpperCase().startsWith(PREFIX)) {
      decide({ payload: raw });
      return;
    }
    const code = normCode(raw);
    let reg = state.byCode.get(code) || null;
    if (!reg && state.online) {
      try {
        const body = await api("GET", `/api/v1/events/${EVENT_ID}/checkin/search?q=${encodeURIComponent(code)}`);
        reg = (body.items || []).find((item) => item.ticket_code === code) || null;
      } catch (error) {
        reg = null;
      }
    }
    if (!reg) {
      showAnswer({ result: "invalid", extra: T.codeNotFound, offline: !state.online });
      return;
    }
    decide({ registrationId: reg.id });
  }

  // ---- Search ----
  let searchTimer = null;
  let searchSeq = 0;
  function onSearchInput() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  }

  function localSearch(q) {
    const needle = fold(q);
    const code = normCode(q);
    const out = [];
    for (const reg of state.byId.values()) {
      const name = fold(reg.name);
      if (name.includes(needle) || (code.length >= 4 && (reg.ticket_code || "").startsWith(code))) {
        out.push({ ...reg, checked_in: Boolean(reg.checked_in_at) || state.local.has(reg.id) });
      }
      if (out.length >= 25) break;
    }
    return out;
  }

  async function runSearch() {
    const q = $("search-input").value.trim();
    const seq = ++searchSeq;
    const list = $("search-results");
    const hint = $("search-hint");
    if (q.length < 2) {
      list.replaceChildren();
      hint.textContent = T.searchHint;
      return;
    }
    let items = null;
    hint.textContent = "";
    if (state.online) {
      try {
        const body = await api("GET", `/api/v1/events/${EVENT_ID}/checkin/search?q=${encodeURIComponent(q)}`);
        items = (body.items || []).map((item) => ({ ...item, checked_in: item.checked_in || state.local.has(item.id) }));
      } catch (error) {
        items = null;
      }
    }
    if (items === null) {
      items = localSearch(q);
      hint.textContent = T.searchOffline;
    }
    if (seq !== searchSeq) return;
    list.replaceChildren();
    if (!items.length) {
      list.append(el("li", "empty", T.searchNone));
      return;
    }
    for (const item of items) {
      const li = el("li", "result");
      const info = el("div", "result-info");
      info.append(el("strong", "result-name", item.name));
      const bits = [item.clientele_name || "", T.party(item.party_size || 1), item.ticket_code || ""];
      if (item.status && item.status !== "confirmed") bits.push(T.status[item.status] || item.status);
      info.append(el("span", "result-meta", bits.filter(Boolean).join(" · ")));
      li.append(info);
      if (item.checked_in) li.append(el("span", "badge badge-done", T.checkedIn));
      const button = el("button", "button button-primary", T.checkInButton);
      button.type = "button";
      button.addEventListener("click", async () => {
        await decide({ registrationId: item.id });
        runSearch();
      });
      li.append(button);
      list.append(li);
    }
  }

  // ---- Walk-in ----
  // The clienteles the event targets (its roster; every active one when it targets none),
  // the only one pre-selected; the reference list until a roster says.
  function renderClienteles() {
    const box = $("w-clienteles");
    const chosen = box.querySelector("input:checked");
    const keep = chosen ? chosen.value : "";
    const options =
      state.roster && state.roster.walkin_clienteles
        ? state.roster.walkin_clienteles
        : state.clienteles.filter((x) => x.active !== false);
    box.replaceChildren();
    for (const c of options) {
      const label = el("label", "choice");
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "clientele";
      input.value = c.code;
      input.defaultChecked = options.length === 1; // kept by the form's reset
      input.checked = input.defaultChecked || c.code === keep;
      label.append(input, el("span", "", c.name_fr || c.name));
      box.append(label);
    }
  }

  function renderWalkinChoices() {
    renderClienteles();
    const select = $("w-territory");
    const keep = select.value;
    select.replaceChildren(el("option", "", "—"));
    select.firstChild.value = "";
    const regions = new Map(state.territories.filter((t) => t.kind === "region").map((t) => [t.code, t.name]));
    const groups = new Map();
    for (const t of state.territories.filter((x) => x.kind === "mrc")) {
      if (!groups.has(t.region_code)) groups.set(t.region_code, []);
      groups.get(t.region_code).push(t);
    }
    for (const [code, items] of [...groups.entries()].sort()) {
      const group = document.createElement("optgroup");
      group.label = regions.get(code) || code;
      for (const t of items.sort((a, b) => a.name.localeCompare(b.name, "fr"))) {
        const option = el("option", "", t.name);
        option.value = t.code;
        group.append(option);
      }
      select.append(group);
    }
    select.value = keep;
  }

  function stepParty(delta) {
    const input = $("w-party");
    const value = Math.max(1, Math.min(20, (parseInt(input.value, 10) || 1) + delta));
    input.value = String(value);
  }

  async function submitWalkin(event) {
    event.preventDefault();
    const form = $("walkin");
    form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
    const error = $("walkin-error");
    error.hidden = true;
    if (!state.online) {
      error.textContent = T.walkinOffline;
      error.hidden = false;
      return;
    }
    const data = new FormData(form);
    const clientele = data.get("clientele");
    if (!clientele) {
      form.querySelector('[data-for="clientele"]').textContent = T.walkinChooseClientele;
      return;
    }
    const body = {
      first_name: String(data.get("first_name") || "").trim(),
      last_name: String(data.get("last_name") || "").trim(),
      email: String(data.get("email") || "").trim(),
      clientele: String(clientele),
      organization: String(data.get("organization") || "").trim(),
      party_size: parseInt(String(data.get("party_size") || "1"), 10) || 1,
      volunteer: state.volunteer,
      // Kept until the walk-in succeeds: pressing again after a timeout registers once.
      nonce: form.dataset.nonce || (form.dataset.nonce = crypto.randomUUID()),
    };
    const territory = String(data.get("territory") || "");
    if (territory) body.territory = territory;
    try {
      const answer = await api("POST", `/api/v1/events/${EVENT_ID}/walkins`, body, 8000);
      delete form.dataset.nonce;
      form.reset();
      $("w-party").value = "1";
      answer.extra = T.walkinDone;
      showAnswer({ ...answer, offline: false });
      loadRoster();
      pollLive();
    } catch (err) {
      if (err instanceof ApiError && err.body && err.body.error) {
        const fields = err.body.error.fields || {};
        for (const [name, message] of Object.entries(fields)) {
          const p = form.querySelector(`[data-for="${name}"]`);
          if (p) p.textContent = message;
        }
        error.textContent = err.body.error.message || T.walkinFailed;
      } else {
        error.textContent = err instanceof NetError ? T.walkinOffline : T.walkinFailed;
      }
      error.hidden = false;
    }
  }

  // ---- Live counts and last scans ----
  let liveBusy = false;
  async function pollLive() {
    if (liveBusy || state.authFailed || !navigator.onLine) {
      if (!navigator.onLine) setOnline(false);
      return;
    }
    liveBusy = true;
    try {
      const body = await api("GET", `/api/v1/events/${EVENT_ID}/checkin/live`);
      state.recent = body.recent || [];
      if (state.roster) state.roster.counts = body.counts;
      renderCounts(body.counts);
      renderRecent();
      if (state.queueCount && !state.syncing) syncQueue();
    } catch (error) {
      /* offline: shown in the status bar */
    } finally {
      liveBusy = false;
    }
  }

  function renderRecent() {
    const list = $("recent-list");
    list.replaceChildren();
    for (const item of state.queueItems.slice().reverse()) {
      const li = el("li", "result result-pending");
      const info = el("div", "result-info");
      info.append(el("strong", "result-name", item.name || item.payload || item.registration_id));
      info.append(
        el("span", "result-meta", `${T.results[item.local_result] || item.local_result} · ${fmtTime(item.scanned_at)} · ${T.pending}`)
      );
      li.append(info);
      list.append(li);
    }
    for (const item of state.recent) {
      const li = el("li", `result result-${TONE[item.result] || "refused"}`);
      const info = el("div", "result-info");
      info.append(el("strong", "result-name", item.name || "—"));
      const bits = [
        T.results[item.result] || item.result,
        fmtTime(item.scanned_at),
        item.device || "",
        item.volunteer || "",
      ];
      info.append(el("span", "result-meta", bits.filter(Boolean).join(" · ")));
      li.append(info);
      // The server sends `undone` (and no checkin_id) once a check-in is undone, on every
      // tablet; this tablet's own undo shows at once, before the next refresh.
      if (item.undone || (item.checkin_id && state.undone.has(item.checkin_id))) {
        li.append(el("span", "badge badge-done", T.undone));
      } else if (item.checkin_id && state.online) {
        li.dataset.checkinId = String(item.checkin_id);
        // The list is redrawn every few seconds: the confirmation step lives in state.
        const armed = (state.undoArmed.get(item.checkin_id) || 0) > Date.now();
        const button = el("button", `button button-undo${armed ? " armed" : ""}`, armed ? T.undoConfirm : T.undo);
        button.type = "button";
        button.addEventListener("click", () => undo(item.checkin_id, button));
        li.append(button);
      }
      list.append(li);
    }
    if (!list.children.length) list.append(el("li", "empty", T.noRecent));
  }

  async function undo(checkinId, button) {
    if ((state.undoArmed.get(checkinId) || 0) <= Date.now()) {
      state.undoArmed.set(checkinId, Date.now() + 5000);
      button.textContent = T.undoConfirm;
      button.classList.add("armed");
      setTimeout(renderRecent, 5100);
      return;
    }
    state.undoArmed.delete(checkinId);
    button.disabled = true;
    try {
      await api("POST", `/api/v1/checkin/${checkinId}/undo`, {});
      state.undone.add(checkinId);
      button.textContent = T.undone;
      await loadRoster();
      await pollLive();
    } catch (error) {
      button.textContent = T.undoFailed;
    }
  }

  function renderDups() {
    const list = $("dups-list");
    list.replaceChildren();
    for (const d of state.dups) {
      const li = el("li", "result result-attention");
      const info = el("div", "result-info");
      info.append(el("strong", "result-name", d.name || "—"));
      let line;
      if (d.result === "already_checked_in") {
        line = T.duplicateOf
          .replace("%t", fmtTime(d.previous_checkin_at))
          .replace("%d", d.previous_device ? T.previousDevice.replace("%d", d.previous_device) : "");
      } else {
        line = T.serverSaid.replace("%m", d.message || T.results[d.result] || d.result);
      }
      info.append(el("span", "result-meta", `${fmtTime(d.scanned_at)} · ${line}`));
      li.append(info);
      list.append(li);
    }
    $("dups").hidden = state.dups.length === 0;
  }

  // ---- Tabs ----
  function selectTab(name) {
    for (const tab of ["search", "walkin", "recent"]) {
      const on = tab === name;
      $(`tab-${tab}`).setAttribute("aria-selected", on ? "true" : "false");
      $(`pane-${tab}`).hidden = !on;
      document.body.classList.toggle(`tab-${tab}`, on);
    }
    if (name === "recent") renderRecent();
    if (name === "search") $("search-input").focus();
  }

  // ---- Service worker ----
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker
      .register("/checkin/sw.js", { scope: "/checkin/" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        if (registration.active) registration.active.postMessage({ cacheShell: location.pathname });
      })
      .catch(() => {});
  }

  // ---- Start ----
  async function start() {
    const match = location.hash.match(/token=([^&]+)/);
    if (match) {
      localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    state.token = localStorage.getItem(TOKEN_KEY) || "";
    // A new device link opened in this tab (the tablet paired again): start over with it.
    window.addEventListener("hashchange", () => {
      if (/token=/.test(location.hash)) location.reload();
    });
    $("event-title").textContent = T.appTitle;
    registerServiceWorker();
    if (!state.token && !CSRF) {
      showGate(T.needLink);
      return;
    }
    $("app").hidden = false;
    renderStatus();

    const volunteer = $("volunteer");
    volunteer.value = state.volunteer = localStorage.getItem(VOLUNTEER_KEY) || "";
    volunteer.addEventListener("input", () => {
      state.volunteer = volunteer.value.trim().slice(0, 100);
      localStorage.setItem(VOLUNTEER_KEY, state.volunteer);
    });
    $("answer").addEventListener("click", closeAnswer);
    $("manual").addEventListener("submit", manualEntry);
    $("search-input").addEventListener("input", onSearchInput);
    $("walkin").addEventListener("submit", submitWalkin);
    $("w-party-minus").addEventListener("click", () => stepParty(-1));
    $("w-party-plus").addEventListener("click", () => stepParty(1));
    $("camera-start").addEventListener("click", startCamera);
    $("dups-clear").addEventListener("click", () => {
      state.dups = [];
      renderDups();
    });
    for (const tab of ["search", "walkin", "recent"]) {
      $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
    }
    document.addEventListener("pointerdown", unlockAudio, { passive: true });
    window.addEventListener("online", () => {
      state.online = false;
      pollLive();
    });
    window.addEventListener("offline", () => setOnline(false));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") pollLive();
    });
    if (navigator.wakeLock) navigator.wakeLock.request("screen").catch(() => {});

    // The cache first (instant, and what we have when offline), then the network.
    try {
      const cached = await kvGet(`roster:${EVENT_ID}`);
      if (cached) useRoster(cached);
      state.clienteles = (await kvGet("clienteles")) || [];
      state.territories = (await kvGet("territories")) || [];
      for (const row of await localAll()) state.local.set(row.id, row);
      renderWalkinChoices();
      await refreshQueue();
    } catch (error) {
      /* private mode without IndexedDB: online only */
    }
    startCamera();
    if (!navigator.onLine) setOnline(false);
    await loadRoster();
    if (state.authFailed) return;
    loadReference();
    pollLive();
    if (state.queueCount) syncQueue();
    setInterval(pollLive, LIVE_EVERY_MS);
    setInterval(loadRoster, ROSTER_EVERY_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
