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
