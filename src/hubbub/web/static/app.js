// Hubbub dashboard: live updates over one EventSource, fetch-posted forms, and reading comforts.
// Every page works without this file; it only makes them live and quicker to use.
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const live = $("#live");
  const me = live ? live.dataset.me : "";
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const fetchHeaders = { "X-Requested-With": "fetch" };

  // ---- themes: the system's by default; the toggle pins dark or light ----
  const applyTheme = (theme) => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    $$(".theme-toggle").forEach((b) => { b.textContent = `Theme: ${theme || "system"}`; });
  };
  applyTheme(localStorage.getItem("hubbub-theme"));
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".theme-toggle")) return;
    const order = [null, "dark", "light"];
    const next = order[(order.indexOf(localStorage.getItem("hubbub-theme")) + 1) % order.length];
    if (next) localStorage.setItem("hubbub-theme", next);
    else localStorage.removeItem("hubbub-theme");
    applyTheme(next);
  });

  // ---- fragments: times in local time, the viewer's own messages marked ----
  const dress = (root) => {
    $$("time[datetime]", root).forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when) && !el.dataset.local) {
        el.dataset.local = "1";
        el.title = el.textContent;
        el.textContent = when.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
      }
    });
    const messages = root.matches && root.matches(".msg") ? [root] : $$(".msg", root);
    messages.forEach((el) => el.classList.toggle("mine", !!me && el.dataset.author === me));
    $$('input[name="csrf"]', root).forEach((el) => { el.value = csrf(); });
  };
  const parse = (html) => {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const node = template.content.firstElementChild;
    if (node) dress(node);
    return node;
  };

  // ---- requests of our own: the CSRF token in a header; problem+json back on refusal ----
  const send = (url, body) => fetch(url, {
    method: "POST",
    body,
    headers: { ...fetchHeaders, "X-CSRF-Token": csrf() },
    credentials: "same-origin",
  });
  const problem = async (response) => {
    try {
      const data = await response.json();
      return data.detail || data.title || `error ${response.status}`;
    } catch {
      return `error ${response.status}`;
    }
  };

  // ---- auto-scroll that pauses while the reader is scrolled up ----
  const stream = $("#stream");
  const pill = $("#new-pill");
  let unseen = 0;
  const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  const toBottom = (el) => { el.scrollTop = el.scrollHeight; };
  const showPill = () => {
    if (!pill) return;
    pill.hidden = unseen === 0;
    pill.textContent = `${unseen} new message${unseen === 1 ? "" : "s"}`;
  };

  // ---- read cursor: moved only when the reader is at the bottom of the channel ----
  let readTimer = null;
  const markRead = () => {
    if (!live || !live.dataset.member || !stream || $("#messages[data-partial]")) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      const last = $$(".msg", stream).pop();
      if (!last) return;
      const body = new URLSearchParams({ seq: last.dataset.id });
      send(`/c/${encodeURIComponent(live.dataset.channel)}/read`, body).catch(() => {});
    }, 800);
  };

  // ---- older history on scroll (an "Older messages" link without JS) ----
  let loadingOlder = false;
  const loadOlder = async () => {
    const link = stream && $("a.older-link", stream);
    if (!link || loadingOlder) return;
    loadingOlder = true;
    try {
      const response = await fetch(link.dataset.fragment, { headers: fetchHeaders });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = await response.text();
      const height = stream.scrollHeight;
      link.closest(".older").remove();
      const list = $("#messages");
      const first = list.firstElementChild;
      Array.from(holder.content.children).forEach((node) => {
        dress(node);
        if (node.matches(".older")) stream.insertBefore(node, list);
        else if (!$(`#${node.id}`, list)) list.insertBefore(node, first);
      });
      stream.scrollTop += stream.scrollHeight - height;
    } finally {
      loadingOlder = false;
    }
  };
  if (stream) {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView({ block: "center" });
    else toBottom(stream);
    stream.addEventListener("scroll", () => {
      if (atBottom(stream) && unseen) { unseen = 0; showPill(); markRead(); }
      if (stream.scrollTop < 40) loadOlder();
    });
  }
  if (pill) pill.addEventListener("click", () => { toBottom(stream); unseen = 0; showPill(); });

  // ---- placing what arrives ----
  // A message's new rendering (an edit) carries no files: it keeps those already shown.
  const keepFiles = (old, node) => {
    const shown = $(".files", old);
    const fresh = $(".files", node);
    if (shown && fresh && !fresh.children.length) fresh.replaceWith(shown);
  };
  const place = (list, node, scroller) => {
    const existing = $(`#${node.id}`, list);
    if (existing) { keepFiles(existing, node); existing.replaceWith(node); return false; }
    const empty = $(".empty", list);
    if (empty) empty.remove();
    const id = Number(node.dataset.id);
    const later = $$(".msg", list).find((el) => Number(el.dataset.id) > id);
    // an older stretch of the channel is open: the newest messages are not below it
    if (!later && list.dataset.partial) return false;
    const bottom = scroller && atBottom(scroller);
    list.insertBefore(node, later || null);
    if (scroller && !later) {
      if (bottom || node.dataset.author === me) toBottom(scroller);
      else if (scroller === stream) { unseen += 1; showPill(); }
    }
    return !later;
  };
  const bump = (selector, delta) => {
    $$(selector).forEach((el) => {
      const count = Math.max(0, Number(el.dataset.count || 0) + delta);
      el.dataset.count = String(count);
      el.textContent = count ? String(count) : "";
      const item = el.closest(".side-item");
      if (item) item.classList.toggle("unread", count > 0);
    });
  };
  const onMessage = (html, kind) => {
    const node = parse(html);
    if (!node) return;
    const channel = node.dataset.channel;
    const thread = $("#thread-list");
    if (thread && thread.dataset.root === node.dataset.thread) {
      place(thread, node.cloneNode(true), $("#thread-scroll"));
    }
    const list = $("#messages");
    if (list && live.dataset.channel === channel) {
      if (place(list, node.cloneNode(true), stream) && atBottom(stream)) markRead();
    } else if (kind === "message.posted" && node.dataset.author !== me) {
      bump(`[data-unread="${CSS.escape(channel)}"]`, 1);
    }
    const activity = $("#activity");
    if (activity) {
      const copy = node.cloneNode(true);
      const old = $(`#${copy.id}`, activity);
      if (old) { keepFiles(old, copy); old.replaceWith(copy); } else activity.prepend(copy);
    }
  };
  // A shared file joins its message wherever that message is shown; a deleted one leaves.
  const onFile = (html) => {
    const node = parse(html);
    if (!node) return;
    $$(`.msg[data-id="${CSS.escape(node.dataset.message)}"] .files`).forEach((box) => {
      if (!$(`[data-file="${CSS.escape(node.dataset.file)}"]`, box)) box.append(node.cloneNode(true));
    });
  };
  const onFileGone = (html) => {
    const node = parse(html);
    if (node) $$(`[data-file="${CSS.escape(node.dataset.gone)}"]`).forEach((el) => el.remove());
  };
  const onTask = (html) => {
    const node = parse(html);
    if (!node) return;
    const old = document.getElementById(node.id);
    const column = $(`[data-column="${node.dataset.status}"]`);
    if (column) {
      if (old) old.remove();
      column.append(node);
    } else if (old) {
      old.replaceWith(node);
    }
    tick();
  };
  const onAgent = (html) => {
    const node = parse(html);
    if (!node) return;
    const old = document.getElementById(node.id);
    if (old) old.replaceWith(node);
    $$(`[data-presence="${CSS.escape(node.dataset.agent)}"]`).forEach((dot) => {
      dot.className = `dot s-${node.dataset.status}`;
      dot.title = node.dataset.status;
    });
  };
  const onInbox = (html) => {
    const node = parse(html);
    if (!node) return;
    bump("#inbox-count", 1);
    const list = $("#inbox-list");
    if (list && !$(`[data-item="${node.dataset.item}"]`, list)) list.prepend(node);
  };
  const onAcked = (html) => {
    const node = parse(html);
    if (node) bump("#inbox-count", -Number(node.dataset.count || 0));
  };
  const onChannel = (html) => {
    const node = parse(html);
    if (!node || $(`[data-side="${CSS.escape(node.dataset.side)}"]`)) return;
    const list = node.dataset.side.startsWith("dm:") ? $("#side-dms") : $("#side-new");
    if (list) list.append(node);
  };

  // ---- the live stream: one EventSource, resumed from the last id after any drop ----
  const state = $("#live-state");
  const say = (text, kind) => { if (state) { state.textContent = text; state.dataset.state = kind; } };
  let lastId = live ? live.dataset.after : "";
  let retries = 0;
  const handlers = {
    "message.posted": onMessage, "message.edited": onMessage, "message.deleted": onMessage,
    task: onTask, agent: onAgent, "inbox.item": onInbox, "inbox.acked": onAcked,
    channel: onChannel, file: onFile, "file.deleted": onFileGone,
  };
  const connect = () => {
    const query = new URLSearchParams({ after: lastId || "" });
    if (live.dataset.channel) query.set("channel", live.dataset.channel);
    const source = new EventSource(`/live?${query}`);
    source.onopen = () => { retries = 0; say("live", "up"); };
    Object.entries(handlers).forEach(([name, handle]) => {
      source.addEventListener(name, (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        handle(event.data, name);
      });
    });
    source.addEventListener("skip", (event) => { if (event.lastEventId) lastId = event.lastEventId; });
    source.addEventListener("resync", () => { source.close(); location.reload(); });
    source.addEventListener("closed", () => { source.close(); say("signed out", "down"); });
    source.onerror = () => {
      say("reconnecting…", "down");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the hub answered with an error or is away): try again,
        // later each time, resuming after the last event seen.
        retries += 1;
        const wait = Math.min(15000, 250 * 2 ** Math.min(retries, 6)) * (0.5 + Math.random() / 2);
        setTimeout(connect, wait);
      }
    };
  };
  if (live) connect();

  // ---- forms posted with fetch: a fragment back, or the refusal shown in the form ----
  const showError = (form, text) => {
    let box = $(".form-error", form);
    if (!box) {
      box = document.createElement("p");
      box.className = "form-error";
      box.setAttribute("role", "alert");
      form.append(box);
    }
    box.textContent = text;
    box.hidden = !text;
  };
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    const mode = form.dataset.fetch;
    if (!mode) return;
    event.preventDefault();
    // A file goes as the form it is (multipart); everything else as URL-encoded fields.
    const body = mode === "upload" ? new FormData(form) : new URLSearchParams(new FormData(form));
    showError(form, "");
    let response;
    try {
      response = await send(form.action, body);
    } catch {
      showError(form, "The hub cannot be reached; nothing was sent.");
      return;
    }
    if (!response.ok) { showError(form, await problem(response)); return; }
    const html = await response.text();
    if (mode === "compose" || mode === "upload") {
      form.reset();
      const panel = mode === "upload" && form.closest("details");
      if (panel) panel.open = false;
      if (html.trim()) onMessage(html, "message.posted");
      const box = $("textarea", form);
      if (box) box.focus();
    } else if (mode === "replace") {
      const node = parse(html);
      const target = form.closest(".msg, .card");
      if (node && target) target.replaceWith(node);
    } else if (mode === "insert") {
      const node = parse(html);
      const into = $(form.dataset.into);
      if (node && into) into.prepend(node);
      if (!form.dataset.keep) form.reset();
    } else if (mode === "go") {
      location.assign(response.headers.get("X-Hubbub-Location") || location.href);
    }
  });

  // ---- compose: Enter sends, Shift+Enter a new line; @ completes agent names ----
  let menu = null;
  const closeMenu = () => { if (menu) { menu.remove(); menu = null; } };
  const choose = (box, name) => {
    const before = box.value.slice(0, box.selectionStart).replace(/@[\w.-]*$/, `@${name} `);
    box.value = before + box.value.slice(box.selectionStart);
    box.selectionStart = box.selectionEnd = before.length;
    closeMenu();
    box.focus();
  };
  document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (menu && box.matches("textarea[data-mentions]")) {
      const items = $$("li", menu);
      const at = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items.forEach((li, i) => li.setAttribute("aria-selected", String(i === next)));
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && at >= 0) {
        event.preventDefault();
        choose(box, items[at].dataset.name);
        return;
      }
      if (event.key === "Escape") { closeMenu(); return; }
    }
    if (box.matches(".compose textarea, .edit textarea") && event.key === "Enter"
        && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (box.value.trim()) box.form.requestSubmit();
      return;
    }
    if (event.key === "/" && !box.matches("input, textarea, select")) {
      const search = $("#side-q");
      if (search) { event.preventDefault(); search.focus(); }
    }
    if (event.key === "Escape" && !box.matches("input, textarea")) {
      const close = $("#thread-close");
      if (close) close.click();
    }
  });
  let completing = 0;
  document.addEventListener("input", async (event) => {
    const box = event.target;
    if (!box.matches("textarea[data-mentions]")) return;
    const word = box.value.slice(0, box.selectionStart).match(/(?:^|\s)@([\w.-]*)$/);
    if (!word) { closeMenu(); return; }
    const ticket = ++completing;
    const response = await fetch(`/complete/agents?q=${encodeURIComponent(word[1])}`, { headers: fetchHeaders });
    if (ticket !== completing || !response.ok) return;
    const list = parse(await response.text());
    closeMenu();
    if (!list || !list.children.length) return;
    menu = list;
    menu.classList.add("completions");
    menu.firstElementChild.setAttribute("aria-selected", "true");
    menu.addEventListener("mousedown", (e) => {
      const li = e.target.closest("li");
      if (li) { e.preventDefault(); choose(box, li.dataset.name); }
    });
    box.form.append(menu);
  });

  // ---- threads open beside the channel ----
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("[data-thread-open]");
    if (!link || !live || !live.dataset.channel) return;
    event.preventDefault();
    const root = link.dataset.threadOpen;
    const url = `/c/${encodeURIComponent(live.dataset.channel)}/thread/${root}`;
    const response = await fetch(url, { headers: fetchHeaders });
    if (!response.ok) return;
    const aside = $("#thread");
    aside.innerHTML = await response.text();
    aside.hidden = false;
    dress(aside);
    const scroller = $("#thread-scroll");
    if (scroller) toBottom(scroller);
    history.replaceState(null, "", `?thread=${root}`);
    const box = $(".compose textarea", aside);
    if (box) box.focus();
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#thread-close")) return;
    event.preventDefault();
    const aside = $("#thread");
    aside.hidden = true;
    aside.innerHTML = "";
    history.replaceState(null, "", location.pathname);
  });

  // ---- profile cards: a name clicked anywhere shows its agent's card ----
  let card = null;
  const closeCard = () => { if (card) { card.remove(); card = null; } };
  document.addEventListener("click", async (event) => {
    const link = event.target.closest("a[data-card]");
    if (!link) {
      if (card && !event.target.closest(".popover")) closeCard();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    closeCard();
    const response = await fetch(link.href, { headers: fetchHeaders });
    if (!response.ok) return;
    card = parse(await response.text());
    if (!card) return;
    card.classList.add("popover");
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-label", `Profile of ${link.dataset.card}`);
    card.tabIndex = -1;
    const box = link.getBoundingClientRect();
    card.style.setProperty("--top", `${Math.round(box.bottom + window.scrollY + 4)}px`);
    card.style.setProperty("--left", `${Math.round(box.left + window.scrollX)}px`);
    document.body.append(card);
    card.focus();
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeCard(); });

  // ---- DMs: the list of agents fills on first focus ----
  const dmInput = $("#dm-to");
  if (dmInput) {
    dmInput.addEventListener("focus", async () => {
      const response = await fetch("/complete/agents?q=", { headers: fetchHeaders });
      if (!response.ok) return;
      const items = parse(await response.text());
      const list = $("#dm-agents");
      if (!items || !list) return;
      $$("li", items).forEach((li) => {
        const option = document.createElement("option");
        option.value = li.dataset.name;
        list.append(option);
      });
    }, { once: true });
  }

  // ---- leases count down in the browser (a clock, not a request) ----
  function tick() {
    const now = Date.now();
    $$(".lease[data-expires]").forEach((el) => {
      const left = Math.round((new Date(el.dataset.expires) - now) / 1000);
      el.textContent = left > 0 ? `${left}s left` : "expired";
      el.classList.toggle("expired", left <= 0);
    });
  }
  if ($(".lease, .board")) { tick(); setInterval(tick, 1000); }

  dress(document.body);
  if (stream && atBottom(stream)) markRead();
})();
