// Hamkor's small script: keyboard shortcut for the search box. Pages work without it.
document.addEventListener("keydown", function (e) {
  if (e.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
    var box = document.getElementById("global-search");
    if (box) { e.preventDefault(); box.focus(); }
  }
});

// The language switch submits as soon as a language is picked (its OK button stays for
// browsers without JavaScript).
document.querySelectorAll("form.lang select").forEach(function (select) {
  var button = select.form.querySelector(".lang-go");
  if (button) { button.hidden = true; }
  select.addEventListener("change", function () { select.form.submit(); });
});

// Search as you type: results grouped by kind under the search box, recent items when
// it is empty. Only text is inserted (never HTML), and the box still submits to the
// full search page without JavaScript or on Enter.
(function () {
  var box = document.getElementById("global-search");
  if (!box || !window.fetch) { return; }
  var form = box.form;
  var list = document.createElement("ul");
  list.id = "search-suggestions";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  form.appendChild(list);
  box.setAttribute("role", "combobox");
  box.setAttribute("aria-controls", list.id);
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-expanded", "false");
  var csrf = document.querySelector("input[name=_csrf]");
  var timer = null, seq = 0, active = -1, options = [];
  var label = function (name) { return box.getAttribute("data-label-" + name) || name; };

  function close() {
    list.hidden = true;
    box.setAttribute("aria-expanded", "false");
    active = -1;
  }
  function heading(text) {
    var li = document.createElement("li");
    li.className = "group";
    li.setAttribute("role", "presentation");
    li.textContent = text;
    list.appendChild(li);
  }
  function option(item) {
    var li = document.createElement("li");
    li.setAttribute("role", "option");
    li.id = "sugg-" + options.length;
    var a = document.createElement("a");
    a.href = item.href;
    var title = document.createElement("span");
    title.className = "title";
    title.textContent = item.title || "…";
    a.appendChild(title);
    if (item.subtitle) {
      var sub = document.createElement("small");
      sub.textContent = item.subtitle;
      a.appendChild(sub);
    }
    li.appendChild(a);
    list.appendChild(li);
    options.push(li);
  }
  function render(items, recent, q) {
    list.textContent = "";
    options = [];
    active = -1;
    if (recent) {
      if (!items.length) { close(); return; }
      heading(label("recent"));
      items.forEach(option);
    } else {
      ["account", "contact", "deal", "interaction", "need", "task", "event"].forEach(function (type) {
        var group = items.filter(function (i) { return i.type === type; });
        if (group.length) { heading(label(type)); group.forEach(option); }
      });
      if (!items.length) { heading(label("none")); }
      option({ href: "/search?q=" + encodeURIComponent(q), title: label("all") });
    }
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
  }
  function load() {
    var q = box.value.trim();
    var mine = ++seq;
    var url = q ? "/api/v1/search?q=" + encodeURIComponent(q) : "/api/v1/recent";
    var headers = { "Accept": "application/json" };
    if (csrf) { headers["X-CSRF-Token"] = csrf.value; }
    fetch(url, { credentials: "same-origin", headers: headers })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { if (mine === seq) { render(data.items || [], !q, q); } })
      .catch(function () { close(); });
  }
  function move(delta) {
    if (!options.length) { return; }
    if (active >= 0) { options[active].classList.remove("active"); options[active].removeAttribute("aria-selected"); }
    active = (active + delta + options.length) % options.length;
    options[active].classList.add("active");
    options[active].setAttribute("aria-selected", "true");
    box.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(load, 120);
  });
  box.addEventListener("focus", function () { if (!box.value.trim()) { load(); } });
  box.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) { load(); } else { move(1); } }
    else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "Escape") { close(); }
    else if (e.key === "Enter" && active >= 0 && !list.hidden) {
      e.preventDefault();
      window.location.href = options[active].querySelector("a").href;
    }
  });
  box.addEventListener("blur", function () { setTimeout(close, 200); });
})();

// "Select all" in a list selects the rows of this page for a bulk action.
(function () {
  var all = document.getElementById("pick-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    document.querySelectorAll("input[name=ids][form=bulk]").forEach(function (box) { box.checked = all.checked; });
  });
})();

// Reminders: a banner for each unread notification, looked for at load and every
// 30 seconds (one cheap indexed query); "dismiss" marks it read on every open tab.
(function () {
  var box = document.getElementById("notices");
  var meta = document.querySelector("meta[name=csrf]");
  if (!box || !meta) { return; }
  var shown = {};
  function headers() {
    return { "Accept": "application/json", "X-CSRF-Token": meta.getAttribute("content") };
  }
  function dismiss(id, el) {
    fetch("/api/v1/notifications/" + encodeURIComponent(id) + "/read",
      { method: "POST", credentials: "same-origin", headers: headers() })
      .finally(function () { el.remove(); });
  }
  function show(n) {
    if (shown[n.id]) { return; }
    shown[n.id] = true;
    var el = document.createElement("div");
    el.className = "notice-banner";
    el.setAttribute("role", "alert");
    var what = document.createElement("strong");
    what.textContent = n.text + ": ";
    el.appendChild(what);
    var title = n.href ? document.createElement("a") : document.createElement("span");
    title.textContent = n.title;
    if (n.href) { title.href = n.href; }
    el.appendChild(title);
    if (n.at_local) {
      var at = document.createElement("time");
      at.textContent = " · " + n.at_local;
      el.appendChild(at);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = "×";
    close.setAttribute("aria-label", box.getAttribute("data-label-close"));
    close.addEventListener("click", function () { dismiss(n.id, el); });
    el.appendChild(close);
    box.appendChild(el);
  }
  function poll() {
    fetch("/api/v1/notifications?unread=true", { credentials: "same-origin", headers: headers() })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) { (data.items || []).slice().reverse().forEach(show); })
      .catch(function () {});
  }
  poll();
  setInterval(poll, 30000);
})();

// The deal board: drag a card onto another column to move it. The drop fills in the
// card's own move form and sends it, so the server applies the same rules as without
// JavaScript; the board the server answers with (moved, or refused with the reason and
// the card back in its stage) replaces the one shown. Without fetch the form is submitted.
(function () {
  var board = document.getElementById("board");
  if (!board) { return; }
  var dragged = null;
  function columnOf(el) { return el && el.closest ? el.closest(".board-column") : null; }
  function clearDrop() {
    board.querySelectorAll(".board-column.drop").forEach(function (c) { c.classList.remove("drop"); });
  }
  function showMessage(doc) {
    var mine = document.getElementById("board-error");
    var theirs = doc.getElementById("board-error");
    if (!mine) { return; }
    if (theirs) {
      mine.innerHTML = theirs.innerHTML;
      mine.hidden = theirs.hidden;
      return;
    }
    // Not a board (e.g. "not found"): its heading and text, as text.
    var parts = [];
    doc.querySelectorAll("main h1, main p").forEach(function (el) {
      if (!el.querySelector("a")) { parts.push(el.textContent.trim()); }
    });
    mine.textContent = parts.join(" ");
    mine.hidden = parts.length === 0;
  }
  function move(card, col) {
    var form = card.querySelector("form.move");
    if (!form) { return; }
    var select = form.querySelector("select[name=stage_id]");
    var was = select.value, home = card.parentNode, after = card.nextSibling;
    select.value = col.getAttribute("data-stage");
    if (!window.fetch || !window.DOMParser) { form.submit(); return; }
    // Shown in the new column at once; put back if the server refuses.
    var cards = col.querySelectorAll(".deal-card");
    var last = cards.length ? cards[cards.length - 1] : col.querySelector(".column-sum");
    col.insertBefore(card, last ? last.nextSibling : null);
    card.classList.add("pending");
    board.setAttribute("aria-busy", "true");
    function putBack() {
      card.classList.remove("pending");
      select.value = was;
      home.insertBefore(card, after);
    }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      body: new URLSearchParams(new FormData(form))
    }).then(function (r) {
      return r.text().then(function (html) {
        board.removeAttribute("aria-busy");
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("board");
        if (fresh) {
          board.innerHTML = fresh.innerHTML;
          showMessage(doc);
        } else if (r.redirected && !/\/move$/.test(new URL(r.url).pathname)) {
          location.assign(r.url); // e.g. the session ended: the login page
        } else {
          putBack();
          showMessage(doc);
        }
      });
    }).catch(function () {
      board.removeAttribute("aria-busy");
      putBack();
      form.submit();
    });
  }
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".deal-card");
    if (!card) { return; }
    dragged = card;
    e.dataTransfer.setData("text/plain", card.getAttribute("data-deal"));
    e.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearDrop();
  });
  board.addEventListener("dragover", function (e) {
    var col = columnOf(e.target);
    if (!col || !dragged) { return; }
    e.preventDefault();
    if (!col.classList.contains("drop")) { clearDrop(); col.classList.add("drop"); }
  });
  board.addEventListener("dragleave", function (e) {
    var col = columnOf(e.target);
    if (col && !col.contains(e.relatedTarget)) { col.classList.remove("drop"); }
  });
  board.addEventListener("drop", function (e) {
    var col = columnOf(e.target);
    if (!col || !dragged) { return; }
    e.preventDefault();
    clearDrop();
    var card = dragged;
    card.classList.remove("dragging");
    dragged = null;
    if (card.parentNode !== col) { move(card, col); }
  });
})();

// Possible duplicates while an account or contact is typed: the form's names, phones,
// e-mails and tax id go to the duplicate check, and the records it finds are listed
// (as text and links, never HTML) above the save button. After saving, the record page
// lists them without JavaScript.
(function () {
  var box = document.getElementById("dup-warning");
  if (!box || !window.fetch) { return; }
  var form = box.form || box.closest("form");
  var fields = ["name", "legal_name", "tax_id", "first_name", "last_name", "phones", "emails"];
  var timer = null, seq = 0;
  function query() {
    var q = new URLSearchParams();
    fields.forEach(function (f) {
      var input = form.elements[f];
      if (!input || !input.value || !input.value.trim()) { return; }
      var v = input.value;
      if (f === "phones") {
        (v.match(/\+?\d[\d\s\-().]{6,}\d/g) || []).forEach(function (p) { q.append("phone", p); });
      } else if (f === "emails") {
        (v.match(/[^\s,;()]+@[^\s,;()]+/g) || []).forEach(function (e) { q.append("email", e); });
      } else {
        q.append(f, v);
      }
    });
    if (box.dataset.id) { q.append("id", box.dataset.id); }
    return q;
  }
  function check() {
    var q = query();
    var mine = ++seq;
    if (!Array.from(q.keys()).some(function (k) { return k !== "id"; })) { box.hidden = true; return; }
    fetch(box.dataset.url + "?" + q.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (data) {
        if (mine !== seq) { return; }
        box.textContent = "";
        if (!data.items || !data.items.length) { box.hidden = true; return; }
        var title = document.createElement("strong");
        title.textContent = box.dataset.title;
        box.appendChild(title);
        var list = document.createElement("ul");
        data.items.forEach(function (item) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = box.dataset.url.replace("/api/v1/", "/").replace("/duplicates", "/") + item.id;
          a.textContent = item.title;
          li.appendChild(a);
          li.appendChild(document.createTextNode(" (" + item.score + "%)"));
          list.appendChild(li);
        });
        box.appendChild(list);
        box.hidden = false;
      })
      .catch(function () {});
  }
  form.addEventListener("input", function (e) {
    if (fields.indexOf(e.target.name) < 0) { return; }
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
